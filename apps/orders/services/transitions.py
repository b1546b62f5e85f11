"""Status changes, by compare-and-set on ALLOWED_TRANSITIONS (apps/orders/enums.py)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from apps.core import topics
from apps.core.errors import InvalidTransition
from apps.core.idempotency import IdempotentResult, run_idempotent
from apps.core.services import record_audit
from apps.customers import services as customers
from apps.inventory import services as stock
from apps.inventory.selectors import level_ids_by_variant
from apps.orders.enums import (
    ALLOWED_TRANSITIONS,
    STORED_VALUE_TENDERS,
    OrderStatus,
    PaymentStatus,
    StockMode,
    TenderType,
)
from apps.orders.models import Order, Payment
from apps.orders.selectors import get_order, order_document
from apps.orders.services import tenders as tendering
from apps.orders.services.records import announce


def _transition(*, order_id: int, to: str, client=None) -> Order:
    order = get_order(order_id, client=client)
    allowed_from = [status for status, targets in ALLOWED_TRANSITIONS.items() if to in targets]
    changed = Order.objects.filter(pk=order.pk, status__in=allowed_from).update(
        status=to, updated_at=timezone.now()
    )
    if changed != 1:
        current = Order.objects.values_list("status", flat=True).get(pk=order.pk)
        raise InvalidTransition(f"Order {order.pk} is {current}; it cannot become {to}.")
    order.status = to
    return order


def _stock_requests(order: Order) -> list[stock.StockRequest]:
    levels = level_ids_by_variant(location_id=order.location_id,
                                  variant_ids=[line.variant_id for line in order.lines.all()])
    return [stock.StockRequest(levels[line.variant_id], line.quantity) for line in order.lines.all()]


def mark_order_ready(*, order_id: int, client=None, user=None, actor: str = "") -> Order:
    """`client`: the API client acting, which may move only the orders it may see."""
    with transaction.atomic(savepoint=False):
        order = _transition(order_id=order_id, to=OrderStatus.READY, client=client)
        announce(order, topics.ORDER_READY)
        record_audit(action="order.ready", obj=order, actor_client=client, actor_user=user,
                     actor_label=actor)
    return order


def fulfill_order(*, order_id: int, client=None, user=None, actor: str = "") -> Order:
    """The customer has the goods: committed stock leaves on hand, what was left to pay at
    pickup was taken, and a paid order earns its customer's points (once)."""
    with transaction.atomic(savepoint=False):
        order = _transition(order_id=order_id, to=OrderStatus.FULFILLED, client=client)
        if order.stock_mode == StockMode.RESERVED:
            stock.settle_reserved_stock(requests=_stock_requests(order), order_id=order.pk,
                                        fulfilled=True, actor=actor)
        Payment.objects.filter(order=order, status=PaymentStatus.PENDING).update(
            status=PaymentStatus.PAID)
        if order.customer_id is not None and not order.loyalty_points_earned:
            tendering.earn_loyalty(order=order, actor=actor)
        announce(order, topics.ORDER_FULFILLED)
        record_audit(action="order.fulfilled", obj=order, actor_client=client, actor_user=user,
                     actor_label=actor)
    return order


def cancel_order(*, order_id: int, client=None, actor: str = "", reason: str = "",
                 user=None) -> Order:
    """Cancel an open order: its reservation is released, what it took from a gift card,
    store credit or loyalty goes back, and the points it earned are taken back."""
    with transaction.atomic(savepoint=False):
        order = _transition(order_id=order_id, to=OrderStatus.CANCELED, client=client)
        # Only reserved orders can be canceled: a completed sale is fulfilled, and undoing
        # it is a return.
        stock.settle_reserved_stock(requests=_stock_requests(order), order_id=order.pk,
                                    fulfilled=False, actor=actor)
        _give_back_balances(order, actor=actor)
        Payment.objects.filter(order=order, status=PaymentStatus.PENDING).update(
            status=PaymentStatus.VOIDED
        )
        announce(order, topics.ORDER_CANCELED)
        record_audit(action="order.canceled", obj=order, actor_client=client, actor_user=user,
                     actor_label=actor, data={"reason": reason})
    return order


def _give_back_balances(order: Order, *, actor: str) -> None:
    """Stored value and points the order took are put back (a card or cash payment is a
    refund, on the one refund path); each once, by its cancel reference."""
    given_back = []
    for payment in order.payments.all():
        if payment.status != PaymentStatus.PAID:
            continue
        reference = f"cancel:{order.pk}:payment:{payment.pk}"
        # What a refund already gave back (returns.refund_order) is not given back twice.
        left = payment.amount - payment.refunded_amount
        if payment.tender_type in STORED_VALUE_TENDERS and payment.stored_value_account_id:
            if left > 0:
                customers.refund_to_stored_value(account_id=payment.stored_value_account_id,
                                                 amount=left, refund_reference=reference,
                                                 order_id=order.pk, actor=actor)
        elif payment.tender_type == TenderType.LOYALTY and order.customer_id is not None:
            # return_points gives back at most what the order redeemed less what refunds returned.
            customers.return_points(customer_id=order.customer_id, order_id=order.pk,
                                    refund_reference=reference, points=payment.points, actor=actor)
        else:
            continue
        given_back.append(payment.pk)
    if given_back:
        Payment.objects.filter(pk__in=given_back).update(status=PaymentStatus.VOIDED)
    if order.loyalty_points_earned and order.customer_id is not None:
        customers.reverse_points(customer_id=order.customer_id, order_id=order.pk,
                                 refund_reference=f"cancel:{order.pk}",
                                 refunded_amount=order.total_amount, order_total=order.total_amount,
                                 actor=actor)


_TRANSITIONS = {OrderStatus.READY: mark_order_ready, OrderStatus.FULFILLED: fulfill_order,
                OrderStatus.CANCELED: cancel_order}


def transition_order(*, order_id: int, to: str, client, idempotency_key: str, request_hash: str,
                     actor: str = "") -> IdempotentResult:
    """An API client moves an order to `to` (ready, fulfilled, canceled) once per idempotency
    key: a retry replays the first answer, in the transition's own transaction."""
    transition = _TRANSITIONS[to]

    def perform() -> tuple[int, dict]:
        order = transition(order_id=order_id, client=client, actor=actor)
        return 200, order_document(get_order(order.pk))

    return run_idempotent(client_id=client.pk, key=idempotency_key, request_hash=request_hash,
                          perform=perform)
