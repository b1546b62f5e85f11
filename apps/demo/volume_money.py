"""seed_volume's processor money: each paid card tender and each card refund part of the
history as the processor recorded it (reports.ProcessorRecord, with the platform's fee and
the store's business day), and for the platforms with a payout API (Square, Shopify) one
payout per location and business day whose entries are those records (payout = Σ nets).
Toast and Clover deposits come from imported files, so the history has none."""

from __future__ import annotations

from django.db import connection

from apps.demo.bulk_copy import copy_rows
from apps.orders.enums import PaymentStatus, TenderType
from apps.reports.business_day import location_day
from apps.reports.models import Payout, PayoutEntry, ProcessorRecord

RECORD_FIELDS = ["id", "platform", "location", "platform_id", "kind", "platform_payment_id",
                 "platform_order_id", "amount", "tip", "gross", "fee", "net", "currency", "occurred_at",
                 "business_day", "status", "method", "card_brand", "payment", "refund_part", "order",
                 "created_at", "updated_at"]
PAYOUT_PLATFORMS = ("square", "shopify")


def write_processor_records(run, chunk) -> None:
    """The chunk's card payments and card refunds, as their platform recorded them."""
    locations = {store.location.pk: store.location for store in run.stores}
    orders = {row[0]: (row[4], row[3]) for row in chunk.orders}  # id -> (location id, external id)
    tenders = {row[0]: row for row in chunk.tenders}
    rows = []
    for tender_id, order_id, kind, status, amount, tip, fee, currency, *_, platform, reference, _, at in (
            chunk.tenders):
        if kind != TenderType.CARD or status != PaymentStatus.PAID or not platform:
            continue
        location_id, external_id = orders[order_id]
        day = location_day(at, locations[location_id])
        gross = amount + tip
        rows.append((run.ids.next(ProcessorRecord), platform, location_id, reference, "payment", reference,
                     external_id, amount, tip, gross, fee, gross - fee, currency, at, day, "COMPLETED",
                     "CARD", "VISA", tender_id, None, order_id, at, at))
    for part_id, _, tender_id, amount, _, platform, _, reference, at, _ in chunk.refund_parts:
        tender = tenders[tender_id]
        if tender[2] != TenderType.CARD or not platform:
            continue
        location_id, external_id = orders[tender[1]]
        day = location_day(at, locations[location_id])
        rows.append((run.ids.next(ProcessorRecord), platform, location_id, reference, "refund", tender[11],
                     external_id, -amount, 0, -amount, 0, -amount, tender[7], at, day, "COMPLETED", "CARD",
                     "VISA", tender_id, part_id, tender[1], at, at))
    copy_rows(ProcessorRecord, RECORD_FIELDS, rows)


def settle_volume_payouts() -> None:
    """One payout per platform, location and business day (arriving the next day) of every
    Square and Shopify record not in a payout yet, each record its entry."""
    records, payouts, entries = (ProcessorRecord._meta.db_table, Payout._meta.db_table,
                                 PayoutEntry._meta.db_table)
    key = "'vol-' || r.platform || '-' || r.location_id || '-' || r.business_day"
    unpaid = f"NOT EXISTS (SELECT 1 FROM {entries} e WHERE e.processor_record_id = r.id)"
    with connection.cursor() as cursor:
        cursor.execute(f"""
            INSERT INTO {payouts} (platform, location_id, platform_payout_id, status, amount, fee, currency,
                                   arrival_date, platform_created_at, bank_reference, source, created_at,
                                   updated_at)
            SELECT r.platform, r.location_id, {key}, 'PAID', SUM(r.net), 0, MIN(r.currency),
                   r.business_day + 1, MIN(r.occurred_at), '', 'api', NOW(), NOW()
            FROM {records} r WHERE r.platform = ANY(%s) AND {unpaid}
            GROUP BY r.platform, r.location_id, r.business_day HAVING SUM(r.net) <> 0
            ON CONFLICT DO NOTHING""", [list(PAYOUT_PLATFORMS)])
        cursor.execute(f"""
            INSERT INTO {entries} (payout_id, platform, platform_entry_id, entry_type, platform_type, gross,
                                   fee, net, currency, occurred_at, source_payment_id, source_refund_id,
                                   source_order_id, processor_record_id, payment_id, refund_part_id)
            SELECT p.id, r.platform, 'vol-entry-' || r.id,
                   CASE WHEN r.kind = 'payment' THEN 'charge' ELSE 'refund' END,
                   CASE WHEN r.kind = 'payment' THEN 'CHARGE' ELSE 'REFUND' END,
                   r.gross, r.fee, r.net, r.currency, r.occurred_at, r.platform_payment_id,
                   CASE WHEN r.kind = 'refund' THEN r.platform_id ELSE '' END, r.platform_order_id,
                   r.id, r.payment_id, r.refund_part_id
            FROM {records} r JOIN {payouts} p ON p.platform = r.platform AND p.platform_payout_id = {key}
            WHERE r.platform = ANY(%s) AND {unpaid}""", [list(PAYOUT_PLATFORMS)])


WRITTEN_MODELS = [ProcessorRecord, Payout, PayoutEntry]
