"""Clover's money, read into finance (PLATFORM_MONEY §1.3, §2.3): the merchant's payments
(`GET /v3/merchants/{mId}/payments`) and refunds (`…/refunds`) created since the last read.
Clover reports no processing fee on either (§3) and has no payout API (§4.3): fees and
deposits come from the deposit report finance imports (`import_deposits --platform clover`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from apps.connectors.clover.adapter import clover_client
from apps.connectors.clover.client import CloverClient
from apps.connectors.clover.webhooks import PAYMENT_AMOUNT_INCLUDES_TIP, PLATFORM
from apps.connectors.models import PlatformConnection
from apps.connectors.pos_common import merge_connection_settings
from apps.reports.services import ProcessorFact, record_processor_payment, record_processor_refund

READ_SETTING = "money_read_to_ms"  # the newest createdTime read, in Clover's clock
FIRST_LOOK_BACK_MS = 7 * 24 * 3600 * 1000
OVERLAP_MS = 10 * 60 * 1000  # payments written late (offline devices) still come in
PAGE_SIZE = 100


def read_money(link: PlatformConnection) -> dict:
    client = clover_client(link.external_location_id)
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    mark = (link.settings or {}).get(READ_SETTING) or now_ms - FIRST_LOOK_BACK_MS
    since = mark - OVERLAP_MS
    payments = list(_created_since(client, "payments", since))
    refunds = list(_created_since(client, "refunds", since))
    for payment in payments:
        record_processor_payment(fact=payment_fact(payment, link))
    for refund in refunds:
        record_processor_refund(fact=refund_fact(refund, link))
    newest = max((row.get("createdTime") or 0 for row in payments + refunds), default=0)
    if newest > mark:
        merge_connection_settings(link, {READ_SETTING: newest})
    return {"payments": len(payments), "refunds": len(refunds)}


def _created_since(client: CloverClient, what: str, since_ms: int) -> Iterator[dict]:
    offset = 0
    while True:
        params = {"filter": [f"createdTime>={since_ms}"], "limit": PAGE_SIZE, "offset": offset}
        if what == "payments":
            params["expand"] = "cardTransaction,tender"
        page = client.request_json("GET", client._path(what), params=params).get("elements") or []
        yield from page
        if len(page) < PAGE_SIZE:
            return
        offset += PAGE_SIZE


def payment_fact(payment: dict, link: PlatformConnection) -> ProcessorFact:
    """A Clover Payment, cents; whether `amount` holds the tip is [unverified] (§0.4), as the
    connector's tenders read it."""
    tip = payment.get("tipAmount") or 0
    amount = (payment.get("amount") or 0) - (tip if PAYMENT_AMOUNT_INCLUDES_TIP else 0)
    card = payment.get("cardTransaction") or {}
    return ProcessorFact(
        platform=PLATFORM, platform_id=payment["id"], platform_payment_id=payment["id"],
        platform_order_id=(payment.get("order") or {}).get("id") or "", amount=amount, tip=tip,
        currency=link.location.currency, occurred_at=_time(payment["createdTime"]),
        status=payment.get("result") or "", method=(payment.get("tender") or {}).get("label") or "",
        card_brand=card.get("cardType") or "", location=link.location)


def refund_fact(refund: dict, link: PlatformConnection) -> ProcessorFact:
    return ProcessorFact(
        platform=PLATFORM, platform_id=refund["id"],
        platform_payment_id=(refund.get("payment") or {}).get("id") or "",
        platform_order_id=(refund.get("orderRef") or {}).get("id") or "",
        amount=refund.get("amount") or 0, tip=refund.get("tipAmount") or 0, currency=link.location.currency,
        occurred_at=_time(refund["createdTime"]), status=refund.get("status") or "SUCCESS",
        location=link.location)


def _time(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)
