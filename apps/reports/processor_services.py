"""Recording what the processors report: payments, refunds, payouts with their lines, and
imported deposit files. Re-exported by `apps.reports.services`.

Every write is an upsert keyed on the platform's own id, so reading the same payment,
refund or payout again (a repeat poll, a webhook after a poll) only brings its mutable
parts (status, fee, links) up to date."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.inventory.models import Location
from apps.orders.models import Payment
from apps.reports.business_day import location_day
from apps.reports.deposit_files import FileProblem, ParsedFile, parse_deposit_file
from apps.reports.enums import PayoutEntryType, PayoutSource, ProcessorRecordKind
from apps.reports.locks import lock_processor_record
from apps.reports.models import DepositImport, DepositRow, Payout, PayoutEntry, ProcessorRecord
from apps.returns.models import RefundPart


@dataclass(frozen=True, kw_only=True)
class ProcessorFact:
    """A payment or refund as a connector read it. Amounts are positive here; a refund is
    stored negative. `fee` is what the processor kept (negative when it gives one back)."""

    platform: str
    platform_id: str
    amount: int
    currency: str
    occurred_at: datetime
    status: str
    location: Location | None = None
    tip: int = 0
    fee: int | None = 0  # None: the platform reports it apart (record_processor_fees)
    platform_payment_id: str = ""
    platform_order_id: str = ""
    method: str = ""
    card_brand: str = ""
    business_day: date | None = None  # the platform's own (Toast's paidBusinessDate), if it has one
    refund_id: str = ""  # a refund transaction's refund, as Concord's refund part names it (Shopify)


@dataclass(frozen=True, kw_only=True)
class ProcessorFeeFact:
    """What the processor kept on one payment or refund, reported apart from it (a Shopify
    balance transaction's `fee` on the order transaction it names)."""

    platform_id: str
    kind: str
    fee: int


@dataclass(frozen=True, kw_only=True)
class PayoutFact:
    platform: str
    platform_payout_id: str
    status: str
    amount: int
    currency: str
    location: Location | None = None
    fee: int = 0
    arrival_date: date | None = None
    platform_created_at: datetime | None = None
    bank_reference: str = ""


@dataclass(frozen=True, kw_only=True)
class PayoutEntryFact:
    platform_entry_id: str
    entry_type: str
    platform_type: str
    gross: int
    fee: int
    net: int
    currency: str
    occurred_at: datetime | None = None
    source_payment_id: str = ""
    source_refund_id: str = ""
    source_order_id: str = ""


# ---------------------------------------------------------------- payments and refunds


def record_processor_payment(*, fact: ProcessorFact) -> ProcessorRecord:
    """A payment as the platform reports it, linked to our tender with that reference."""
    tender = _tender(fact.platform, fact.platform_payment_id or fact.platform_id)
    return _upsert_record(fact, kind=ProcessorRecordKind.PAYMENT, sign=1, tender=tender, refund_part=None)


def record_processor_refund(*, fact: ProcessorFact) -> ProcessorRecord:
    """A refund as the platform reports it (`amount` and `tip` given back, positive), linked
    to the refund part Concord sent under that platform id and to the refunded tender."""
    references = [fact.platform_id, *([fact.refund_id] if fact.refund_id else [])]
    refund_part = (RefundPart.objects.filter(platform=fact.platform, reference__in=references)
                   .select_related("payment").order_by("id").first())
    tender = refund_part.payment if refund_part else _tender(fact.platform, fact.platform_payment_id)
    if refund_part is None and tender is not None:
        refund_part = _unclaimed_part(tender, fact)
    return _upsert_record(fact, kind=ProcessorRecordKind.REFUND, sign=-1, tender=tender,
                          refund_part=refund_part)


def _unclaimed_part(tender: Payment, fact: ProcessorFact) -> RefundPart | None:
    """A part of that amount on that tender no record claims yet: where the platform's
    record id is not the id Concord keeps (a Shopify refund transaction, not its refund)."""
    return (RefundPart.objects.filter(payment=tender, amount=fact.amount, processor_records__isnull=True)
            .exclude(reference=fact.platform_id).order_by("id").first())


def _tender(platform: str, reference: str) -> Payment | None:
    if not reference:
        return None
    return Payment.objects.filter(platform=platform, reference=reference).order_by("id").first()


def _upsert_record(fact: ProcessorFact, *, kind: str, sign: int, tender: Payment | None,
                   refund_part: RefundPart | None) -> ProcessorRecord:
    location = fact.location or (tender.order.location if tender else None)
    amount, tip = sign * fact.amount, sign * fact.tip
    with transaction.atomic():
        fee = fact.fee if fact.fee is not None else _fee_reported_apart(fact, kind)
        values = {
            "location": location, "kind": kind, "platform_payment_id": fact.platform_payment_id,
            "platform_order_id": fact.platform_order_id, "amount": amount, "tip": tip,
            "gross": amount + tip, "fee": fee, "net": amount + tip - fee,
            "currency": fact.currency, "occurred_at": fact.occurred_at, "status": fact.status,
            "method": fact.method, "card_brand": fact.card_brand,
            "business_day": fact.business_day or business_day_of(fact.occurred_at, location),
        }
        (record,) = ProcessorRecord.objects.bulk_create(
            [ProcessorRecord(platform=fact.platform, platform_id=fact.platform_id, **values)],
            update_conflicts=True, unique_fields=["platform", "platform_id"],
            update_fields=[*values, "updated_at"])
        # Links only ever get filled: a sale recorded after its payment was read links then.
        links = {"payment": tender, "order_id": tender.order_id if tender else None,
                 "refund_part": refund_part}
        for name, value in links.items():
            if value is not None:
                unlinked = ProcessorRecord.objects.filter(pk=record.pk, **{f"{name}__isnull": True})
                unlinked.update(**{name: value})
    return ProcessorRecord.objects.get(pk=record.pk)


def _fee_reported_apart(fact: ProcessorFact, kind: str) -> int:
    """The fee of a record whose read carries none (a Shopify order transaction): the one
    already stored (its row locked, so a fee being set now is not written over), else that
    of the payout line that settles it, read before it; 0 until either is known."""
    stored = lock_processor_record(platform=fact.platform, platform_id=fact.platform_id)
    if stored is not None:
        return stored.fee
    if kind == ProcessorRecordKind.REFUND:
        named = Q(entry_type=PayoutEntryType.REFUND, source_refund_id=fact.platform_id)
    else:
        named = Q(entry_type=PayoutEntryType.CHARGE, source_payment_id=fact.platform_id)
    fee = (PayoutEntry.objects.filter(named, platform=fact.platform).order_by("id")
           .values_list("fee", flat=True).first())
    return fee or 0


def record_processor_fees(*, platform: str, fees: list[ProcessorFeeFact]) -> int:
    """Fees a platform reports apart from its payments and refunds (Shopify's balance
    transactions): each sets its record's fee and net = gross - fee. Setting the same fee
    again changes nothing; a record read later takes its fee from its payout line
    (_fee_reported_apart). Returns how many records changed."""
    wanted = {(fact.platform_id, fact.kind): fact.fee for fact in fees}
    with transaction.atomic():
        records = list(ProcessorRecord.objects.filter(
            platform=platform, platform_id__in={platform_id for platform_id, _ in wanted}).order_by("pk"))
        changed = [record for record in records
                   if wanted.get((record.platform_id, record.kind), record.fee) != record.fee]
        for record in changed:
            record.fee = wanted[(record.platform_id, record.kind)]
            # From the stored gross, so a payment updated meanwhile still adds up.
            record.net = F("gross") - record.fee
            record.updated_at = timezone.now()
        ProcessorRecord.objects.bulk_update(changed, ["fee", "net", "updated_at"])
    return len(changed)


def business_day_of(moment: datetime, location: Location | None) -> date:
    """The location's business day of `moment` (its day may start at a closeout hour); the
    UTC day without a location."""
    if location is None:
        return moment.astimezone(UTC).date()
    return location_day(moment, location)


# ---------------------------------------------------------------- payouts


def record_payout(*, fact: PayoutFact, entries: list[PayoutEntryFact]) -> Payout:
    """A payout read from a platform's API, with its lines, each linked to the processor
    record, tender and refund part it names. Reading it again updates its status and adds
    lines not seen before; a line's money never changes at the platform."""
    values = {"location": fact.location, "status": fact.status, "amount": fact.amount, "fee": fact.fee,
              "currency": fact.currency, "arrival_date": fact.arrival_date,
              "platform_created_at": fact.platform_created_at, "bank_reference": fact.bank_reference,
              "source": PayoutSource.API}
    with transaction.atomic():
        (payout,) = Payout.objects.bulk_create(
            [Payout(platform=fact.platform, platform_payout_id=fact.platform_payout_id, **values)],
            update_conflicts=True, unique_fields=["platform", "platform_payout_id"],
            update_fields=[*values, "updated_at"])
        PayoutEntry.objects.bulk_create([_entry(payout, fact.platform, entry) for entry in entries],
                                        ignore_conflicts=True)
        _link_entries(payout)
    return Payout.objects.get(pk=payout.pk)


def _entry(payout: Payout, platform: str, entry: PayoutEntryFact) -> PayoutEntry:
    if entry.entry_type not in PayoutEntryType.values:
        raise ValueError(f"unknown payout entry type {entry.entry_type!r}")
    return PayoutEntry(payout=payout, platform=platform, platform_entry_id=entry.platform_entry_id,
                       entry_type=entry.entry_type, platform_type=entry.platform_type[:64],
                       gross=entry.gross, fee=entry.fee, net=entry.net, currency=entry.currency,
                       occurred_at=entry.occurred_at, source_payment_id=entry.source_payment_id,
                       source_refund_id=entry.source_refund_id, source_order_id=entry.source_order_id)


def _link_entries(payout: Payout) -> None:
    """Fill in each line's missing links to what it names: the refund (its record and our
    part) or else the payment (its record and our tender). A line read before its payment
    gets its tender first and its record when the payment is read."""
    unlinked = Q(processor_record__isnull=True) | Q(payment__isnull=True)
    for entry in payout.entries.filter(unlinked).exclude(source_payment_id="", source_refund_id=""):
        record = _named_record(payout.platform, entry)
        part = (RefundPart.objects.filter(platform=payout.platform, reference=entry.source_refund_id).first()
                if entry.source_refund_id else None)
        tender = (record.payment if record and record.payment_id else
                  part.payment if part else _tender(payout.platform, entry.source_payment_id))
        found = {"processor_record": record, "refund_part": part or (record.refund_part if record else None),
                 "payment": tender}
        for name, value in found.items():
            if value is not None:
                PayoutEntry.objects.filter(pk=entry.pk, **{f"{name}__isnull": True}).update(**{name: value})


def _named_record(platform: str, entry: PayoutEntry) -> ProcessorRecord | None:
    platform_id = entry.source_refund_id or entry.source_payment_id
    if not platform_id:
        return None
    return ProcessorRecord.objects.filter(platform=platform, platform_id=platform_id).first()


def link_payout_entries(*, platform: str, within_days: int = 30) -> int:
    """Link the lines of a platform's recent payouts read before their payments were (a
    repeat read of the payments calls this); a line naming nothing is never looked at.
    Returns how many payouts were looked at."""
    since = timezone.now() - timedelta(days=within_days)
    payout_ids = (PayoutEntry.objects.filter(platform=platform, payout__created_at__gte=since)
                  .filter(Q(processor_record__isnull=True) | Q(payment__isnull=True))
                  .exclude(source_payment_id="", source_refund_id="")
                  .values_list("payout_id", flat=True).distinct())
    payouts = list(Payout.objects.filter(pk__in=list(payout_ids)))
    for payout in payouts:
        with transaction.atomic():
            _link_entries(payout)
    return len(payouts)


# ---------------------------------------------------------------- deposit files


@dataclass
class DepositImportResult:
    """What an import did: `created` False with `problems` means refused (nothing written);
    `created` False without problems means the same file was imported before."""

    created: bool
    deposit_import: DepositImport | None = None
    problems: list[FileProblem] = field(default_factory=list)
    file_format: str = ""

    @property
    def already_imported(self) -> bool:
        return not self.created and not self.problems

    @property
    def message(self) -> str:
        if self.problems:
            return f"refused: {len(self.problems)} problem(s); nothing was imported"
        if self.already_imported:
            return (f"already imported on {self.deposit_import.imported_at:%Y-%m-%d %H:%M} UTC "
                    f"as {self.deposit_import.file_name}: nothing changed")
        return f"imported {self.deposit_import.rows} row(s) from {self.deposit_import.file_name}"


def import_deposit_file(*, platform: str, name: str, content: bytes, user=None) -> DepositImportResult:
    """Import a Toast or Clover export or a bank statement (CSV). A file with any problem is
    refused whole, naming the line and column of each; the same content twice changes
    nothing the second time (its sha256 is unique)."""
    digest = hashlib.sha256(content).hexdigest()
    earlier = DepositImport.objects.filter(sha256=digest).first()
    if earlier:
        return DepositImportResult(created=False, deposit_import=earlier, file_format=earlier.file_format)
    parsed = parse_deposit_file(platform=platform, content=content, locations=_locations_by_name(platform),
                                default_currency=_house_currency())
    if parsed.problems:
        return DepositImportResult(created=False, problems=parsed.problems, file_format=parsed.file_format)
    try:
        with transaction.atomic():
            deposit_import = _write_import(platform, name, digest, parsed, user)
    except IntegrityError:  # the same file, imported at the same moment by someone else
        earlier = DepositImport.objects.get(sha256=digest)
        return DepositImportResult(created=False, deposit_import=earlier, file_format=earlier.file_format)
    return DepositImportResult(created=True, deposit_import=deposit_import, file_format=parsed.file_format)


def _write_import(platform: str, name: str, digest: str, parsed: ParsedFile, user) -> DepositImport:
    deposit_import = DepositImport.objects.create(
        platform=platform, file_format=parsed.file_format, file_name=name[:255], sha256=digest,
        rows=len(parsed.rows), imported_by=user if getattr(user, "pk", None) else None)
    references = [row.reference for row in parsed.rows if row.links_payment and row.reference]
    tenders = {p.reference: p for p in Payment.objects.filter(platform=platform, reference__in=references)}
    rows = []
    for row in parsed.rows:
        payout = _imported_payout(platform, deposit_import, row) if row.payout_key else None
        rows.append(DepositRow(
            deposit_import=deposit_import, line_number=row.line_number, kind=row.kind, location=row.location,
            date=row.date, business_day=row.business_day, amount=row.amount, tip=row.tip, fee=row.fee,
            net=row.net, currency=row.currency, reference=row.reference[:255],
            description=row.description[:255], payout=payout, data=row.data,
            payment=tenders.get(row.reference) if row.links_payment else None))
    DepositRow.objects.bulk_create(rows)
    return deposit_import


def _imported_payout(platform: str, deposit_import: DepositImport, row) -> Payout:
    """A deposit a file states becomes a payout once; another file stating the same one
    (an overlapping export) is linked to it, not counted again."""
    payout, _ = Payout.objects.get_or_create(
        platform=platform, platform_payout_id=row.payout_key,
        defaults={"location": row.location, "status": row.status or "paid", "amount": row.net,
                  "fee": 0, "currency": row.currency, "arrival_date": row.date,
                  "source": PayoutSource.IMPORT, "deposit_import": deposit_import,
                  "bank_reference": row.bank_reference[:128]})
    return payout


def _house_currency() -> str:
    """A bank line names no location: its currency is the stores' (the first one's)."""
    return Location.objects.order_by("id").values_list("currency", flat=True).first() or "USD"


def _locations_by_name(platform: str) -> dict[str, Location]:
    """How a file may name a location: our code, its name, or the platform's id for it
    (a Toast restaurant guid, a Clover merchant id), case-insensitively."""
    from django.apps import apps

    names: dict[str, Location] = {}
    for location in Location.objects.all():
        names[location.code.lower()] = location
        names.setdefault(location.name.lower(), location)
    # The connections live above reports; read them through the app registry, not an import.
    connection_model = apps.get_model("connectors", "PlatformConnection")
    for link in connection_model.objects.filter(platform=platform).select_related("location"):
        names.setdefault(link.external_location_id.lower(), link.location)
    return names
