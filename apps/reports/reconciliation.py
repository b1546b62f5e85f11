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
from apps.orders.enums import TenderType
from apps.orders.models import Payment
from apps.reports.business_day import location_bounds, location_day
from apps.reports.enums import (
    UNEXPLAINED_CLASSES,
    PayoutEntryType,
    ProcessorRecordKind,
    ReconciliationClass,
    ReconciliationStatus,
)
from apps.reports.models import (
    DepositRow,
    Payout,
    PayoutEntry,
    ProcessorRecord,
    ReconciliationDay,
    ReconciliationLine,
)
from apps.returns.enums import RefundPartStatus
from apps.returns.models import RefundPart

# Processors whose payouts Concord reads line by line; the others' deposits are imported.
PAYOUT_API_PLATFORMS = ("square", "shopify")
DEPOSIT_FILE_PLATFORMS = ("toast", "clover")
PROCESSORS = PAYOUT_API_PLATFORMS + DEPOSIT_FILE_PLATFORMS
BANK = "bank"
CARD_METHODS = ("CARD", "CREDIT", "DEBIT", "SHOPIFY_PAYMENTS", "STRIPE")
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

# The payout lines that pay a payment or refund record out; the others (disputes,
# adjustments) are differences of their own even when they name the payment.
SETTLING_TYPES = (PayoutEntryType.CHARGE, PayoutEntryType.REFUND)

GroupKey = tuple[date, int | None, str]  # business day, location id, platform


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

    def fold(self, classification: str, amount: int, note: str) -> None:
        """Many small explained differences of one kind (fees, money in transit) as one line."""
        if not amount:
            return
        line = self.folded.get(classification)
        if line is None:
            line = self.folded[classification] = _Line(classification, 0, count=0, note=note)
            self.lines.append(line)
        line.amount += amount
        line.count += 1

    @property
    def difference(self) -> int:
        return self.sold - self.paid_out

    @property
    def unexplained(self) -> int:
        return sum(line.amount for line in self.lines if line.classification in UNEXPLAINED_CLASSES)

    @property
    def has_unexplained(self) -> bool:
        return any(line.classification in UNEXPLAINED_CLASSES for line in self.lines)


@dataclass(frozen=True)
class _Tender:
    """A payment the processor took (positive) or a refund part it gave back (negative)."""

    key: tuple[str, int]  # ("payment" | "refund_part", id)
    group: GroupKey
    value: int
    tip: int
    order_id: int
    payment_id: int
    is_card: bool


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

    tenders = _tenders(first_day, last_day, locations)
    records = _records(first_day, last_day, tenders)
    tenders.update(_tenders_of(records, tenders, locations))
    _match_tenders_and_records(tenders, records, group, in_range)
    card_tenders = _card_tenders(records, tenders)
    _match_records_and_payouts(records, card_tenders, group, in_range, today)
    _unlinked_payout_entries(first_day, last_day, locations, group, in_range)
    _deposits(first_day, last_day, records, card_tenders, group, in_range, today)
    _unmatched_bank_lines(first_day, last_day, group)
    with transaction.atomic():
        days = _store(first_day, last_day, groups)
        _raise_or_close_variances(days, groups)
    return days


def _tender_group(location, platform: str, at) -> GroupKey:
    return (location_day(at, location), location.pk, platform)


def _tenders(first_day: date, last_day: date, locations: dict) -> dict[tuple[str, int], _Tender]:
    """Tenders at a processor of the orders placed, and refund parts given back, in the days:
    one read each over the widest bounds of the locations' days, each row then kept if it
    falls in its own location's days."""
    bounds = {pk: location_bounds(first_day, last_day, location) for pk, location in locations.items()}
    start, end = min(b[0] for b in bounds.values()), max(b[1] for b in bounds.values())

    def inside(location_id, at) -> bool:
        return bounds[location_id][0] <= at < bounds[location_id][1]

    payments = Payment.objects.filter(
        platform__in=PROCESSORS, order__placed_at__gte=start, order__placed_at__lt=end,
    ).exclude(status="voided").order_by().values_list(*PAYMENT_FIELDS)
    parts = RefundPart.objects.filter(
        platform__in=PROCESSORS, refund__created_at__gte=start, refund__created_at__lt=end,
        status__in=(RefundPartStatus.SENT, RefundPartStatus.COMPLETED),
    ).order_by().values_list(*PART_FIELDS)
    tenders = [_payment_tender(row, locations) for row in payments if inside(row[-1], row[-2])]
    tenders += [_part_tender(row, locations) for row in parts if inside(row[-1], row[-2])]
    return {tender.key: tender for tender in tenders}


# A tender's row and a refund part's, each ending with (when, location id).
PAYMENT_FIELDS = ("pk", "order_id", "amount", "tip_amount", "tender_type", "platform", "order__placed_at",
                  "order__location_id")
PART_FIELDS = ("pk", "payment__order_id", "amount", "payment_id", "payment__tender_type", "platform",
               "refund__created_at", "payment__order__location_id")


def _payment_tender(row: tuple, locations: dict) -> _Tender:
    pk, order_id, amount, tip, tender_type, platform, placed_at, location_id = row
    return _Tender(("payment", pk), _tender_group(locations[location_id], platform, placed_at), amount + tip,
                   tip, order_id, pk, tender_type == TenderType.CARD)


def _part_tender(row: tuple, locations: dict) -> _Tender:
    pk, order_id, amount, payment_id, tender_type, platform, created_at, location_id = row
    return _Tender(("refund_part", pk), _tender_group(locations[location_id], platform, created_at), -amount,
                   0, order_id, payment_id, tender_type == TenderType.CARD)


RECORD_FIELDS = ("pk", "platform", "location_id", "platform_id", "kind", "payment_id", "refund_part_id",
                 "order_id", "gross", "tip", "fee", "net", "currency", "business_day", "method")


@dataclass(frozen=True, slots=True)
class _Record:
    """The figures of a ProcessorRecord the match needs (read as tuples: a month is
    thousands of records)."""

    pk: int
    platform: str
    location_id: int | None
    platform_id: str
    kind: str
    payment_id: int | None
    refund_part_id: int | None
    order_id: int | None
    gross: int
    tip: int
    fee: int
    net: int
    currency: str
    business_day: date
    method: str


def _read_records(queryset) -> list[_Record]:
    return [_Record(*row) for row in queryset.values_list(*RECORD_FIELDS)]


def _records(first_day: date, last_day: date, tenders: dict) -> list[_Record]:
    """The processor's records of the days, and those of our tenders on other days: one scan
    of a window a week wider (a sale lands a day or two off at most), then our tenders still
    without a record looked up by id."""
    window = (first_day - timedelta(days=7), last_day + timedelta(days=7))
    near = _read_records(ProcessorRecord.objects.filter(business_day__range=window, platform__in=PROCESSORS))
    by_id = {record.pk: record for record in near
             if first_day <= record.business_day <= last_day or _tender_key(record) in tenders}
    seen = {_tender_key(record) for record in by_id.values()}
    payment_ids = [key[1] for key in tenders if key[0] == "payment" and key not in seen]
    part_ids = [key[1] for key in tenders if key[0] == "refund_part" and key not in seen]
    far = ProcessorRecord.objects.filter(kind=ProcessorRecordKind.PAYMENT, payment_id__in=payment_ids) \
        | ProcessorRecord.objects.filter(kind=ProcessorRecordKind.REFUND, refund_part_id__in=part_ids)
    by_id.update({record.pk: record for record in _read_records(far.exclude(business_day__range=window))})
    return list(by_id.values())


def _tenders_of(records: list[_Record], known: dict, locations: dict) -> dict:
    """Tenders of records in the days whose order was placed on another day."""
    missing_payments = {r.payment_id for r in records if r.kind == ProcessorRecordKind.PAYMENT
                        and r.payment_id and ("payment", r.payment_id) not in known}
    missing_parts = {r.refund_part_id for r in records if r.kind == ProcessorRecordKind.REFUND
                     and r.refund_part_id and ("refund_part", r.refund_part_id) not in known}
    payments = Payment.objects.filter(pk__in=missing_payments).values_list(*PAYMENT_FIELDS)
    parts = RefundPart.objects.filter(pk__in=missing_parts).values_list(*PART_FIELDS)
    tenders = [_payment_tender(row, locations) for row in payments]
    tenders += [_part_tender(row, locations) for row in parts]
    return {tender.key: tender for tender in tenders}


def _record_group(record: _Record) -> GroupKey:
    return (record.business_day, record.location_id, record.platform)


def _tender_key(record: _Record) -> tuple[str, int] | None:
    if record.kind == ProcessorRecordKind.PAYMENT and record.payment_id:
        return ("payment", record.payment_id)
    if record.kind == ProcessorRecordKind.REFUND and record.refund_part_id:
        return ("refund_part", record.refund_part_id)
    return None


def _match_tenders_and_records(tenders: dict, records: list, group, in_range) -> None:
    """sold - processor gross, line by line: what each tender and its records differ by."""
    records_of: dict[tuple[str, int], list[_Record]] = defaultdict(list)
    for record in records:
        key = _tender_key(record)
        if key in tenders:
            records_of[key].append(record)
        elif in_range(_record_group(record)):
            g = group(_record_group(record), record.currency)
            g.processor_gross += record.gross
            g.add(_Line(ReconciliationClass.MISSING_IN_CONCORD, -record.gross, processor_record_id=record.pk,
                        order_id=record.order_id, note=f"{record.kind} {record.platform_id}"))
    for key, tender in tenders.items():
        mine = records_of.get(key, [])
        if in_range(tender.group):
            _tender_side(tender, mine, group(tender.group, _currency(mine)))
        for record in mine:
            if _record_group(record) != tender.group and in_range(_record_group(record)):
                g = group(_record_group(record), record.currency)
                g.processor_gross += record.gross
                g.add(_Line(ReconciliationClass.ACROSS_CUTOFF, -record.gross, order_id=tender.order_id,
                            payment_id=tender.payment_id, processor_record_id=record.pk,
                            note=f"our tender is on {tender.group[0]}"))


def _currency(records: list) -> str:
    return records[0].currency if records else "USD"


def _tender_side(tender: _Tender, records: list, g: _Group) -> None:
    g.sold += tender.value
    same_day = [record for record in records if _record_group(record) == tender.group]
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


def _card_tenders(records: list, tenders: dict) -> dict[int, bool]:
    """Whether each record's tender is a card, from the tenders read (others by one query)."""
    known = {tender.payment_id: tender.is_card for key, tender in tenders.items() if key[0] == "payment"}
    missing = {r.payment_id for r in records if r.payment_id and r.payment_id not in known}
    if missing:
        known.update((pk, kind == TenderType.CARD) for pk, kind in
                     Payment.objects.filter(pk__in=missing).values_list("pk", "tender_type"))
    return known


def _is_card(record: _Record, card_tenders: dict) -> bool:
    method = (record.method or "").upper()
    if any(word in method for word in CARD_METHODS):
        return True
    return bool(card_tenders.get(record.payment_id))


def _match_records_and_payouts(records: list, card_tenders: dict, group, in_range, today: date) -> None:
    """fees + processor net - paid out, per record: what each record's payout lines paid."""
    in_days = [record for record in records if in_range(_record_group(record))]
    paid: dict[int, list[PayoutEntry]] = defaultdict(list)
    wanted = {record.pk for record in in_days}
    days = [record.business_day for record in in_days]
    entries = PayoutEntry.objects.filter(
        processor_record__business_day__range=(min(days, default=today), max(days, default=today)),
    ).exclude(entry_type=PayoutEntryType.PAYOUT).only(
        "processor_record_id", "entry_type", "net", "payout_id", "platform_type", "platform_entry_id")
    for entry in entries:
        if entry.processor_record_id in wanted:
            paid[entry.processor_record_id].append(entry)
    grace = timedelta(days=settings.RECONCILIATION_PAYOUT_GRACE_DAYS)
    for record in in_days:
        g = group(_record_group(record), record.currency)
        g.fees += record.fee
        g.fold(ReconciliationClass.FEE, record.fee, "kept by the processor")
        entries = [entry for entry in paid.get(record.pk, []) if entry.entry_type in SETTLING_TYPES]
        for entry in paid.get(record.pk, []):
            if entry.entry_type not in SETTLING_TYPES:  # a dispute or adjustment of this payment
                g.paid_out += entry.net
                g.add(_Line(_UNLINKED_ENTRY_CLASS.get(entry.entry_type, ReconciliationClass.ADJUSTMENT),
                            -entry.net, processor_record_id=record.pk, order_id=record.order_id,
                            payout_id=entry.payout_id,
                            note=f"{entry.platform_type} {entry.platform_entry_id}"))
        paid_out = sum(entry.net for entry in entries)
        g.paid_out += paid_out
        delta = record.net - paid_out
        if not _is_card(record, card_tenders):
            g.fold(ReconciliationClass.NON_CARD, delta, "cash or other money the processor does not pay out")
        elif record.platform not in PAYOUT_API_PLATFORMS:
            continue  # paid by a deposit of the whole day: _deposits
        elif entries and delta:
            g.add(_Line(ReconciliationClass.AMOUNT_MISMATCH, delta, processor_record_id=record.pk,
                        order_id=record.order_id, payout_id=entries[0].payout_id, note="paid out differs"))
        elif not entries and record.business_day + grace < today:
            g.add(_Line(ReconciliationClass.OVERDUE_PAYOUT, delta, processor_record_id=record.pk,
                        order_id=record.order_id, note=f"no payout line after {grace.days} days"))
        elif not entries:
            if record.kind == ProcessorRecordKind.REFUND:
                g.fold(ReconciliationClass.REFUND_LATER_PAYOUT, delta, "settles in a later payout")
            else:
                g.fold(ReconciliationClass.IN_TRANSIT, delta, "in the next payout")


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


def _deposits(first_day: date, last_day: date, records: list, card_tenders: dict, group, in_range,
              today: date) -> None:
    """Toast and Clover pay a business day's card money as one deposit: its net against the
    day's card records; the statement's fees against the fees per payment."""
    card: dict[GroupKey, list[_Record]] = defaultdict(list)
    for record in records:
        if record.platform in DEPOSIT_FILE_PLATFORMS and in_range(_record_group(record)) \
                and _is_card(record, card_tenders):
            card[_record_group(record)].append(record)
    rows: dict[GroupKey, list[DepositRow]] = defaultdict(list)
    for row in DepositRow.objects.filter(kind="payout", business_day__range=(first_day, last_day),
                                         deposit_import__platform__in=DEPOSIT_FILE_PLATFORMS) \
            .select_related("deposit_import"):
        rows[(row.business_day, row.location_id, row.deposit_import.platform)].append(row)
    grace = timedelta(days=settings.RECONCILIATION_PAYOUT_GRACE_DAYS)
    for key in set(card) | set(rows):
        day_records, day_rows = card.get(key, []), rows.get(key, [])
        g = group(key, (day_rows or day_records)[0].currency)
        net = sum(record.net for record in day_records)
        if not day_rows:
            overdue = key[0] + grace < today
            if overdue:
                g.add(_Line(ReconciliationClass.OVERDUE_PAYOUT, net, count=len(day_records),
                            note=f"no deposit imported after {grace.days} days"))
            else:
                g.fold(ReconciliationClass.IN_TRANSIT, net, "in the next deposit")
            continue
        deposited = sum(row.net for row in day_rows)
        g.paid_out += deposited
        statement_fees = sum(row.fee for row in day_rows) - sum(record.fee for record in day_records)
        g.fold(ReconciliationClass.FEE, statement_fees, "the statement's fees beyond those per payment")
        rest = net - deposited - statement_fees
        if rest:
            g.add(_Line(ReconciliationClass.DEPOSIT_MISMATCH, rest, count=len(day_rows),
                        deposit_row_id=day_rows[0].pk, payout_id=day_rows[0].payout_id,
                        note="the deposit differs from the day's card money"))


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
