from apps.core.errors import Conflict


class ExchangeNeedsApproval(Conflict):
    """An exchange whose difference given back is above the caller's refund limit: 409
    `approval_required`. Exchanges do not wait; refund that money on its own (it waits)."""

    code = "approval_required"
