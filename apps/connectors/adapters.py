"""What the delivery engine asks of each platform's adapter, and the values they exchange.

Each platform package (shopify/, square/, toast/, clover/) has an `adapter.py` with a
class `Adapter(BaseAdapter)` for outbound work; `platforms.py` names it, with the
platform's other parts (inbound handler, poller, catalog reader).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ItemRef:
    """A variant as one platform knows it at one location."""

    variant_id: int
    sku: str
    external_id: str
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class StockPush:
    """Change the platform's count by `delta` (our side moved by that much since the last
    push). `expected_quantity` is what we believe the platform shows (for compare-and-set);
    `idempotency_key` is derived from our ids so a retried push applies once."""

    item: ItemRef
    delta: int
    target: int
    is_86d: bool
    flag_changed: bool
    expected_quantity: int | None
    idempotency_key: str


@dataclass(frozen=True)
class StockPushResult:
    variant_id: int
    ok: bool
    platform_quantity: int | None = None
    error: Exception | None = None
    # A compare-and-set refused (the level moved): what the platform shows now. The engine
    # records the next attempt (this value, its own key) before sending it, so a retry
    # always re-sends the last attempt exactly and its idempotency key replays it.
    stale_quantity: int | None = None


@dataclass(frozen=True)
class InjectResult:
    external_id: str
    decrements_stock: bool  # the platform took the units off its own count


@dataclass(frozen=True)
class VoidResult:
    """What voiding an order's ticket came to: voided (now, or already), or left for staff
    at the POS because its API cannot do it (`manual`, saying what to do there)."""

    voided: bool
    manual: str = ""
    already: bool = False  # it was voided before this call (by staff, or an earlier attempt)


@dataclass(frozen=True)
class RefundRequest:
    """Give `amount` of one payment back at the platform that took it, once. `marker` names
    our refund part in the refund's note or reason, so the refund is recognised when it
    comes back (by webhook, or read before a retry where the API takes no idempotency key);
    `idempotency_key` is derived from the part's id."""

    marker: str
    idempotency_key: str
    payment_reference: str  # the platform's id of the payment (Square) or sale transaction (Shopify)
    order_external_id: str  # the platform's id of the order the payment belongs to
    amount: int
    currency: str
    reason: str = ""


@dataclass(frozen=True)
class RefundResult:
    refund_id: str  # the platform's id of the refund
    status: str  # "pending" (taken, not settled yet), "completed" or "failed"
    detail: str = ""
    already: bool = False  # an earlier attempt made it (found before sending again)


@dataclass(frozen=True)
class PlatformCount:
    quantity: int | None  # None: the platform does not track a count for this item
    available: bool = True


class BaseAdapter:
    platform: str = ""
    # The platform takes an injected order's units off its own count (as with its own
    # sales), so until the order lands its count still holds them.
    decrements_stock: bool = False
    # One call takes many pushes under one idempotency key (Shopify): new pushes share a
    # key, and a retry re-sends the same pushes together.
    pushes_share_a_key: bool = False
    # Voiding or canceling an order there gives its units back to the platform's own count
    # (as taking it took them), so the count it shows rises by itself.
    restocks_on_void: bool = False

    def __init__(self, connection):
        self.connection = connection

    # outbound -------------------------------------------------------------
    def inject_order(self, order: dict, *, reference: str, items: dict[str, ItemRef],
                     modifiers: dict[str, ItemRef], retrying: bool = True) -> InjectResult:
        """Create the order at the platform once: a retry must find the first attempt's
        order (by idempotency key or by looking `reference` up) instead of making another.
        `retrying` is False only on a delivery's first attempt, when there is nothing to
        look up yet (the look-up costs a call against the platform's rate limit)."""
        raise NotImplementedError

    def void_order(self, external_id: str, *, reference: str) -> VoidResult:
        """Void (cancel) the order Concord sent, `external_id` at the platform, once: a
        retry finds it voided. Staff-only cases answer `VoidResult(False, manual=...)`."""
        raise NotImplementedError

    def push_stock(self, pushes: list[StockPush]) -> list[StockPushResult]:
        raise NotImplementedError

    def refund_payment(self, request: RefundRequest, *, retrying: bool = True) -> RefundResult:
        """Refund a payment once: a retry replays the first attempt (idempotency key) or
        finds its refund by `request.marker`. `retrying` is False on a delivery's first
        attempt, when there is nothing to look up yet."""
        raise NotImplementedError

    def read_stock(self, items: list[ItemRef]) -> dict[int, PlatformCount]:
        """The platform's current count per variant id."""
        raise NotImplementedError

