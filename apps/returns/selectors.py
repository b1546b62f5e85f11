"""Reads of refunds: the refund document (DESIGN.md, API v1 part 2) and who may read it."""

from __future__ import annotations

from apps.core.errors import NotFound
from apps.orders.enums import PaymentStatus
from apps.orders.models import Payment
from apps.orders.selectors import orders_visible_to
from apps.returns.models import Refund, RefundPart


def get_refund(refund_id: int, *, client=None) -> Refund:
    """A refund by id; with `client`, only one on an order that client may see (else 404)."""
    refunds = Refund.objects.all()
    if client is not None:
        refunds = refunds.filter(order__in=orders_visible_to(client))
    refund = _with_details(refunds).filter(pk=refund_id).first()
    if refund is None:
        raise NotFound(f"No refund {refund_id}.")
    return refund


def refundable_amount(order) -> int:
    """What is still refundable on the order: paid, less what refunds took (the order document's
    `refundable`)."""
    paid = sum(p.amount for p in order.payments.all() if p.status == PaymentStatus.PAID)
    return max(0, paid - order.refunded_amount)


def list_order_refunds(order_id: int) -> list[Refund]:
    return list(_with_details(Refund.objects.filter(order_id=order_id)).order_by("pk"))


def get_refund_part(part_id: int) -> RefundPart | None:
    return RefundPart.objects.select_related("refund__order", "payment").filter(pk=part_id).first()


def find_refund_part(*, platform: str, reference: str) -> RefundPart | None:
    """The part a platform's refund id stands for: one Concord sent, or one it recorded."""
    if not reference:
        return None
    return RefundPart.objects.select_related("refund", "payment").filter(
        platform=platform, reference=reference).order_by("pk").first()


def find_platform_payment(*, platform: str, reference: str) -> Payment | None:
    """A paid tender a platform took, by its id there (a Square payment, a Shopify sale)."""
    if not reference:
        return None
    return Payment.objects.select_related("order").filter(
        platform=platform, reference=reference, status=PaymentStatus.PAID).order_by("pk").first()


def _with_details(refunds):
    return refunds.prefetch_related("lines__order_line", "lines__location", "parts__payment")


def refund_document(refund: Refund) -> dict:
    currency = refund.currency
    return {
        "id": refund.pk,
        "order": refund.order_id,
        "status": refund.status,
        "amount": _money(refund.amount, currency),
        "reason": refund.reason,
        "lines": [{"line": line.order_line.line_number, "sku": line.order_line.sku,
                   "quantity": line.quantity, "amount": _money(line.amount, currency),
                   "restock": line.restock, "location": line.location.code if line.location else None}
                  for line in refund.lines.all()],
        "parts": [{"tender": part.payment.tender_type, "amount": _money(part.amount, currency),
                   "platform": part.platform, "status": part.status, "reference": part.reference}
                  for part in refund.parts.all()],
        "points_reversed": refund.points_reversed,
        "points_returned": refund.points_returned,
        "created_at": refund.created_at.isoformat(),
    }


def _money(amount: int, currency: str) -> dict:
    return {"amount": amount, "currency": currency}
