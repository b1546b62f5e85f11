"""The order's refund counters: units per line, money per line, per tender and in total.

Each counter moves by one conditional UPDATE whose WHERE says the result stays within what
was sold or paid (and a CHECK on the table says it again), so concurrent refunds cannot
together exceed it: the second finds 0 rows and refuses. No read decides a write here.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import F

from apps.orders.exceptions import ExceedsRefundable
from apps.orders.models import Order, OrderLine, Payment


@dataclass(frozen=True)
class LineClaim:
    line_id: int
    quantity: int
    amount: int


def claim_refunded(*, order_id: int, amount: int, tender_amounts: dict[int, int],
                   lines: list[LineClaim]) -> None:
    """Raise the counters by a refund's figures, or raise ExceedsRefundable and (inside the
    caller's transaction, which must roll back) change nothing that stays."""
    for claim in sorted(lines, key=lambda c: c.line_id):
        updated = OrderLine.objects.filter(
            pk=claim.line_id, order_id=order_id,
            refunded_quantity__lte=F("quantity") - claim.quantity,
            refunded_amount__lte=F("net_amount") + F("tax_amount") - claim.amount,
        ).update(refunded_quantity=F("refunded_quantity") + claim.quantity,
                 refunded_amount=F("refunded_amount") + claim.amount)
        if updated != 1:
            raise ExceedsRefundable("More units of a line than are left to refund.",
                                    extra={"line_id": claim.line_id})
    for payment_id, part in sorted(tender_amounts.items()):
        updated = Payment.objects.filter(
            pk=payment_id, order_id=order_id, refunded_amount__lte=F("amount") - part,
        ).update(refunded_amount=F("refunded_amount") + part)
        if updated != 1:
            raise ExceedsRefundable("More than a tender has left to refund.")
    if amount:
        updated = Order.objects.filter(pk=order_id, refunded_amount__lte=F("total_amount") - amount).update(
            refunded_amount=F("refunded_amount") + amount)
        if updated != 1:
            raise ExceedsRefundable("More than the order has left to refund.")


def release_refunded(*, order_id: int, amount: int, tender_amounts: dict[int, int],
                     lines: list[LineClaim]) -> None:
    """Give back what a refund claimed and never paid out (a rejected refund)."""
    for claim in sorted(lines, key=lambda c: c.line_id):
        OrderLine.objects.filter(pk=claim.line_id, order_id=order_id).update(
            refunded_quantity=F("refunded_quantity") - claim.quantity,
            refunded_amount=F("refunded_amount") - claim.amount)
    for payment_id, part in sorted(tender_amounts.items()):
        Payment.objects.filter(pk=payment_id, order_id=order_id).update(
            refunded_amount=F("refunded_amount") - part)
    if amount:
        Order.objects.filter(pk=order_id).update(refunded_amount=F("refunded_amount") - amount)
