"""Square's money, read into finance: payments and refunds (ListPayments, ListPaymentRefunds)
and payouts with their entries (ListPayouts, ListPayoutEntries), PLATFORM_MONEY §1.1, §2.1,
§4.1. Read on the money schedule for each connected location (always with `location_id`:
Square's defaults differ per call), and by the `payment.*` and `payout.*` webhooks.

A payment's fee appears hours after it (§3), so each read goes back over the payments of
the last FEE_SETTLES_WITHIN again; recording is an upsert, so a re-read only updates."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from apps.connectors.models import PlatformConnection
from apps.connectors.pos_common import merge_connection_settings
from apps.connectors.services.intake import SkipEvent, UnreadablePayload, connected_link
from apps.connectors.square.adapter import PLATFORM, square_client
from apps.connectors.square.client import SquareClient
from apps.reports.enums import PayoutEntryType
from apps.reports.services import (
    PayoutEntryFact,
    PayoutFact,
    ProcessorFact,
    link_payout_entries,
    record_payout,
    record_processor_payment,
    record_processor_refund,
)

READ_SETTING = "money_read_to"  # when the last complete read started (our clock)
FIRST_LOOK_BACK = timedelta(days=7)
FEE_SETTLES_WITHIN = timedelta(hours=6)
PAYOUTS_LOOK_BACK = timedelta(days=7)  # a payout goes SENT -> PAID over days: read it again
PAYMENT_TOPICS = ("payment.created", "payment.updated")
PAYOUT_TOPICS = ("payout.sent", "payout.paid", "payout.failed")
MONEY_TOPICS = PAYMENT_TOPICS + PAYOUT_TOPICS

# ActivityType (58 values and growing): the ones finance tells apart; any other is "other".
ENTRY_TYPES = {
    "CHARGE": PayoutEntryType.CHARGE, "REFUND": PayoutEntryType.REFUND,
    "FEE": PayoutEntryType.FEE, "PROCESSING_FEE": PayoutEntryType.FEE,
    "PROCESSING_FEE_REFUND": PayoutEntryType.FEE, "TAX_ON_FEE": PayoutEntryType.FEE,
    "DEPOSIT_FEE": PayoutEntryType.FEE, "GIFT_CARD_LOAD_FEE": PayoutEntryType.FEE,
    "DISPUTE": PayoutEntryType.DISPUTE, "OPEN_DISPUTE": PayoutEntryType.DISPUTE,
    "ADJUSTMENT": PayoutEntryType.ADJUSTMENT, "HOLD_ADJUSTMENT": PayoutEntryType.ADJUSTMENT,
    "RELEASE_ADJUSTMENT": PayoutEntryType.ADJUSTMENT, "RESERVE_HOLD": PayoutEntryType.ADJUSTMENT,
    "RESERVE_RELEASE": PayoutEntryType.ADJUSTMENT, "RETURNED_PAYOUT": PayoutEntryType.ADJUSTMENT,
}


def read_money(link: PlatformConnection) -> dict:
    """Read the location's payments, refunds and payouts since the last read; returns how
    many of each were recorded (new or updated)."""
    client = square_client()
    started = datetime.now(UTC)
    last = _read_to(link)
    since = last - FEE_SETTLES_WITHIN if last else started - FIRST_LOOK_BACK
    location_id = link.external_location_id
    payments = sum(1 for p in _pages(client, "/v2/payments", "payments", location_id, since)
                   if record_processor_payment(fact=payment_fact(p, link)))
    refunds = sum(1 for r in _pages(client, "/v2/refunds", "refunds", location_id, since)
                  if record_processor_refund(fact=refund_fact(r, link)))
    payouts_since = (last or started) - PAYOUTS_LOOK_BACK
    payouts = sum(1 for p in _pages(client, "/v2/payouts", "payouts", location_id, payouts_since)
                  if record_square_payout(client, p, link))
    link_payout_entries(platform=PLATFORM)
    merge_connection_settings(link, {READ_SETTING: started.isoformat()})
    return {"payments": payments, "refunds": refunds, "payouts": payouts}


def _read_to(link: PlatformConnection) -> datetime | None:
    value = (link.settings or {}).get(READ_SETTING)
    return datetime.fromisoformat(value) if value else None


def _pages(client: SquareClient, path: str, key: str, location_id: str, since: datetime) -> Iterator[dict]:
    params = {"location_id": location_id, "begin_time": rfc3339(since), "sort_order": "ASC", "limit": 100}
    while True:
        page = client.request_json("GET", path, params=params)
        yield from page.get(key) or []
        if not page.get("cursor"):
            return
        params = {**params, "cursor": page["cursor"]}


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# ---------------------------------------------------------------- payloads -> facts


def payment_fact(payment: dict, link: PlatformConnection | None = None) -> ProcessorFact:
    """A Square Payment: `amount_money` without the tip, `tip_money`, and the fee as the
    sum of `processing_fee[]` (empty until Square settles it)."""
    card = (payment.get("card_details") or {}).get("card") or {}
    return ProcessorFact(
        platform=PLATFORM, platform_id=payment["id"], platform_payment_id=payment["id"],
        platform_order_id=payment.get("order_id") or "", amount=cents(payment.get("amount_money")),
        tip=cents(payment.get("tip_money")), fee=_fees(payment.get("processing_fee")),
        currency=_currency(payment.get("amount_money")), occurred_at=_time(payment["created_at"]),
        status=payment.get("status") or "", method=payment.get("source_type") or "",
        card_brand=card.get("card_brand") or "", location=link.location if link else None)


def refund_fact(refund: dict, link: PlatformConnection | None = None) -> ProcessorFact:
    """A PaymentRefund: the amount given back and the fee returned (negative, §3)."""
    return ProcessorFact(
        platform=PLATFORM, platform_id=refund["id"], platform_payment_id=refund.get("payment_id") or "",
        platform_order_id=refund.get("order_id") or "", amount=cents(refund.get("amount_money")),
        fee=_fees(refund.get("processing_fee")), currency=_currency(refund.get("amount_money")),
        occurred_at=_time(refund["created_at"]), status=refund.get("status") or "",
        location=link.location if link else None)


def record_square_payout(client: SquareClient, payout: dict, link: PlatformConnection | None) -> object:
    """A Payout and, for a BATCH payout, its entries (a SIMPLE one has none: it shows up as
    an entry of a later BATCH payout)."""
    entries = list(_entries(client, payout["id"])) if payout.get("type", "BATCH") == "BATCH" else []
    return record_payout(fact=payout_fact(payout, link), entries=[entry_fact(e) for e in entries])


def _entries(client: SquareClient, payout_id: str) -> Iterator[dict]:
    params: dict = {"limit": 100}
    while True:
        page = client.request_json("GET", f"/v2/payouts/{payout_id}/payout-entries", params=params)
        yield from page.get("payout_entries") or []
        if not page.get("cursor"):
            return
        params = {**params, "cursor": page["cursor"]}


def payout_fact(payout: dict, link: PlatformConnection | None) -> PayoutFact:
    arrival = payout.get("arrival_date")
    return PayoutFact(
        platform=PLATFORM, platform_payout_id=payout["id"], status=payout.get("status") or "",
        amount=cents(payout.get("amount_money")), currency=_currency(payout.get("amount_money")),
        fee=sum(cents(fee.get("amount_money")) for fee in payout.get("payout_fee") or []),
        arrival_date=datetime.strptime(arrival, "%Y-%m-%d").date() if arrival else None,
        platform_created_at=_time(payout["created_at"]) if payout.get("created_at") else None,
        bank_reference=payout.get("end_to_end_id") or "", location=link.location if link else None)


def entry_fact(entry: dict) -> PayoutEntryFact:
    activity = entry.get("type") or "OTHER"
    details = entry.get(f"type_{activity.lower()}_details") or {}
    return PayoutEntryFact(
        platform_entry_id=entry["id"], entry_type=ENTRY_TYPES.get(activity, PayoutEntryType.OTHER),
        platform_type=activity, gross=cents(entry.get("gross_amount_money")),
        fee=cents(entry.get("fee_amount_money")), net=cents(entry.get("net_amount_money")),
        currency=_currency(entry.get("net_amount_money") or entry.get("gross_amount_money")),
        occurred_at=_time(entry["effective_at"]) if entry.get("effective_at") else None,
        source_payment_id=details.get("payment_id") or "", source_refund_id=details.get("refund_id") or "")


def cents(money: dict | None) -> int:
    amount = (money or {}).get("amount") or 0
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise UnreadablePayload(f"{amount!r} is not an amount in cents")
    return amount


def _currency(money: dict | None) -> str:
    # The spec's payout examples write `currency_code`, its Money schema `currency` (§4.1).
    money = money or {}
    return money.get("currency") or money.get("currency_code") or "USD"


def _fees(fees: list | None) -> int:
    return sum(cents(fee.get("amount_money")) for fee in fees or [])


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# ---------------------------------------------------------------- webhooks


def handle_money_event(message: dict) -> str:
    """`payment.created|updated` carries the whole Payment, `payout.*` the whole Payout
    (its entries are fetched)."""
    data = message.get("data") or {}
    topic = message.get("type")
    if topic in PAYMENT_TOPICS:
        payment = (data.get("object") or {}).get("payment") or {}
        link = connected_link(PLATFORM, payment.get("location_id"))
        record = record_processor_payment(fact=payment_fact(payment, link))
        return f"payment {record.platform_id} recorded ({record.status})"
    if topic in PAYOUT_TOPICS:
        payout = (data.get("object") or {}).get("payout") or {}
        link = connected_link(PLATFORM, payout.get("location_id") or message.get("location_id"))
        recorded = record_square_payout(square_client(), payout, link)
        return f"payout {recorded.platform_payout_id} recorded ({recorded.status})"
    raise SkipEvent(f"nothing to do for {topic}")
