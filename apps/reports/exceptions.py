"""Errors of the finance writes, each with its status and code (apps.core.errors)."""

from apps.core.errors import DomainError, NotFound, ValidationFailed


class NegativeAmount(ValidationFailed):
    code = "negative_amount"


class FutureBusinessDay(ValidationFailed):
    code = "future_business_day"


class LocationNotPermitted(DomainError):
    """403: the user may not act on this location (never a hint of what is there)."""

    status = 403
    code = "location_not_permitted"


class UnknownLocation(NotFound):
    code = "unknown_location"
