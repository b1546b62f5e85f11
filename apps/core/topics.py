"""Outbox topics: what a domain change announces, and the one payload each topic carries.

The domain services write these rows in their own transactions (`core.services.write_outbox`)
and the sync engine reads them (`connectors.services.routing`). Both import the names
from here, below every domain app, so a topic is never a bare string on either side.
"""

from __future__ import annotations

from typing import TypedDict


class OrderPayload(TypedDict):
    """Every `order.*` topic: the order as routing needs it, without reading it again."""

    order_id: int
    channel: str  # core.enums.Channel
    location_id: int
    status: str  # orders.enums.OrderStatus after the change
    source_name: str  # who placed it: a platform's label for its own sales, else the API client's
    variant_ids: list[int]  # the order's variants, sorted, once each


class StockChangedPayload(TypedDict):
    """`stock.changed`: one stock level moved (count, 86, safety stock)."""

    location_id: int
    variant_id: int
    cause: str  # what moved it, for people reading the outbox


class RefundPayload(TypedDict):
    """`refund.completed`: every part of a refund is back with its payer."""

    refund_id: int
    order_id: int
    amount: int
    currency: str


class RefundPartPayload(TypedDict):
    """`refund.part_requested`: one part for a platform's refund API (Square, Shopify)."""

    refund_id: int
    part_id: int
    order_id: int
    platform: str


ORDER_CREATED = "order.created"  # an order placed through our API (web, phone), stock reserved
ORDER_RECORDED = "order.recorded"  # a sale a platform already made, recorded as it happened
ORDER_READY = "order.ready"
ORDER_FULFILLED = "order.fulfilled"
ORDER_CANCELED = "order.canceled"  # its reservation released
STOCK_CHANGED = "stock.changed"
REFUND_COMPLETED = "refund.completed"
REFUND_PART_REQUESTED = "refund.part_requested"  # the delivery engine sends it to the platform

PAYLOADS: dict[str, type] = {
    ORDER_CREATED: OrderPayload,
    ORDER_RECORDED: OrderPayload,
    ORDER_READY: OrderPayload,
    ORDER_FULFILLED: OrderPayload,
    ORDER_CANCELED: OrderPayload,
    STOCK_CHANGED: StockChangedPayload,
    REFUND_COMPLETED: RefundPayload,
    REFUND_PART_REQUESTED: RefundPartPayload,
}
