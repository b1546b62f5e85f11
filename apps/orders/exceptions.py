from apps.core.errors import Conflict, ValidationFailed


class PriceChanged(Conflict):
    code = "price_changed"


class DuplicateExternalId(Conflict):
    code = "duplicate_external_id"


class UnknownSku(ValidationFailed):
    code = "unknown_sku"
