"""Toast's money, read into finance from the orders the poller already reads (PLATFORM_MONEY
§1.4, §2.4, §3): each check's payments, with Toast's own business date (`paidBusinessDate`),
`tipAmount`, `originalProcessingFee` (once captured) and, when refunded at the POS, the
refund (`refund{refundAmount, tipRefundAmount, refundBusinessDate}`). No extra calls: every
new version of an order passes here, so a fee or refund that appears later is recorded then.
Toast has no payout API: deposits come from the exports finance imports."""

from __future__ import annotations

from datetime import date, datetime

from apps.connectors.models import PlatformConnection
from apps.connectors.services.intake import connected_link
from apps.connectors.toast.webhooks import PLATFORM, VOIDED_PAYMENT_STATES, toast_time
from apps.core.money import from_decimal
from apps.reports.processor_selectors import refunded_before
from apps.reports.services import ProcessorFact, record_processor_payment, record_processor_refund


def record_order_payments(payload: dict) -> int:
    """The payments (and POS refunds) of a polled order; returns how many were recorded."""
    link = connected_link(PLATFORM, payload.get("restaurantGuid"))
    order = payload["order"]
    recorded = 0
    for check in order.get("checks") or []:
        for payment in check.get("payments") or []:
            if payment.get("paymentStatus") in VOIDED_PAYMENT_STATES or not payment.get("paidDate"):
                continue
            record_processor_payment(fact=payment_fact(payment, link, order))
            recorded += 1
            refund = payment.get("refund")
            if refund and (refund.get("refundAmount") or refund.get("tipRefundAmount")):
                record_processor_refund(fact=refund_fact(payment, refund, link, order))
                recorded += 1
    return recorded


def payment_fact(payment: dict, link: PlatformConnection, order: dict) -> ProcessorFact:
    currency = link.location.currency
    return ProcessorFact(
        platform=PLATFORM, platform_id=payment["guid"], platform_payment_id=payment["guid"],
        platform_order_id=order.get("guid") or "", amount=from_decimal(payment.get("amount") or 0, currency),
        tip=from_decimal(payment.get("tipAmount") or 0, currency),
        fee=from_decimal(payment.get("originalProcessingFee") or 0, currency), currency=currency,
        occurred_at=_moment(payment.get("paidDate")), business_day=toast_day(payment.get("paidBusinessDate")),
        status=payment.get("paymentStatus") or payment.get("refundStatus") or "CLOSED",
        method=payment.get("type") or "", card_brand=payment.get("cardType") or "", location=link.location)


def refund_fact(payment: dict, refund: dict, link: PlatformConnection, order: dict) -> ProcessorFact:
    """A refund made at the POS: Toast gives it no id of its own but its refund transaction,
    and shows the payment's refunded total so far (§2.4): this refund is that total less
    the refunds of the payment recorded before it."""
    currency = link.location.currency
    transaction = (refund.get("refundTransaction") or {}).get("guid")
    platform_id = f"refund:{transaction or payment['guid']}"
    occurred_at = _moment(refund.get("refundDate") or payment.get("paidDate"))
    amount_before, tip_before = refunded_before(platform=PLATFORM, platform_payment_id=payment["guid"],
                                                before=occurred_at, excluding=platform_id)
    return ProcessorFact(
        platform=PLATFORM, platform_id=platform_id,
        platform_payment_id=payment["guid"], platform_order_id=order.get("guid") or "",
        amount=from_decimal(refund.get("refundAmount") or 0, currency) - amount_before,
        tip=from_decimal(refund.get("tipRefundAmount") or 0, currency) - tip_before, currency=currency,
        occurred_at=occurred_at,
        business_day=toast_day(refund.get("refundBusinessDate")),
        status=payment.get("refundStatus") or "FULL", method=payment.get("type") or "",
        card_brand=payment.get("cardType") or "", location=link.location)


def toast_day(value) -> date | None:
    """Toast's business date, an int yyyyMMdd."""
    if not value:
        return None
    return datetime.strptime(str(value), "%Y%m%d").date()


def _moment(value: str | None) -> datetime:
    moment = toast_time(value)
    if moment is None:
        raise ValueError("a Toast payment without its paidDate")
    return moment
