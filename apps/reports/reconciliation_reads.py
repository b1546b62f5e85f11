"""The reconciliation's reads, matched inside Postgres. A month is some 60,000 tenders and as
many processor records; nearly all of them match exactly (one record on the tender's own
business day for the same amount, paid out in full). Those are summed per day in SQL and
only the rest come back as rows for `reconciliation` to classify one by one.

A tender's business day is computed in SQL the way `business_day_sql` does it: the local
wall clock of its location, less the day's start hour."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db import connection

from apps.orders.enums import TenderType
from apps.reports.enums import PayoutEntryType, ProcessorRecordKind
from apps.returns.enums import DRAWER_PAYOUT_PREFIX, RefundPartStatus

GroupKey = tuple[date, int | None, str]  # business day, location id, platform

# Processors whose payouts Concord reads line by line; the others' deposits are imported.
PAYOUT_API_PLATFORMS = ("square", "shopify")
DEPOSIT_FILE_PLATFORMS = ("toast", "clover")
PROCESSORS = PAYOUT_API_PLATFORMS + DEPOSIT_FILE_PLATFORMS
# A record is card money when its method says so, or when its tender is a card.
CARD_METHOD_PATTERN = "CARD|CREDIT|DEBIT|SHOPIFY_PAYMENTS|STRIPE"
# The payout lines that pay a payment or refund record out; the others (disputes,
# adjustments) are differences of their own even when they name the payment.
SETTLING_TYPES = (PayoutEntryType.CHARGE, PayoutEntryType.REFUND)
# Refund parts the processor gave back. Cash the till paid back (a part whose reference
# starts with DRAWER_PAYOUT_PREFIX) never reached the processor and is left out too.
PART_STATUSES = (RefundPartStatus.SENT, RefundPartStatus.COMPLETED)

_EPOCH = date(1970, 1, 1).toordinal()


@dataclass(frozen=True, slots=True)
class Tender:
    """A payment the processor took (positive) or a refund part it gave back (negative)."""

    key: tuple[str, int]  # ("payment" | "refund_part", id)
    group: GroupKey
    value: int
    tip: int
    order_id: int
    payment_id: int


@dataclass(frozen=True, slots=True)
class Record:
    """The figures of a ProcessorRecord the match needs."""

    pk: int
    platform: str
    location_id: int | None
    platform_id: str
    kind: str
    order_id: int | None
    gross: int
    tip: int
    currency: str
    business_day: date
    tender_key: tuple[str, int] | None

    @property
    def group(self) -> GroupKey:
        return (self.business_day, self.location_id, self.platform)


@dataclass(frozen=True, slots=True)
class PayoutMatch:
    """A processor record of the days that its payout lines did not simply pay in full."""

    pk: int
    group: GroupKey
    kind: str
    order_id: int | None
    currency: str
    delta: int  # net less what the settling payout lines paid
    settling_lines: int
    first_payout_id: int | None


@dataclass(frozen=True, slots=True)
class DayFigures:
    """Per day, location and processor, the processor records' sums."""

    currency: str
    fees: int
    fee_records: int
    settled: int  # paid out by settling payout lines
    non_card: int
    non_card_records: int
    in_transit: int
    in_transit_records: int
    refund_later: int
    refund_later_records: int
    deposit_card_net: int  # Toast and Clover: the card money a deposit should pay
    deposit_card_fees: int
    deposit_card_records: int


@dataclass
class TenderMatch:
    """Tenders against processor records: the sums of the exact matches per day, and the
    tenders and records that need a look of their own."""

    matched: dict[GroupKey, tuple[str, int]]  # currency, sold (= processor gross)
    tenders: dict[tuple[str, int], Tender]
    records: list[Record]


def _day(days_since_epoch: int) -> date:
    return date.fromordinal(_EPOCH + days_since_epoch)


def _days(day: date) -> int:
    return day.toordinal() - _EPOCH


def _business_day(column: str) -> str:
    return (f"((({column}) AT TIME ZONE loc.tz) - make_interval(hours => loc.starts_at))::date"
            " - DATE '1970-01-01'")


_LOCATIONS = ("(SELECT id, COALESCE(NULLIF(timezone, ''), 'UTC') AS tz, business_day_starts_at AS starts_at"
              " FROM inventory_location)")
# Each location's days as instants: the tenders of the days are those between its bounds.
_LOCATION_BOUNDS = ("(SELECT * FROM unnest(%(location_ids)s::bigint[], %(zones)s::text[],"
                    " %(start_hours)s::int[], %(starts)s::timestamptz[], %(ends)s::timestamptz[])"
                    " AS loc (id, tz, starts_at, start_at, end_at))")
_TENDER_COLUMNS = "kind, id, day, location_id, platform, value, tip, order_id, payment_id"


def _payment_tenders_sql(locations: str, where: str) -> str:
    """Payments as tenders with their business day (days since 1970) and the key records
    carry (a payment's id; a refund part's is its id negated)."""
    return f"""
        SELECT 'payment' AS kind, p.id, p.id AS key, {_business_day('o.placed_at')} AS day,
               o.location_id, p.platform, p.amount + p.tip_amount AS value, p.tip_amount AS tip, p.order_id,
               p.id AS payment_id
        FROM orders_payment p JOIN orders_order o ON o.id = p.order_id
             JOIN {locations} AS loc ON loc.id = o.location_id
        WHERE {where}"""


def _part_tenders_sql(locations: str, where: str) -> str:
    """Refund parts as tenders (negative), dated by their refund, at their order's store."""
    return f"""
        SELECT 'refund_part' AS kind, rp.id, -rp.id AS key, {_business_day('r.created_at')} AS day,
               o.location_id, rp.platform, -rp.amount AS value, 0 AS tip, p.order_id, rp.payment_id
        FROM returns_refundpart rp JOIN returns_refund r ON r.id = rp.refund_id
             JOIN orders_payment p ON p.id = rp.payment_id JOIN orders_order o ON o.id = p.order_id
             JOIN {locations} AS loc ON loc.id = o.location_id
        WHERE {where}"""


_TENDER_OF_RECORD = (f"CASE WHEN pr.kind = '{ProcessorRecordKind.PAYMENT}' THEN 'payment'"
                     f" WHEN pr.kind = '{ProcessorRecordKind.REFUND}' THEN 'refund_part' END")
_TENDER_ID_OF_RECORD = (f"CASE WHEN pr.kind = '{ProcessorRecordKind.PAYMENT}' THEN pr.payment_id"
                        f" WHEN pr.kind = '{ProcessorRecordKind.REFUND}' THEN pr.refund_part_id END")
_RECORD_COLUMNS = ("pr.id, pr.platform, pr.location_id, pr.platform_id, pr.kind, pr.order_id, pr.gross,"
                   " pr.tip, pr.currency, pr.business_day - DATE '1970-01-01',"
                   f" {_TENDER_OF_RECORD}, {_TENDER_ID_OF_RECORD}")
_KEY_OF_RECORD = (f"CASE WHEN pr.kind = '{ProcessorRecordKind.PAYMENT}' THEN pr.payment_id"
                  f" WHEN pr.kind = '{ProcessorRecordKind.REFUND}' THEN -pr.refund_part_id END")


def match_tenders(*, first_day: date, last_day: date, bounds: dict) -> TenderMatch:
    """The tenders of business days `first_day`..`last_day` (placed or refunded within
    `bounds`, each location's days as instants: {location: (start, end)}) against the
    processor's records of them, wherever those fall, and the processor's records of the days."""
    locations = list(bounds)
    params = {"location_ids": [location.pk for location in locations],
              "zones": [location.timezone or "UTC" for location in locations],
              "start_hours": [location.business_day_starts_at for location in locations],
              "starts": [bounds[location][0] for location in locations],
              "ends": [bounds[location][1] for location in locations],
              "start": min(start for start, _ in bounds.values()),
              "end": max(end for _, end in bounds.values()),
              "processors": list(PROCESSORS),
              "part_statuses": list(PART_STATUSES), "drawer_payout": f"{DRAWER_PAYOUT_PREFIX}%",
              "first": _days(first_day), "last": _days(last_day),
              "window_first": first_day - timedelta(days=7), "window_last": last_day + timedelta(days=7)}
    with connection.cursor() as cursor:
        cursor.execute(_MATCH_SQL, params)
        matched, tenders, records = {}, {}, []
        for row in cursor.fetchall():
            what, rest = row[0], row[1:]
            if what == "matched":
                currency, _, day, location_id, platform, sold = rest[:6]
                matched[(_day(day), location_id, platform)] = (currency, sold)
            elif what == "tender":
                tender = _tender(rest[:9])
                tenders[tender.key] = tender
            else:
                records.append(_record(rest[9:]))
    tenders.update(_tenders_of(records, tenders))
    return TenderMatch(matched, tenders, records)


def _tender(row) -> Tender:
    kind, pk, day, location_id, platform, value, tip, order_id, payment_id = row
    return Tender((kind, pk), (_day(day), location_id, platform), value, tip, order_id, payment_id)


def _record(row) -> Record:
    pk, platform, location_id, platform_id, kind, order_id, gross, tip, currency, day, tender_kind, \
        tender_id = row
    return Record(pk, platform, location_id, platform_id, kind, order_id, gross, tip, currency, _day(day),
                  (tender_kind, tender_id) if tender_kind and tender_id else None)


def _tenders_of(records: list[Record], known: dict) -> dict:
    """Tenders of records in the days whose order was placed (or refund given) on another day."""
    payments = [r.tender_key[1] for r in records if r.tender_key and r.tender_key[0] == "payment"
                and r.tender_key not in known]
    parts = [r.tender_key[1] for r in records if r.tender_key and r.tender_key[0] == "refund_part"
             and r.tender_key not in known]
    if not payments and not parts:
        return {}
    with connection.cursor() as cursor:
        tenders_sql = (_payment_tenders_sql(_LOCATIONS, "p.id = ANY(%(payments)s)") + " UNION ALL "
                       + _part_tenders_sql(_LOCATIONS, "rp.id = ANY(%(parts)s)"))
        cursor.execute(f"SELECT {_TENDER_COLUMNS} FROM ({tenders_sql}) AS t",
                       {"payments": payments, "parts": parts})
        tenders = [_tender(row) for row in cursor.fetchall()]
    return {tender.key: tender for tender in tenders}


# Each kind of row leaves the others' columns empty (typed, for the UNION).
_NO_TENDER = ("NULL::text, NULL::bigint, NULL::int, NULL::bigint, NULL::text, NULL::bigint, NULL::bigint,"
              " NULL::bigint, NULL::bigint")
_NO_RECORD = ("NULL::bigint, NULL::text, NULL::bigint, NULL::text, NULL::text, NULL::bigint, NULL::bigint,"
              " NULL::bigint, NULL::text, NULL::int, NULL::text, NULL::bigint")

# One statement, three kinds of rows: the exact matches summed per day ("matched": a tender
# with one record, on its day, for its amount), the tenders that are not an exact match
# ("tender"), and the records to classify one by one
# ("record": those of the days no exactly matched tender explains, and every record of the
# tenders that are not an exact match, whatever its day). The processor's records are read
# over a window a week wider than the days (a sale lands a day or two off at most); a tender
# with no record there has its records looked up by id.
_MATCH_SQL = f"""
WITH placed AS MATERIALIZED (
    SELECT o.id, o.location_id, {_business_day('o.placed_at')} AS day
    FROM orders_order o JOIN {_LOCATION_BOUNDS} AS loc ON loc.id = o.location_id
    WHERE o.placed_at >= %(start)s AND o.placed_at < %(end)s AND o.placed_at >= loc.start_at
      AND o.placed_at < loc.end_at
),
tender AS MATERIALIZED (
    -- The orders' ids as a range as well: their payments are then read in one index range
    -- instead of one look-up per order (a month is some 80,000 orders).
    SELECT 'payment' AS kind, p.id, p.id AS key, o.day, o.location_id, p.platform,
           p.amount + p.tip_amount AS value, p.tip_amount AS tip, p.order_id, p.id AS payment_id
    FROM orders_payment p JOIN placed o ON o.id = p.order_id
    WHERE p.order_id BETWEEN (SELECT min(id) FROM placed) AND (SELECT max(id) FROM placed)
      AND p.platform = ANY(%(processors)s) AND p.status <> 'voided'
    UNION ALL
    {_part_tenders_sql(
        _LOCATION_BOUNDS,
        "rp.platform = ANY(%(processors)s) AND rp.status = ANY(%(part_statuses)s)"
        " AND rp.reference NOT LIKE %(drawer_payout)s AND r.created_at >= %(start)s"
        " AND r.created_at < %(end)s AND r.created_at >= loc.start_at AND r.created_at < loc.end_at")}
),
near AS MATERIALIZED (
    SELECT pr.id, {_KEY_OF_RECORD} AS key, pr.business_day - DATE '1970-01-01' AS day, pr.location_id,
           pr.platform, pr.gross, pr.currency
    FROM reports_processorrecord pr
    WHERE pr.business_day BETWEEN %(window_first)s AND %(window_last)s AND pr.platform = ANY(%(processors)s)
),
several AS MATERIALIZED (  -- tenders with more than one record: each checked in Python
    SELECT key FROM near WHERE key IS NOT NULL GROUP BY key HAVING count(*) > 1
),
checked AS MATERIALIZED (
    SELECT t.*, n.currency, n.id IS NOT NULL OR s.key IS NOT NULL AS has_records,
           coalesce(n.day = t.day AND n.location_id = t.location_id AND n.platform = t.platform
                    AND n.gross = t.value AND s.key IS NULL, false) AS exact
    FROM tender t LEFT JOIN several s ON s.key = t.key
         LEFT JOIN near n ON n.key = t.key AND s.key IS NULL
)
SELECT 'matched', min(currency)::text, NULL::bigint, day, location_id, platform::text, sum(value)::bigint,
       NULL::bigint, NULL::bigint, NULL::bigint, {_NO_RECORD}
FROM checked WHERE exact GROUP BY day, location_id, platform
UNION ALL
SELECT 'tender', {_TENDER_COLUMNS}, {_NO_RECORD} FROM checked WHERE NOT exact
UNION ALL
SELECT 'record', {_NO_TENDER}, {_RECORD_COLUMNS}
FROM near n JOIN reports_processorrecord pr ON pr.id = n.id
WHERE n.day BETWEEN %(first)s AND %(last)s
  AND NOT EXISTS (SELECT 1 FROM checked c WHERE c.exact AND c.key = n.key)
UNION ALL
SELECT 'record', {_NO_TENDER}, {_RECORD_COLUMNS}
FROM near n JOIN checked c ON c.key = n.key JOIN reports_processorrecord pr ON pr.id = n.id
WHERE NOT c.exact AND n.day NOT BETWEEN %(first)s AND %(last)s
UNION ALL
SELECT 'record', {_NO_TENDER}, {_RECORD_COLUMNS}
FROM checked c JOIN reports_processorrecord pr
     ON (c.kind = 'payment' AND pr.kind = '{ProcessorRecordKind.PAYMENT}' AND pr.payment_id = c.id)
     OR (c.kind = 'refund_part' AND pr.kind = '{ProcessorRecordKind.REFUND}' AND pr.refund_part_id = c.id)
WHERE NOT c.has_records
"""


def match_payouts(*, first_day: date, last_day: date, today: date,
                  grace_days: int) -> tuple[dict[GroupKey, DayFigures], list[PayoutMatch]]:
    """The processor's records of the days against the payout lines that settle them: per
    day, location and processor the sums (fees, paid out, money not paid out yet or never
    paid out, the card money a Toast or Clover deposit should pay), and the records whose
    payout differs or is overdue one by one."""
    params = {"first_day": first_day, "last_day": last_day, "processors": list(PROCESSORS),
              "payout_api": list(PAYOUT_API_PLATFORMS), "settling": [str(t) for t in SETTLING_TYPES],
              "card_pattern": CARD_METHOD_PATTERN, "card": str(TenderType.CARD),
              "refund": str(ProcessorRecordKind.REFUND), "overdue_before": _days(today) - grace_days}
    figures, matches = {}, []
    with connection.cursor() as cursor:
        cursor.execute(_PAYOUT_SQL, params)
        for row in cursor.fetchall():
            group = (_day(row[1]), row[2], row[3])
            if row[0] == "day":
                figures[group] = DayFigures(*row[4:17])
            else:
                pk, kind, order_id, delta, lines, payout_id = row[17:23]
                matches.append(PayoutMatch(pk, group, kind, order_id, row[4], delta, lines, payout_id))
    return figures, matches


_OUTCOMES = """
    CASE WHEN NOT is_card THEN 'non_card'
         WHEN platform <> ALL(%(payout_api)s) THEN 'deposit'
         WHEN lines > 0 AND delta = 0 THEN 'paid'
         WHEN lines > 0 THEN 'mismatch'
         WHEN day < %(overdue_before)s THEN 'overdue'
         WHEN kind = %(refund)s THEN 'refund_later'
         ELSE 'in_transit' END"""

_PAYOUT_SQL = f"""
WITH record AS MATERIALIZED (
    SELECT pr.id, pr.business_day - DATE '1970-01-01' AS day, pr.location_id, pr.platform, pr.kind, pr.fee,
           pr.net, pr.currency, pr.order_id,
           upper(coalesce(pr.method, '')) ~ %(card_pattern)s
               OR EXISTS (SELECT 1 FROM orders_payment p
                          WHERE p.id = pr.payment_id AND p.tender_type = %(card)s) AS is_card
    FROM reports_processorrecord pr
    WHERE pr.business_day BETWEEN %(first_day)s AND %(last_day)s AND pr.platform = ANY(%(processors)s)
),
paid AS (
    -- The records' ids as a range as well: their payout lines are then read in one index
    -- range instead of one look-up per record.
    SELECT e.processor_record_id AS id, sum(e.net) AS settled, count(*) AS lines,
           min(e.payout_id) AS first_payout_id
    FROM reports_payoutentry e
    WHERE e.processor_record_id BETWEEN (SELECT min(id) FROM record) AND (SELECT max(id) FROM record)
      AND e.entry_type = ANY(%(settling)s)
    GROUP BY e.processor_record_id
),
checked AS MATERIALIZED (
    SELECT *, {_OUTCOMES} AS outcome FROM (
        SELECT record.*, coalesce(paid.settled, 0) AS settled, coalesce(paid.lines, 0) AS lines,
               paid.first_payout_id, record.net - coalesce(paid.settled, 0) AS delta
        FROM record LEFT JOIN paid USING (id)) AS matched
)
SELECT 'day', day, location_id, platform::text, min(currency)::text,
       sum(fee)::bigint, count(*) FILTER (WHERE fee <> 0), sum(settled)::bigint,
       coalesce(sum(delta) FILTER (WHERE outcome = 'non_card'), 0)::bigint,
       count(*) FILTER (WHERE outcome = 'non_card' AND delta <> 0),
       coalesce(sum(delta) FILTER (WHERE outcome = 'in_transit'), 0)::bigint,
       count(*) FILTER (WHERE outcome = 'in_transit' AND delta <> 0),
       coalesce(sum(delta) FILTER (WHERE outcome = 'refund_later'), 0)::bigint,
       count(*) FILTER (WHERE outcome = 'refund_later' AND delta <> 0),
       coalesce(sum(net) FILTER (WHERE outcome = 'deposit'), 0)::bigint,
       coalesce(sum(fee) FILTER (WHERE outcome = 'deposit'), 0)::bigint,
       count(*) FILTER (WHERE outcome = 'deposit'),
       NULL::bigint, NULL::text, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint
FROM checked GROUP BY day, location_id, platform
UNION ALL
SELECT 'record', day, location_id, platform::text, currency::text,
       NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint,
       NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint,
       id, kind::text, order_id, delta::bigint, lines, first_payout_id
FROM checked WHERE outcome IN ('mismatch', 'overdue')
"""
