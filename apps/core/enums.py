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
    # A canceled order's ticket that the POS's API cannot void: staff void it at the register.
    MANUAL_VOID_REQUIRED = "manual_void_required", "Void the ticket at the POS"
    # A platform closed an order Concord had canceled (or the reverse): a person decides.
    ORDER_STATE_CONFLICT = "order_state_conflict", "Order state conflict with a platform"
    # A refund part whose money no API can give back (Toast, Clover card-present, a card
    # taken by an outside processor): staff refund it there and mark it done.
    MANUAL_REFUND_REQUIRED = "manual_refund_required", "Refund by hand at the POS or processor"
    # A refund above the asker's role limit waits for a manager or admin.
    APPROVAL_REQUIRED = "approval_required", "Refund awaiting approval"
    # A business day whose sales, processor records and payouts differ beyond the tolerance
    # by something no rule explains: finance looks at the order or payout it names.
    RECONCILIATION_VARIANCE = "reconciliation_variance", "Reconciliation variance"
    # A refund a platform reports that matches no refund Concord sent and cannot be recorded
    # as it stands (more than is refundable, an unknown payment): a person decides.
    REFUND_MISMATCH = "refund_mismatch", "Platform refund that does not fit the order"


class ExceptionStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"
    IGNORED = "ignored", "Ignored"
