"""Shopify's money, read into finance (PLATFORM_MONEY §1.2, §4.2):

- the order's transactions, which the connector already reads once when it records a web
  order (`orders/{id}/transactions.json`): each successful sale or capture is a processor
  payment, each refund transaction a processor refund. REST transactions carry no fee;
- Shopify Payments payouts (`shopify_payments/payouts.json`, by date) and each payout's
  balance transactions (`balance/transactions.json?payout_id=`: there is no date filter),
  the payout itself among them as a negative `payout` row. A `charge` or `refund` balance
  transaction carries the fee of the order transaction it names
  (`source_order_transaction_id`): that becomes the processor record's fee (and net). The
  balance transactions still `pending` (in no payout yet) are read for their fees too.

Payouts are shop-wide, so they are read once per read, on the shop's first connection."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from apps.connectors.models import PlatformConnection
from apps.connectors.pos_common import merge_connection_settings
from apps.connectors.shopify.adapter import PLATFORM, shopify_client
from apps.connectors.shopify.client import ShopifyClient
from apps.core.money import from_decimal
from apps.reports.enums import PayoutEntryType, ProcessorRecordKind
from apps.reports.services import (
    PayoutEntryFact,
    PayoutFact,
    ProcessorFact,
    ProcessorFeeFact,
    link_payout_entries,
    record_payout,
    record_processor_fees,
    record_processor_payment,
    record_processor_refund,
)

READ_SETTING = "payouts_read_to"
PAYOUTS_LOOK_BACK = timedelta(days=10)  # a payout is scheduled, then paid days later: read it again
PAGE_SIZE = 250
PAYMENT_KINDS = ("sale", "capture")
ENTRY_TYPES = {"charge": PayoutEntryType.CHARGE, "refund": PayoutEntryType.REFUND,
               "dispute": PayoutEntryType.DISPUTE, "adjustment": PayoutEntryType.ADJUSTMENT,
               "reserve": PayoutEntryType.ADJUSTMENT, "credit": PayoutEntryType.ADJUSTMENT,
               "debit": PayoutEntryType.ADJUSTMENT, "payout": PayoutEntryType.PAYOUT,
               "payout_failure": PayoutEntryType.PAYOUT, "payout_cancellation": PayoutEntryType.PAYOUT}
# The balance transactions whose fee is their order transaction's (processor record's).
FEE_RECORD_KINDS = {"charge": ProcessorRecordKind.PAYMENT, "refund": ProcessorRecordKind.REFUND}


# ---------------------------------------------------------------- order transactions


def record_order_transactions(link: PlatformConnection, transactions: list[dict], currency: str) -> int:
    """The order's successful payments and refunds, as processor records; returns how many."""
    recorded = 0
    for transaction in transactions:
        fact = transaction_fact(transaction, link, currency)
        if fact is None:
            continue
        if transaction["kind"] == "refund":
            record_processor_refund(fact=fact)
        else:
            record_processor_payment(fact=fact)
        recorded += 1
    return recorded


def record_refund_transactions(refund_id: str, transactions: list[dict], currency: str) -> int:
    """A refund's successful transactions (a `refunds/create` webhook), as processor refunds
    of the refund Concord knows by `refund_id`; returns how many."""
    facts = [transaction_fact({"kind": "refund", **t}, None, currency) for t in transactions]
    for fact in filter(None, facts):
        record_processor_refund(fact=replace(fact, refund_id=refund_id))
    return sum(1 for fact in facts if fact)


def transaction_fact(transaction: dict, link: PlatformConnection | None,
                     currency: str) -> ProcessorFact | None:
    kind = transaction.get("kind")
    if transaction.get("status") != "success" or kind not in (*PAYMENT_KINDS, "refund"):
        return None  # an authorization moves no money until captured; a failure none at all
    money_currency = transaction.get("currency") or currency
    details = transaction.get("payment_details") or {}
    return ProcessorFact(
        platform=PLATFORM, platform_id=str(transaction["id"]),
        platform_payment_id=str((transaction.get("parent_id") or "") if kind == "refund"
                                else transaction["id"]),
        platform_order_id=str(transaction.get("order_id") or ""),
        amount=abs(from_decimal(transaction["amount"], money_currency)), currency=money_currency,
        occurred_at=_time(transaction.get("processed_at") or transaction["created_at"]),
        fee=None,  # on its balance transaction: read with the payouts (fee_fact)
        status=transaction.get("status") or "", method=transaction.get("gateway") or "",
        card_brand=details.get("credit_card_company") or "", location=link.location if link else None)


# ---------------------------------------------------------------- payouts


def read_money(link: PlatformConnection) -> dict:
    """The shop's payouts issued since the last read (less a look-back), with their lines,
    and the fees of the charges and refunds not paid out yet."""
    first = PlatformConnection.objects.filter(platform=PLATFORM, is_enabled=True).order_by("pk").first()
    if first is None or first.pk != link.pk:
        return {"payouts": "read with the shop's first location"}
    client = shopify_client()
    started = datetime.now(UTC)
    value = (link.settings or {}).get(READ_SETTING)
    since = (date.fromisoformat(value) if value else started.date()) - PAYOUTS_LOOK_BACK
    payouts = client.request_json("GET", client.admin_path("shopify_payments/payouts.json"),
                                  params={"date_min": since.isoformat(), "limit": PAGE_SIZE})["payouts"]
    for payout in payouts:
        rows = list(_balance_transactions(client, {"payout_id": payout["id"]}))
        record_payout(fact=payout_fact(payout), entries=[entry_fact(row) for row in rows])
        _record_fees(rows)
    # Charges not yet in a payout carry their fee already: a day in transit shows it.
    _record_fees(_balance_transactions(client, {"payout_status": "pending"}))
    link_payout_entries(platform=PLATFORM)
    merge_connection_settings(link, {READ_SETTING: started.date().isoformat()})
    return {"payouts": len(payouts)}


def _record_fees(rows: Iterable[dict]) -> None:
    record_processor_fees(platform=PLATFORM, fees=list(filter(None, map(fee_fact, rows))))


def _balance_transactions(client: ShopifyClient, wanted: dict) -> Iterator[dict]:
    """Every balance transaction of a payout (`payout_id`) or a payout status
    (`payout_status`), a page at a time (by `since_id`)."""
    params: dict = {**wanted, "limit": PAGE_SIZE}
    seen: set = set()
    while True:
        page = client.request_json("GET", client.admin_path("shopify_payments/balance/transactions.json"),
                                   params=params)["transactions"]
        fresh = [row for row in page if row["id"] not in seen]
        yield from fresh
        seen.update(row["id"] for row in fresh)
        if len(page) < PAGE_SIZE or not fresh:
            return
        params = {**params, "since_id": max(row["id"] for row in page)}


def payout_fact(payout: dict) -> PayoutFact:
    currency = payout["currency"]
    return PayoutFact(platform=PLATFORM, platform_payout_id=str(payout["id"]),
                      status=payout.get("status") or "", amount=from_decimal(payout["amount"], currency),
                      currency=currency,
                      arrival_date=date.fromisoformat(payout["date"]) if payout.get("date") else None)


def entry_fact(row: dict) -> PayoutEntryFact:
    """A balance transaction. A refund's source is its refund transaction; a charge's, the
    order transaction that is our tender's reference."""
    currency = row["currency"]
    kind = row.get("type") or ""
    source_transaction = str(row.get("source_order_transaction_id") or "")
    is_refund = kind == "refund"
    return PayoutEntryFact(
        platform_entry_id=str(row["id"]), entry_type=ENTRY_TYPES.get(kind, PayoutEntryType.OTHER),
        platform_type=f"{kind}/{row.get('source_type') or ''}".strip("/"),
        gross=from_decimal(row["amount"], currency), fee=from_decimal(row.get("fee") or 0, currency),
        net=from_decimal(row["net"], currency), currency=currency,
        occurred_at=_time(row["processed_at"]) if row.get("processed_at") else None,
        source_payment_id="" if is_refund else source_transaction,
        source_refund_id=source_transaction if is_refund else "",
        source_order_id=str(row.get("source_order_id") or ""))


def fee_fact(row: dict) -> ProcessorFeeFact | None:
    """A charge's or refund's fee, for the order transaction it names; None for the other
    rows (a dispute names the charge too, but its fee is the chargeback's, not the sale's)."""
    kind = FEE_RECORD_KINDS.get(row.get("type") or "")
    source_transaction = row.get("source_order_transaction_id")
    if kind is None or not source_transaction:
        return None
    return ProcessorFeeFact(platform_id=str(source_transaction), kind=kind,
                            fee=from_decimal(row.get("fee") or 0, row["currency"]))


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
