"""The three-way reconciliation: per business day, location and processor, what Concord sold
(tenders the processor took, less refunds given back through it), what the processor
recorded (payments, refunds, fees) and what it paid out (payout lines, or imported deposits
where the platform has no payout API). Every cent of the difference is a classified line:

    sold - paid_out = (sold - processor gross)   tenders against processor records
                    + fees                       what the processor kept
                    + (processor net - paid_out) payout lines or deposits against records

so the lines add up to the difference by construction, and a test holds them to it. A day
is reconciled when no line is unexplained; beyond the tolerance it opens a
`reconciliation_variance` exception, which a later run that explains it closes."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.core.enums import ExceptionKind, ExceptionStatus
from apps.core.models import ExceptionItem
from apps.core.services import open_exception, record_audit, resolve_exceptions
from apps.inventory.models import Location
from apps.reports.business_day import location_bounds, location_day
from apps.reports.enums import (
    UNEXPLAINED_CLASSES,
    PayoutEntryType,
    ReconciliationClass,
    ReconciliationStatus,
)
from apps.reports.models import (
    DepositRow,
    Payout,
    PayoutEntry,
    ReconciliationDay,
    ReconciliationLine,
)
from apps.reports.reconciliation_reads import (
    DEPOSIT_FILE_PLATFORMS,
    PAYOUT_API_PLATFORMS,
    PROCESSORS,
    SETTLING_TYPES,
    DayFigures,
    GroupKey,
    PayoutMatch,
    Record,
    Tender,
    match_payouts,
    match_tenders,
)

BANK = "bank"
# The schedule recomputes this many days back: payouts arrive days after the sales they pay.
RECONCILE_RECENT_DAYS = 14
# A bank line matches a payout of the same amount arriving this many days either side.
BANK_MATCH_DAYS = 3
_UNLINKED_ENTRY_CLASS = {
    PayoutEntryType.DISPUTE: ReconciliationClass.CHARGEBACK,
    PayoutEntryType.ADJUSTMENT: ReconciliationClass.ADJUSTMENT,
    PayoutEntryType.FEE: ReconciliationClass.ADJUSTMENT,
    PayoutEntryType.OTHER: ReconciliationClass.ADJUSTMENT,
    PayoutEntryType.CHARGE: ReconciliationClass.MISSING_IN_CONCORD,
    PayoutEntryType.REFUND: ReconciliationClass.MISSING_IN_CONCORD,
}


@dataclass
class _Line:
    classification: str
    amount: int
    count: int = 1
    note: str = ""
    order_id: int | None = None
    payment_id: int | None = None
    processor_record_id: int | None = None
    payout_id: int | None = None
    deposit_row_id: int | None = None


@dataclass
class _Group:
    currency: str
    sold: int = 0
    processor_gross: int = 0
    fees: int = 0
    paid_out: int = 0
    lines: list[_Line] = field(default_factory=list)
    folded: dict[str, _Line] = field(default_factory=dict)

    def add(self, line: _Line) -> None:
        if line.amount:
            self.lines.append(line)

    def fold(self, classification: str, amount: int, note: str, count: int = 1) -> None:
        """Many small explained differences of one kind (fees, money in transit) as one line;
        `count` differences (not zero each) adding up to `amount`."""
        if not count or (count == 1 and not amount):
            return
        line = self.folded.get(classification)
        if line is None:
            line = self.folded[classification] = _Line(classification, 0, count=0, note=note)
            self.lines.append(line)
        line.amount += amount
        line.count += count

    @property
    def difference(self) -> int:
        return self.sold - self.paid_out

    @property
    def unexplained(self) -> int:
        return sum(line.amount for line in self.lines if line.classification in UNEXPLAINED_CLASSES)

    @property
    def has_unexplained(self) -> bool:
        return any(line.classification in UNEXPLAINED_CLASSES for line in self.lines)


def reconcile_days(*, first_day: date, last_day: date, today: date | None = None) -> list[ReconciliationDay]:
    """Recompute the reconciliation of business days `first_day`..`last_day` at every location
    and processor (idempotent: a day's lines are replaced, its review kept)."""
    locations = {location.pk: location for location in Location.objects.all()}
    today = today or timezone.now().date()
    groups: dict[GroupKey, _Group] = {}

    def group(key: GroupKey, currency: str) -> _Group:
        if key not in groups:
            groups[key] = _Group(currency=currency)
        return groups[key]

    def in_range(key: GroupKey) -> bool:
        return first_day <= key[0] <= last_day

    bounds = {location: location_bounds(first_day, last_day, location) for location in locations.values()}
    with transaction.atomic():
        with connection.cursor() as cursor:  # a month's matching sorts and hashes ~100,000 rows
            cursor.execute("SET LOCAL work_mem = '64MB'")
        tenders = match_tenders(first_day=first_day, last_day=last_day, bounds=bounds)
        for key, (currency, sold) in tenders.matched.items():
            g = group(key, currency)
            g.sold += sold
            g.processor_gross += sold
        _match_tenders_and_records(tenders.tenders, tenders.records, group, in_range)
        figures, payout_matches = match_payouts(first_day=first_day, last_day=last_day, today=today,
                                                grace_days=settings.RECONCILIATION_PAYOUT_GRACE_DAYS)
        _match_records_and_payouts(figures, payout_matches, group)
        _disputes_and_adjustments(first_day, last_day, group)
        _unlinked_payout_entries(first_day, last_day, locations, group, in_range)
        _deposits(first_day, last_day, figures, group, today)
        _unmatched_bank_lines(first_day, last_day, group)
        days = _store(first_day, last_day, groups)
        _raise_or_close_variances(days, groups)
    return days


def _match_tenders_and_records(tenders: dict, records: list[Record], group, in_range) -> None:
    """sold - processor gross, line by line, for the tenders that are not an exact match:
    what each tender and its records differ by."""
    records_of: dict[tuple[str, int], list[Record]] = defaultdict(list)
    for record in records:
        if record.tender_key in tenders:
            records_of[record.tender_key].append(record)
        elif in_range(record.group):
            g = group(record.group, record.currency)
            g.processor_gross += record.gross
            g.add(_Line(ReconciliationClass.MISSING_IN_CONCORD, -record.gross, processor_record_id=record.pk,
                        order_id=record.order_id, note=f"{record.kind} {record.platform_id}"))
    for key, tender in tenders.items():
        mine = records_of.get(key, [])
        if in_range(tender.group):
            _tender_side(tender, mine, group(tender.group, _currency(mine)))
        for record in mine:
            if record.group != tender.group and in_range(record.group):
                g = group(record.group, record.currency)
                g.processor_gross += record.gross
                g.add(_Line(ReconciliationClass.ACROSS_CUTOFF, -record.gross, order_id=tender.order_id,
                            payment_id=tender.payment_id, processor_record_id=record.pk,
                            note=f"our tender is on {tender.group[0]}"))


def _currency(records: list) -> str:
    return records[0].currency if records else "USD"


def _tender_side(tender: Tender, records: list[Record], g: _Group) -> None:
    g.sold += tender.value
    same_day = [record for record in records if record.group == tender.group]
    ids = dict(order_id=tender.order_id, payment_id=tender.payment_id)
    if not records:
        g.add(_Line(ReconciliationClass.MISSING_AT_PROCESSOR, tender.value, note="no processor record",
                    **ids))
        return
    if not same_day:
        g.add(_Line(ReconciliationClass.ACROSS_CUTOFF, tender.value, processor_record_id=records[0].pk,
                    note=f"the processor has it on {records[0].business_day}", **ids))
        return
    gross = sum(record.gross for record in same_day)
    g.processor_gross += gross
    delta = tender.value - gross
    if not delta:
        return
    tip_delta = tender.tip - sum(record.tip for record in same_day)
    classification = ReconciliationClass.TIP if tip_delta == delta else ReconciliationClass.AMOUNT_MISMATCH
    g.add(_Line(classification, delta, processor_record_id=same_day[0].pk, note="ours vs the processor's",
                **ids))


def _match_records_and_payouts(figures: dict[GroupKey, DayFigures], mismatches: list[PayoutMatch],
                               group) -> None:
    """fees + processor net - paid out: per day the sums, and the records whose payout lines
    differ or have not come one by one."""
    for key, day in figures.items():
        g = group(key, day.currency)
        g.fees += day.fees
        g.paid_out += day.settled
        g.fold(ReconciliationClass.FEE, day.fees, "kept by the processor", day.fee_records)
        g.fold(ReconciliationClass.NON_CARD, day.non_card,
               "cash or other money the processor does not pay out", day.non_card_records)
        g.fold(ReconciliationClass.IN_TRANSIT, day.in_transit, "in the next payout", day.in_transit_records)
        g.fold(ReconciliationClass.REFUND_LATER_PAYOUT, day.refund_later, "settles in a later payout",
               day.refund_later_records)
    grace = settings.RECONCILIATION_PAYOUT_GRACE_DAYS
    for match in mismatches:
        g = group(match.group, match.currency)
        if match.settling_lines:
            g.add(_Line(ReconciliationClass.AMOUNT_MISMATCH, match.delta, processor_record_id=match.pk,
                        order_id=match.order_id, payout_id=match.first_payout_id, note="paid out differs"))
        else:
            g.add(_Line(ReconciliationClass.OVERDUE_PAYOUT, match.delta, processor_record_id=match.pk,
                        order_id=match.order_id, note=f"no payout line after {grace} days"))


def _disputes_and_adjustments(first_day: date, last_day: date, group) -> None:
    """Payout lines of the days' records that do not settle them (a dispute, an adjustment):
    each a difference of its own."""
    entries = PayoutEntry.objects.filter(
        processor_record__business_day__range=(first_day, last_day),
        processor_record__platform__in=PROCESSORS,
    ).exclude(entry_type__in=(*SETTLING_TYPES, PayoutEntryType.PAYOUT)).order_by().values_list(
        "processor_record__business_day", "processor_record__location_id", "processor_record__platform",
        "processor_record__currency", "processor_record_id", "processor_record__order_id", "entry_type",
        "net", "payout_id", "platform_type", "platform_entry_id")
    for day, location_id, platform, currency, record_id, order_id, entry_type, net, payout_id, kind, pid \
            in entries:
        g = group((day, location_id, platform), currency)
        g.paid_out += net
        g.add(_Line(_UNLINKED_ENTRY_CLASS.get(entry_type, ReconciliationClass.ADJUSTMENT), -net,
                    processor_record_id=record_id, order_id=order_id, payout_id=payout_id,
                    note=f"{kind} {pid}"))


def _unlinked_payout_entries(first_day: date, last_day: date, locations: dict, group, in_range) -> None:
    """Payout lines tied to no payment record: disputes, adjustments, fees the processor
    charged on its own, and charges whose payment Concord never read."""
    entries = PayoutEntry.objects.filter(
        processor_record__isnull=True, platform__in=PAYOUT_API_PLATFORMS,
        payout__arrival_date__range=(first_day - timedelta(days=7), last_day + timedelta(days=7)),
    ).exclude(entry_type=PayoutEntryType.PAYOUT).select_related("payout")
    for entry in entries:
        location = locations.get(entry.payout.location_id)
        if location is None:
            day = entry.payout.arrival_date
        else:
            day = location_day(entry.occurred_at, location) if entry.occurred_at \
                else entry.payout.arrival_date
        key = (day, entry.payout.location_id, entry.platform)
        if not in_range(key):
            continue
        g = group(key, entry.currency)
        g.paid_out += entry.net
        g.add(_Line(_UNLINKED_ENTRY_CLASS.get(entry.entry_type, ReconciliationClass.ADJUSTMENT), -entry.net,
                    payout_id=entry.payout_id, payment_id=entry.payment_id,
                    note=f"{entry.platform_type} {entry.platform_entry_id}"))


def _deposits(first_day: date, last_day: date, figures: dict[GroupKey, DayFigures], group,
              today: date) -> None:
    """Toast and Clover pay a business day's card money as one deposit: its net against the
    day's card records; the statement's fees against the fees per payment."""
    card = {key: day for key, day in figures.items() if day.deposit_card_records}
    rows: dict[GroupKey, list[DepositRow]] = defaultdict(list)
    counted: set[int] = set()
    stated = DepositRow.objects.filter(kind="payout", business_day__range=(first_day, last_day),
                                       deposit_import__platform__in=DEPOSIT_FILE_PLATFORMS)
    for row in _once_per_payout(stated, counted):
        rows[(row.business_day, row.location_id, row.deposit_import.platform)].append(row)
    grace = timedelta(days=settings.RECONCILIATION_PAYOUT_GRACE_DAYS)
    for key in set(card) | set(rows):
        day, day_rows = card.get(key), rows.get(key, [])
        g = group(key, day_rows[0].currency if day_rows else day.currency)
        net, fees, count = (day.deposit_card_net, day.deposit_card_fees, day.deposit_card_records) if day \
            else (0, 0, 0)
        if not day_rows:
            overdue = key[0] + grace < today
            if overdue:
                g.add(_Line(ReconciliationClass.OVERDUE_PAYOUT, net, count=count,
                            note=f"no deposit imported after {grace.days} days"))
            else:
                g.fold(ReconciliationClass.IN_TRANSIT, net, "in the next deposit")
            continue
        deposited = sum(row.net for row in day_rows)
        g.paid_out += deposited
        statement_fees = sum(row.fee for row in day_rows) - fees
        g.fold(ReconciliationClass.FEE, statement_fees, "the statement's fees beyond those per payment")
        rest = net - deposited - statement_fees
        if rest:
            g.add(_Line(ReconciliationClass.DEPOSIT_MISMATCH, rest, count=len(day_rows),
                        deposit_row_id=day_rows[0].pk, payout_id=day_rows[0].payout_id,
                        note="the deposit differs from the day's card money"))
    _deposits_of_no_sales_day(first_day, last_day, counted, group)


def _once_per_payout(rows, counted: set[int]):
    """The deposit rows, a payout stated twice (overlapping exports) kept once: `counted`
    holds the payouts already taken, across calls."""
    for row in rows.select_related("deposit_import").order_by("id"):
        if row.payout_id is not None:
            if row.payout_id in counted:
                continue
            counted.add(row.payout_id)
        yield row


def _deposits_of_no_sales_day(first_day: date, last_day: date, counted: set[int], group) -> None:
    """A deposit whose row names no single sales day (only a fee adjustment, or several
    days' sales) is money paid out all the same: on the day it settled, the statement's
    fees when that is all it holds, else a difference for a person to place."""
    rows = DepositRow.objects.filter(kind="payout", business_day__isnull=True,
                                     date__range=(first_day, last_day),
                                     deposit_import__platform__in=DEPOSIT_FILE_PLATFORMS)
    for row in _once_per_payout(rows, counted):
        g = group((row.date, row.location_id, row.deposit_import.platform), row.currency)
        g.paid_out += row.net
        only_fees = row.net == -row.fee
        g.add(_Line(ReconciliationClass.FEE if only_fees else ReconciliationClass.DEPOSIT_MISMATCH, -row.net,
                    deposit_row_id=row.pk, payout_id=row.payout_id,
                    note="a deposit of the statement's fees alone" if only_fees
                    else "a deposit that names no one sales day"))


def _unmatched_bank_lines(first_day: date, last_day: date, group) -> None:
    """Money that reached the bank and matches no payout Concord knows of."""
    lines = DepositRow.objects.filter(kind="bank_line", date__range=(first_day, last_day), amount__gt=0)
    for line in lines:
        near = Payout.objects.filter(
            amount=line.amount, arrival_date__range=(line.date - timedelta(days=BANK_MATCH_DAYS),
                                                     line.date + timedelta(days=BANK_MATCH_DAYS)))
        if line.reference and Payout.objects.filter(bank_reference=line.reference).exists():
            continue
        if near.exists():
            continue
        g = group((line.date, None, BANK), line.currency)
        g.paid_out += line.amount
        g.add(_Line(ReconciliationClass.UNMATCHED_DEPOSIT, -line.amount, deposit_row_id=line.pk,
                    note=line.description[:200]))


STORED_FIGURES = (("currency", "varchar"), ("sold", "bigint"), ("processor_gross", "bigint"),
                  ("fees", "bigint"), ("paid_out", "bigint"), ("difference", "bigint"),
                  ("unexplained", "bigint"), ("status", "varchar"), ("computed_at", "timestamptz"))


def _update_days(days: list[ReconciliationDay]) -> None:
    """The recomputed figures of days already stored, in one UPDATE ... FROM (VALUES ...)
    (Django's bulk_update writes a CASE per field and row: a month took most of a second)."""
    if not days:
        return
    names = [name for name, _ in STORED_FIGURES]
    row = "(" + ", ".join(["%s::bigint", *(f"%s::{kind}" for _, kind in STORED_FIGURES)]) + ")"
    table = ReconciliationDay._meta.db_table
    sql = (f"UPDATE {table} AS d SET " + ", ".join(f"{name} = v.{name}" for name in names)
           + f" FROM (VALUES {', '.join([row] * len(days))}) AS v (id, {', '.join(names)}) WHERE d.id = v.id")
    params = [value for day in days for value in (day.pk, *(getattr(day, name) for name in names))]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _store(first_day: date, last_day: date, groups: dict[GroupKey, _Group]) -> list[ReconciliationDay]:
    now = timezone.now()
    stale = ReconciliationDay.objects.filter(business_day__range=(first_day, last_day))
    ReconciliationLine.objects.filter(day__in=stale).delete()
    kept = {(d.business_day, d.location_id, d.platform): d for d in stale}
    days, new = [], []
    for key, g in sorted(groups.items(), key=lambda item: (item[0][0], item[0][1] or 0, item[0][2])):
        day = kept.pop(key, None)
        if day is None:
            day = ReconciliationDay(business_day=key[0], location_id=key[1], platform=key[2])
            new.append(day)
        day.currency, day.sold, day.processor_gross, day.fees = g.currency, g.sold, g.processor_gross, g.fees
        day.paid_out, day.difference, day.unexplained = g.paid_out, g.difference, g.unexplained
        day.status = (ReconciliationStatus.UNEXPLAINED if g.has_unexplained
                      else ReconciliationStatus.RECONCILED)
        day.computed_at = now
        days.append(day)
    ReconciliationDay.objects.filter(pk__in=[d.pk for d in kept.values()]).delete()
    _update_days([day for day in days if day.pk])
    ReconciliationDay.objects.bulk_create(new, batch_size=500)
    ReconciliationLine.objects.bulk_create([
        ReconciliationLine(day=day, classification=line.classification,
                           explained=line.classification not in UNEXPLAINED_CLASSES, amount=line.amount,
                           count=line.count, note=line.note[:255], order_id=line.order_id,
                           payment_id=line.payment_id, processor_record_id=line.processor_record_id,
                           payout_id=line.payout_id, deposit_row_id=line.deposit_row_id)
        for day in days for line in groups[(day.business_day, day.location_id, day.platform)].lines
    ], batch_size=2000)
    return days


def _variance_key(day: ReconciliationDay) -> str:
    return f"reconciliation:{day.platform}:{day.location_id or '-'}:{day.business_day}"


def _raise_or_close_variances(days: list[ReconciliationDay], groups: dict) -> None:
    """Open an exception for each day newly beyond the tolerance, refresh the figures of
    those already open (a rerun is not another occurrence), close those now explained."""
    tolerance = settings.RECONCILIATION_TOLERANCE
    settled = []
    already_open = {item.dedupe_key: item for item in ExceptionItem.objects.filter(
        dedupe_key__in=[_variance_key(day) for day in days], status=ExceptionStatus.OPEN)}
    codes = dict(Location.objects.values_list("pk", "code"))
    for day in days:
        g = groups[(day.business_day, day.location_id, day.platform)]
        unexplained = [line for line in g.lines if line.classification in UNEXPLAINED_CLASSES]
        if not unexplained or sum(abs(line.amount) for line in unexplained) <= tolerance:
            settled.append(_variance_key(day))
            continue
        first = unexplained[0]
        figures = dict(
            title=f"{day.platform} {day.business_day}: {len(unexplained)} unexplained difference(s)",
            detail="; ".join(f"{line.classification} {line.amount} {line.note}" for line in unexplained[:10]),
            value_amount=sum(line.amount for line in unexplained),
            data={"business_day": day.business_day.isoformat(), "reconciliation_day_id": day.pk,
                  "order_id": first.order_id, "payout_id": first.payout_id})
        existing = already_open.get(_variance_key(day))
        if existing is None:
            open_exception(kind=ExceptionKind.RECONCILIATION_VARIANCE, dedupe_key=_variance_key(day),
                           platform=day.platform, location_code=codes.get(day.location_id, ""),
                           currency=day.currency, **figures)
        elif any(getattr(existing, name) != value for name, value in figures.items()):
            ExceptionItem.objects.filter(pk=existing.pk).update(updated_at=timezone.now(), **figures)
    if settled:
        resolve_exceptions(dedupe_keys=settled, reason="a later reconciliation explains every difference")


def mark_day_reviewed(*, day_id: int, user, note: str = "") -> ReconciliationDay:
    """Finance has looked at the day (audited); a later recomputation keeps the review."""
    with transaction.atomic():
        day = ReconciliationDay.objects.select_for_update().get(pk=day_id)
        day.reviewed_at, day.reviewed_by, day.review_note = timezone.now(), user, note.strip()
        day.save(update_fields=["reviewed_at", "reviewed_by", "review_note"])
        record_audit(action="reconciliation.reviewed", obj=day, actor_user=user,
                     data={"business_day": day.business_day.isoformat(), "platform": day.platform,
                           "location_id": day.location_id, "status": day.status, "note": day.review_note})
    return day
