"""What a platform did to an order it holds: a POS closed or voided its ticket, Shopify
fulfilled or canceled it. Each is applied under the order's row lock, once: a replayed or
late report changes nothing, and a report that contradicts Concord (a close after a
cancel) opens an `order_state_conflict` for a person instead of failing."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from apps.core import topics
from apps.core.enums import ExceptionKind
from apps.core.errors import InvalidTransition
from apps.core.services import open_exception, record_audit
from apps.inventory import services as stock
from apps.orders.enums import OrderStatus, PaymentStatus
from apps.orders.locks import lock_order
from apps.orders.models import Order, Payment
from apps.orders.services.records import announce
from apps.orders.services.transitions import _stock_requests, cancel_order, fulfill_order


def fulfill_order_at_platform(*, order_id: int, platform: str) -> str:
    """A platform finished the order (a POS closed its ticket, Shopify fulfilled it): the
    customer has the goods, committed stock leaves on hand."""
    with transaction.atomic():
        order = lock_order(order_id)
        if order.status == OrderStatus.FULFILLED:
            return "already fulfilled"
        if order.status == OrderStatus.CANCELED:
            _open_state_conflict(order, platform=platform, platform_state="closed")
            return "conflict: closed at the platform, canceled in Concord"
        fulfill_order(order_id=order.pk, actor=platform)
    return "fulfilled"


def cancel_order_at_platform(*, order_id: int, platform: str) -> str:
    """A platform voided or canceled the order. An open order is canceled (its reservation
    released); a finished sale the platform voids afterwards (a register sale, or a closed
    ticket voided at the POS) is undone: its units are on hand again (`_void_sale`)."""
    with transaction.atomic():
        order = lock_order(order_id)
        if order.status == OrderStatus.CANCELED:
            return "already canceled"
        if order.status == OrderStatus.FULFILLED:
            _void_sale(order, platform=platform)
            return "voided: units back on hand"
        cancel_order(order_id=order.pk, actor=platform, reason=f"voided at {platform}")
    return "canceled"


def _void_sale(order: Order, *, platform: str) -> None:
    """FULFILLED -> CANCELED is no move a person or an API client may make (undoing a sale
    is a return, `ALLOWED_TRANSITIONS`); a platform's void is a fact: the sale did not
    happen. The goods never left, so the units go back on hand (a ledger row with reason
    `return` and the void as its reference) and the order's payments are voided."""
    changed = Order.objects.filter(pk=order.pk, status=OrderStatus.FULFILLED).update(
        status=OrderStatus.CANCELED, updated_at=timezone.now())
    if changed != 1:
        raise InvalidTransition(f"Order {order.pk} is no longer fulfilled.")
    order.status = OrderStatus.CANCELED
    stock.return_sold_stock(requests=_stock_requests(order), order_id=order.pk,
                            reference=f"voided at {platform}", actor=platform)
    Payment.objects.filter(order=order).exclude(status=PaymentStatus.VOIDED).update(
        status=PaymentStatus.VOIDED)
    announce(order, topics.ORDER_CANCELED)
    record_audit(action="order.voided", obj=order, actor_label=platform,
                 data={"reason": f"voided at {platform} after the sale"})


def _open_state_conflict(order: Order, *, platform: str, platform_state: str) -> None:
    open_exception(
        kind=ExceptionKind.ORDER_STATE_CONFLICT,
        title=f"{platform} {platform_state} order #{order.pk}, which Concord has {order.status}",
        detail=f"Check the ticket at {platform} and the order in Concord and put right whichever "
               "is wrong (a refund or void at the platform, or a return in Concord).",
        platform=platform, location_code=order.location.code,
        dedupe_key=f"order-state:{order.pk}:{platform}:{platform_state}",
        data={"order_id": order.pk, "status": order.status, "platform_state": platform_state},
    )
