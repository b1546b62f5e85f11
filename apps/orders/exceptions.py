from apps.core.errors import Conflict, ValidationFailed


class PriceChanged(Conflict):
    code = "price_changed"


class DuplicateExternalId(Conflict):
    code = "duplicate_external_id"


class UnknownSku(ValidationFailed):
    code = "unknown_sku"


class TendersMismatch(ValidationFailed):
    """Tenders that do not add up to the order's total: 422 `tenders_mismatch`."""

    code = "tenders_mismatch"


class ExceedsRefundable(Conflict):
    """A refund beyond what is still refundable (units of a line, money of a tender or of
    the order): 409 `exceeds_refundable`, with `refundable` when the caller can be told."""

    code = "exceeds_refundable"
