from django.db import models


class Channel(models.TextChoices):
    WEB = "web", "Web store"
    REGISTER = "register", "Register"
    PHONE = "phone", "Phone"


class ApiRole(models.TextChoices):
    """A staff key's role (DESIGN.md, API v1 part 2); a channel key has none."""

    CUSTOMER_SERVICE = "customer_service", "Customer service"
    FINANCE = "finance", "Finance"


class ExceptionKind(models.TextChoices):
    OVERSOLD = "oversold", "Oversold"
    UNMAPPED_SKU = "unmapped_sku", "Unmapped SKU"
    STOCK_DRIFT = "stock_drift", "Stock drift"
    DELIVERY_FAILED = "delivery_failed", "Delivery failed"
    INBOUND_FAILED = "inbound_failed", "Inbound event failed"
    OWNERSHIP_CONFLICT = "ownership_conflict", "Change from a non-owning system"
    POSSIBLE_DUPLICATE_CUSTOMER = "possible_duplicate_customer", "Possible duplicate customer"


class ExceptionStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"
    IGNORED = "ignored", "Ignored"
