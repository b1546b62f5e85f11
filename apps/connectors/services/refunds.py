"""Refunds at the platforms: the card parts of Concord's refunds sent where the money was
taken, and the refunds the platforms report back.

Outbound: `returns.refund_order` writes a `refund.part_requested` outbox row for each
Square or Shopify card part; routing makes it a delivery to that platform, and
`send_refund_parts` calls the platform's refund API once (Square: an idempotency key
derived from the part; Shopify: the order's refunds are read before a retry and ours is
found by the marker in its note). The platform's answer moves the part: `sent` (taken,
not settled), `completed`, or `failed` (staff are asked to give the money back another
way). Failures retry like every delivery, and the refund's other steps (stored value,
stock, points) were done once, in refund_order, before anything was sent.

Inbound: a refund a platform reports (`refund_reported`) is either one Concord sent (its
marker, or its refund id on a part), which moves that part, or one made at the platform
(at a Square register, in Shopify's admin), recorded through `refund_order` with its
origin: once, whatever order and however often the webhooks arrive. One that does not fit
the order (more than is refundable, an unknown payment or item) changes nothing and opens
a `refund_mismatch` exception.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime

from django.db import transaction

from apps.connectors.adapters import RefundRequest
from apps.connectors.enums import Platform
from apps.connectors.http import PlatformError
from apps.connectors.models import Delivery, PlatformConnection
from apps.connectors.platforms import adapter_for
from apps.connectors.services.outcomes import record_failure, record_success
from apps.connectors.services.routing import part_id_of_refund_subject
from apps.connectors.services.stock_sync import count_platform_restock
from apps.core.enums import ExceptionKind
from apps.core.errors import ValidationFailed
from apps.core.services import open_exception
from apps.orders.exceptions import ExceedsRefundable
from apps.orders.locks import lock_order
from apps.orders.models import Order
from apps.returns.enums import RefundPartStatus
from apps.returns.models import RefundPart
from apps.returns.selectors import find_platform_payment, find_refund_part, get_refund_part
from apps.returns.services import (
    PlatformOrigin,
    ReturnLineInput,
    complete_refund_part,
    fail_refund_part,
    mark_refund_part_sent,
    refund_order,
)

MARKER_PREFIX = "concord-refund-part:"
_MARKER = re.compile(re.escape(MARKER_PREFIX) + r"(\d+)")
PENDING, COMPLETED, FAILED = "pending", "completed", "failed"


def refund_marker(part_id: int) -> str:
    """What Concord writes in a refund's note or reason to know it again."""
    return f"{MARKER_PREFIX}{part_id}"


def part_id_in(text: str | None) -> int | None:
    found = _MARKER.search(text or "")
    return int(found.group(1)) if found else None


# ---------------------------------------------------------------- outbound


def send_refund_parts(link: PlatformConnection, deliveries: list[Delivery]) -> None:
    """Each part on its own: one refused refund does not hold the others back."""
    for delivery in deliveries:
        try:
            send_refund_part(link, delivery)
        except PlatformError as error:
            record_failure(delivery, error)


def send_refund_part(link: PlatformConnection, delivery: Delivery) -> None:
    part = get_refund_part(part_id_of_refund_subject(delivery.subject_key))
    if part is None or part.status != RefundPartStatus.PENDING:
        # Already answered (by an earlier attempt or by the platform's webhook): not sent again.
        shown = part.status if part else "gone"
        record_success(delivery, external_ref=part.reference if part else "",
                       note=f"the refund part is {shown}: nothing to send")
        return
    # Any earlier attempt (this lease's, or one before a person retried the failed delivery
    # from a fresh budget) may have reached the platform: look for it before sending again.
    retrying = delivery.attempts > 1 or bool(delivery.history)
    result = adapter_for(link).refund_payment(refund_request(part), retrying=retrying)
    with transaction.atomic():
        outcome = _follow_part(part, status=result.status, refund_id=result.refund_id, detail=result.detail)
        record_success(delivery, external_ref=result.refund_id,
                       note=f"{outcome}{' (found from an earlier attempt)' if result.already else ''}")


def refund_request(part: RefundPart) -> RefundRequest:
    refund = part.refund
    reason = f"Concord refund #{refund.pk}" + (f": {refund.reason}" if refund.reason else "")
    return RefundRequest(
        marker=refund_marker(part.pk), idempotency_key=f"concord-refund-part-{part.pk}",
        payment_reference=part.payment.reference, order_external_id=refund.order.external_id,
        amount=part.amount, currency=refund.currency, reason=reason[:150])


def _follow_part(part: RefundPart, *, status: str, refund_id: str, detail: str = "") -> str:
    if status == COMPLETED:
        complete_refund_part(part_id=part.pk, reference=refund_id, actor=part.platform)
        return f"refund part {part.pk} completed as {refund_id}"
    if status == FAILED:
        fail_refund_part(part_id=part.pk, reference=refund_id, reason=detail or FAILED)
        return f"refund part {part.pk} failed at the platform ({detail or FAILED})"
    mark_refund_part_sent(part_id=part.pk, reference=refund_id)
    return f"refund part {part.pk} sent as {refund_id}"


# ---------------------------------------------------------------- inbound


@dataclass(frozen=True)
class ReportedLine:
    sku: str
    quantity: int
    restock: bool


@dataclass(frozen=True)
class ReportedRefund:
    """A refund as a platform reports it (a webhook, a polled record)."""

    platform: str
    refund_id: str
    status: str  # pending | completed | failed
    payment_reference: str  # the platform's id of the payment it refunded
    amount: int
    currency: str
    text: str = ""  # its note or reason: Concord's marker is there if Concord sent it
    lines: tuple[ReportedLine, ...] = ()
    # Where the platform put restocked units back on its own count.
    restock_link: PlatformConnection | None = None
    occurred_at: datetime | None = None


class PaymentNotRecordedYet(Exception):
    """The refund names a payment Concord has not recorded: its sale may still be on the way."""

    retryable = True


def refund_reported(reported: ReportedRefund, *, final_attempt: bool = True) -> str:
    """Follow a refund the platform reports, or record one made there. Safe to repeat."""
    part = _part_of(reported)
    if part is not None:
        return _follow_part(part, status=reported.status, refund_id=reported.refund_id,
                            detail=f"status {reported.status}")
    label = Platform(reported.platform).label
    if reported.status != COMPLETED:
        return f"{label} refund {reported.refund_id} is {reported.status}: recorded once it completes"
    if reported.amount <= 0:
        return f"{label} refund {reported.refund_id} gave no money back: nothing to record"
    payment = find_platform_payment(platform=reported.platform, reference=reported.payment_reference)
    if payment is None and not final_attempt:
        raise PaymentNotRecordedYet(f"{label} payment {reported.payment_reference} is not recorded yet")
    if payment is None:
        return _mismatch(reported, None, f"it refunds {label} payment {reported.payment_reference}, "
                                         "which Concord has not recorded")
    manual = RefundPart.objects.filter(payment_id=payment.pk, status=RefundPartStatus.MANUAL_REQUIRED,
                                       amount=reported.amount).order_by("pk").first()
    if manual is not None:
        # Staff did at the POS what Concord asked of them (the same money on that payment).
        complete_refund_part(part_id=manual.pk, reference=reported.refund_id,
                             actor=f"{reported.platform} refund")
        return f"refund part {manual.pk}, left for staff, done at {label} as {reported.refund_id}"
    return _record_platform_refund(reported, payment.order_id, payment.pk)


def refunded_total_reported(reported: ReportedRefund) -> str:
    """A platform that shows only how much of a payment has been refunded so far (Toast's
    `Payment.refund.refundAmount`, PLATFORM_MONEY §2.4). Parts Concord asked staff to refund
    by hand there are done once the total covers them; whatever the total holds beyond what
    Concord counts for the payment is a refund made at the POS, recorded with
    `reported.refund_id`. Safe to repeat: the same total finds nothing new."""
    payment = find_platform_payment(platform=reported.platform, reference=reported.payment_reference)
    if payment is None:
        return f"payment {reported.payment_reference} is not recorded: nothing to follow"
    with transaction.atomic():
        lock_order(payment.order_id)
        done = _complete_covered_manual_parts(payment.pk, reported)
        counted = find_platform_payment(platform=reported.platform, reference=reported.payment_reference)
        beyond = reported.amount - counted.refunded_amount
    if beyond <= 0:
        return f"{done} manual part(s) done; nothing new refunded"
    return _record_platform_refund(replace(reported, amount=beyond), payment.order_id, payment.pk)


def _complete_covered_manual_parts(payment_id: int, reported: ReportedRefund) -> int:
    manual = list(RefundPart.objects.filter(payment_id=payment_id, status=RefundPartStatus.MANUAL_REQUIRED)
                  .order_by("pk"))
    payment = find_platform_payment(platform=reported.platform, reference=reported.payment_reference)
    covered = reported.amount - (payment.refunded_amount - sum(part.amount for part in manual))
    done = 0
    for part in manual:
        if part.amount > covered:
            break
        complete_refund_part(part_id=part.pk, reference=reported.refund_id,
                             actor=f"{reported.platform} refund")
        covered -= part.amount
        done += 1
    return done


def _part_of(reported: ReportedRefund) -> RefundPart | None:
    part_id = part_id_in(reported.text)
    if part_id is not None:
        part = get_refund_part(part_id)
        if part is not None and part.platform == reported.platform:
            return part
    return find_refund_part(platform=reported.platform, reference=reported.refund_id)


def _record_platform_refund(reported: ReportedRefund, order_id: int, payment_id: int) -> str:
    label = Platform(reported.platform).label
    try:
        with transaction.atomic():
            order = lock_order(order_id)
            if find_refund_part(platform=reported.platform, reference=reported.refund_id) is not None:
                return f"{label} refund {reported.refund_id} already recorded"
            lines = _return_lines(order, reported.lines)
            refund = refund_order(
                order_id=order.pk, lines=lines, amount=reported.amount,
                reason=f"Refunded at {label}: {reported.text}"[:255],
                return_location_id=reported.restock_link.location_id if reported.restock_link else None,
                actor=f"{reported.platform} refund",
                idempotency_key=f"{reported.platform}:refund:{reported.refund_id}",
                origin=PlatformOrigin(platform=reported.platform, refund_id=reported.refund_id,
                                      payment_id=payment_id))
            _count_platform_restock(reported, refund)
    except (ExceedsRefundable, ValidationFailed, UnmatchedLine) as error:
        return _mismatch(reported, order_id, str(error))
    return f"{label} refund {reported.refund_id} recorded as refund #{refund.pk}"


class UnmatchedLine(Exception):
    pass


def _return_lines(order: Order, reported: tuple[ReportedLine, ...]) -> list[ReturnLineInput]:
    """The platform's refunded items as the order's lines (by SKU, the first with units left)."""
    left = {line.pk: line.quantity - line.refunded_quantity for line in order.lines.order_by("line_number")}
    chosen: dict[int, ReturnLineInput] = {}
    for item in reported:
        line = next((ol for ol in order.lines.order_by("line_number")
                     if ol.sku == item.sku and left[ol.pk] >= item.quantity), None)
        if line is None:
            raise UnmatchedLine(f"order #{order.pk} has no line of {item.sku or 'an unknown item'} with "
                                f"{item.quantity} units left to refund")
        left[line.pk] -= item.quantity
        before = chosen.get(line.line_number)
        chosen[line.line_number] = ReturnLineInput(
            line=line.line_number, quantity=item.quantity + (before.quantity if before else 0),
            restock=item.restock or bool(before and before.restock))
    return list(chosen.values())


def _count_platform_restock(reported: ReportedRefund, refund) -> None:
    """The platform put the units back on its own count: the push that follows Concord's
    restock must not add them a second time there."""
    if reported.restock_link is None:
        return
    for line in refund.lines.filter(restock=True).select_related("order_line"):
        count_platform_restock(platform=reported.platform, location_id=reported.restock_link.location_id,
                               variant_id=line.order_line.variant_id, quantity=line.quantity)


def _mismatch(reported: ReportedRefund, order_id: int | None, why: str) -> str:
    label = Platform(reported.platform).label
    where = f"order #{order_id}" if order_id else "no order Concord knows"
    open_exception(
        kind=ExceptionKind.REFUND_MISMATCH,
        dedupe_key=f"refund-mismatch:{reported.platform}:{reported.refund_id}",
        title=f"{label} refund {reported.refund_id} does not fit {where}",
        detail=(f"{label} reports refund {reported.refund_id} of {reported.amount} {reported.currency}, "
                f"but {why}. Nothing was recorded: check the refund at {label} and the order."),
        platform=reported.platform, value_amount=reported.amount, currency=reported.currency,
        data={"refund_id": reported.refund_id, "order_id": order_id, "amount": reported.amount,
              "payment_reference": reported.payment_reference,
              "lines": [[item.sku, item.quantity, item.restock] for item in reported.lines]})
    return f"mismatch: {why}"
