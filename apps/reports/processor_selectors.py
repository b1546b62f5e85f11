"""Finance reads of what the processors recorded and paid out (the processor part of the
selectors; the reconciliation and the pages read through these)."""

from __future__ import annotations

from datetime import date

from django.db.models import Count, Q, QuerySet, Sum

from apps.reports.enums import ProcessorRecordKind
from apps.reports.models import DepositImport, DepositRow, Payout, ProcessorRecord


def list_processor_records(*, first_day: date, last_day: date, platform: str | None = None,
                           location_id: int | None = None) -> QuerySet[ProcessorRecord]:
    """Payments and refunds of business days `first_day`..`last_day`, oldest first."""
    records = ProcessorRecord.objects.filter(business_day__range=(first_day, last_day))
    if platform:
        records = records.filter(platform=platform)
    if location_id:
        records = records.filter(location_id=location_id)
    return records.select_related("location").order_by("business_day", "occurred_at", "id")


def refunded_before(*, platform: str, platform_payment_id: str, before, excluding: str) -> tuple[int, int]:
    """What the refunds recorded of a payment before `before` gave back (amount and tip,
    positive), the refund `excluding` aside: for a platform that shows a payment's refunded
    total so far (Toast), one refund is that total less these."""
    sums = ProcessorRecord.objects.filter(
        platform=platform, platform_payment_id=platform_payment_id, kind=ProcessorRecordKind.REFUND,
        occurred_at__lt=before).exclude(platform_id=excluding).aggregate(amount=Sum("amount"), tip=Sum("tip"))
    return -(sums["amount"] or 0), -(sums["tip"] or 0)


def processor_day_totals(*, first_day: date, last_day: date, platform: str | None = None) -> list[dict]:
    """Per business day, location and platform: payments and refunds (count and gross), tips,
    fees and net, as the processors recorded them."""
    records = list_processor_records(first_day=first_day, last_day=last_day, platform=platform)
    payment, refund = Q(kind=ProcessorRecordKind.PAYMENT), Q(kind=ProcessorRecordKind.REFUND)
    return list(records.order_by().values("business_day", "location_id", "platform", "currency").annotate(
        payments=Count("id", filter=payment), payments_gross=Sum("gross", filter=payment, default=0),
        refunds=Count("id", filter=refund), refunds_gross=Sum("gross", filter=refund, default=0),
        tips=Sum("tip", default=0), fees=Sum("fee", default=0), net=Sum("net", default=0),
        unmatched=Count("id", filter=Q(payment__isnull=True)),
    ).order_by("business_day", "location_id", "platform"))


def list_unmatched_processor_records(*, first_day: date, last_day: date) -> QuerySet[ProcessorRecord]:
    """What a processor has and Concord does not: records linked to no tender of ours."""
    return list_processor_records(first_day=first_day, last_day=last_day).filter(payment__isnull=True)


def list_payouts(*, first_day: date, last_day: date, platform: str | None = None) -> QuerySet[Payout]:
    """Payouts arriving (or settled) on `first_day`..`last_day`, with their lines."""
    payouts = Payout.objects.filter(arrival_date__range=(first_day, last_day))
    if platform:
        payouts = payouts.filter(platform=platform)
    return payouts.select_related("location", "deposit_import").prefetch_related("entries") \
        .order_by("arrival_date", "id")


def get_payout(*, payout_id: int) -> Payout:
    return Payout.objects.select_related("location").prefetch_related("entries").get(pk=payout_id)


def list_deposit_imports() -> QuerySet[DepositImport]:
    return DepositImport.objects.select_related("imported_by").order_by("-imported_at", "-id")


def list_deposit_rows(*, first_day: date, last_day: date, kind: str | None = None) -> QuerySet[DepositRow]:
    rows = DepositRow.objects.filter(date__range=(first_day, last_day))
    if kind:
        rows = rows.filter(kind=kind)
    return rows.select_related("location", "payout", "deposit_import").order_by("date", "id")
