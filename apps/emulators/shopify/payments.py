"""Shopify Payments in the emulator: fees, the balance ledger, daily payouts.

Shapes follow SHOP-PY fixtures `payouts.json` and `payouts_transactions.json`, SHOP-JS
`payout.ts` / `payment_transaction.ts` and PLATFORM_MONEY §3, §4.2, §5:
- every Shopify Payments sale is a `charge` balance transaction (amount, fee at the
  online rate 2.9% + 30c or in person 2.7%, net = amount - fee); a refund a `refund` row
  (negative; Shopify keeps its fee, so fee 0, `refund_returns_fee`); a chargeback a
  `dispute` row (negative, with Shopify's 15.00 fee); a fee true-up an `adjustment` row;
- transactions wait with `payout_status: "pending"` and no `payout_id` until paid out;
- the daily schedule pays a UTC day's transactions the next weekday (a Monday payout
  holds Friday to Sunday; no payouts on weekends); each payout is itself a `payout` row
  of minus its amount (source_type "payout", source_id = the payout id);
- a payout's `amount` = Σ(amount - fee) over its rows, its `summary` the gross and fee
  per kind (charges, refunds, adjustments; disputes count as adjustments [unverified]);
- a payout is `scheduled` when created (00:00 UTC of its date) and `paid` from the next day.
[unverified]: the sort order of both lists (newest first here, by id upwards after
`since_id`); a payout webhook is not
established, so none is sent; processed_at is written in UTC.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, time, timedelta

from apps.emulators.base import Request
from apps.emulators.settlement import (
    Batch,
    Book,
    Movement,
    card_fee,
    returned_fee,
    weekday_payout_schedule,
)

from .rest import RestError
from .store import CURRENCY, cents_of, decimal_text, rest_time

SUMMARY_KINDS = {"charge": "charges", "refund": "refunds", "dispute": "adjustments",
                 "adjustment": "adjustments"}
DEFAULT_LIMIT, MAX_LIMIT = 50, 250


class PaymentsAccount:
    """The Shopify Payments balance of the shop: its ledger rows and payouts."""

    # Published Basic-plan rates: online 2.9% + 30c, in person 2.7% + 0c.
    fee_bps = 290
    fee_fixed = 30
    in_person_fee_bps = 270
    in_person_fee_fixed = 0
    refund_returns_fee = False
    chargeback_fee = 1500

    def __init__(self, next_id):
        self.next_id = next_id
        self.book = Book(weekday_payout_schedule(), lambda: str(next_id()))
        self.rows: dict[str, dict] = {}  # movement id -> its balance transaction
        self.rows_by_payout: dict[int, list[dict]] = {}
        self.charges: dict[int, Movement] = {}  # order id -> its charge
        self.payouts: dict[int, dict] = {}

    # -- money in and out ------------------------------------------------------------------

    def charge(self, order: dict, transaction: dict, *, in_person: bool = False) -> Movement:
        amount = cents_of(transaction["amount"])
        fee = (card_fee(amount, bps=self.in_person_fee_bps, fixed=self.in_person_fee_fixed)
               if in_person else card_fee(amount, bps=self.fee_bps, fixed=self.fee_fixed))
        charge = self._record("charge", order, transaction, amount, fee, source_type="charge",
                              source_id=transaction["id"])
        self.charges[order["id"]] = charge
        return charge

    def refund(self, order: dict, transaction: dict) -> Movement:
        amount = cents_of(transaction["amount"])
        fee = 0
        if self.refund_returns_fee:
            charge = self._charge_of(order["id"])
            if charge is not None:
                fee = -returned_fee(charge.fee, charge.gross, amount)
        return self._record("refund", order, transaction, -amount, fee, source_type="Payments::Refund",
                            source_id=transaction["id"])

    def dispute(self, order: dict, amount: int, at: datetime) -> Movement:
        charge = self._charge_of(order["id"])
        transaction = {"id": charge.refs["transaction_id"] if charge else None,
                       "processed_at": rest_time(at)}
        return self._record("dispute", order, transaction, -amount, self.chargeback_fee,
                            source_type="Payments::Dispute", source_id=self.next_id())

    def adjust_fee(self, amount: int, at: datetime, order: dict | None = None) -> Movement:
        """Shopify takes `amount` more cents in fees: an adjustment row, amount 0."""
        transaction = {"id": None, "processed_at": rest_time(at)}
        return self._record("adjustment", order, transaction, 0, amount, source_type="adjustment",
                            source_id=self.next_id())

    def _charge_of(self, order_id: int) -> Movement | None:
        return self.charges.get(order_id)

    def _record(self, kind: str, order: dict | None, transaction: dict, gross: int, fee: int, *,
                source_type: str, source_id) -> Movement:
        row_id = self.next_id()
        at = datetime.fromisoformat(transaction["processed_at"])
        movement = self.book.record(Movement(
            id=str(row_id), location="shop", kind=kind, at=at, gross=gross, fee=fee,
            refs={"order_id": order["id"] if order else None, "transaction_id": transaction["id"]}))
        self.rows[movement.id] = {
            "id": row_id, "type": kind, "test": False, "payout_id": None, "payout_status": "pending",
            "currency": CURRENCY, "amount": decimal_text(gross), "fee": decimal_text(fee),
            "net": decimal_text(gross - fee), "source_id": source_id, "source_type": source_type,
            "source_order_id": order["id"] if order else None,
            "source_order_transaction_id": transaction["id"],
            "processed_at": rest_time(at), "adjustment_order_transactions": None,
        }
        return movement

    # -- payouts ---------------------------------------------------------------------------

    def settle(self, through: datetime) -> tuple[list[dict], list[dict]]:
        """Payouts for every payout date that has begun by `through`; those whose date has
        passed are paid. Answers (created, newly paid)."""
        created = [self._payout(batch) for batch in self.book.settle(through)]
        paid = []
        for payout in self.payouts.values():
            day_after = datetime.combine(datetime.fromisoformat(payout["date"]).date() + timedelta(days=1),
                                         time(0), through.tzinfo)
            if payout["status"] == "scheduled" and through >= day_after:
                self._set_status(payout, "paid")
                paid.append(payout)
        return created, paid

    def _payout(self, batch: Batch) -> dict:
        payout_id = int(batch.id)
        summary = {f"{name}_{part}_amount": "0.00" for name in
                   ("adjustments", "charges", "refunds", "reserved_funds", "retried_payouts")
                   for part in ("fee", "gross")}
        for name in set(SUMMARY_KINDS.values()):
            kinds = [k for k, v in SUMMARY_KINDS.items() if v == name]
            summary[f"{name}_gross_amount"] = decimal_text(sum(batch.total(k) for k in kinds))
            summary[f"{name}_fee_amount"] = decimal_text(sum(batch.total(k, part="fee") for k in kinds))
        payout = {"id": payout_id, "status": "scheduled", "date": batch.window.paid_on.isoformat(),
                  "currency": CURRENCY, "amount": decimal_text(batch.amount),
                  "summary": dict(sorted(summary.items()))}
        self.payouts[payout_id] = payout
        own = self.rows_by_payout[payout_id] = []
        for movement in batch.movements:
            self.rows[movement.id]["payout_id"] = payout_id
            own.append(self.rows[movement.id])
        leg = self.next_id()
        self.rows[f"payout:{payout_id}"] = {
            "id": leg, "type": "payout", "test": False, "payout_id": payout_id,
            "payout_status": "scheduled", "currency": CURRENCY,
            "amount": decimal_text(-batch.amount), "fee": "0.00", "net": decimal_text(-batch.amount),
            "source_id": payout_id, "source_type": "payout", "source_order_id": None,
            "source_order_transaction_id": None, "processed_at": rest_time(batch.window.end),
            "adjustment_order_transactions": None,
        }
        own.append(self.rows[f"payout:{payout_id}"])
        self._set_status(payout, "scheduled")
        return payout

    def _set_status(self, payout: dict, status: str) -> None:
        payout["status"] = status
        for row in self.rows_by_payout[payout["id"]]:
            row["payout_status"] = status

    # -- REST reads ------------------------------------------------------------------------

    def list_payouts(self, request: Request) -> tuple[list[dict], dict | None]:
        filters = _page_filters(request, ("since_id", "last_id", "date_min", "date_max", "date",
                                          "status"))
        rows = _ordered(self.payouts.values(), filters, key=lambda p: (p["date"], p["id"]))
        rows = [p for p in rows if _id_window(p["id"], filters)
                and filters.get("date_min", "") <= p["date"] <= filters.get("date_max", "9999")
                and filters.get("date", p["date"]) == p["date"]
                and filters.get("status", p["status"]) == p["status"]]
        return _page(rows, filters)

    def list_transactions(self, request: Request) -> tuple[list[dict], dict | None]:
        filters = _page_filters(request, ("since_id", "last_id", "test", "payout_id", "payout_status"))
        rows = _ordered(self.rows.values(), filters, key=lambda r: (r["processed_at"], r["id"]))
        payout_id = filters.get("payout_id")
        rows = [r for r in rows if _id_window(r["id"], filters)
                and (payout_id is None or str(r["payout_id"]) == str(payout_id))
                and filters.get("payout_status", r["payout_status"]) == r["payout_status"]
                and filters.get("test", str(r["test"]).lower()) == str(r["test"]).lower()]
        return _page(rows, filters)

    def snapshot(self) -> dict:
        return {"payouts": [{"id": p["id"], "status": p["status"], "date": p["date"],
                             "amount": cents_of(p["amount"]),
                             "transactions": len(self.rows_by_payout[p["id"]]) - 1}
                            for p in self.payouts.values()],
                "balance_transactions": len(self.rows)}


def _page_filters(request: Request, names: tuple[str, ...]) -> dict:
    """The query's filters, or those a `page_info` cursor carries (Shopify: with page_info
    only `limit` may be given)."""
    page_info = request.arg("page_info")
    limit = request.arg("limit") or str(DEFAULT_LIMIT)
    if not limit.isdigit() or not 1 <= int(limit) <= MAX_LIMIT:
        raise RestError(400, {"limit": ["must be between 1 and 250"]})
    if page_info:
        try:
            filters = json.loads(base64.urlsafe_b64decode(page_info.encode()))
        except ValueError:
            raise RestError(400, {"page_info": ["is invalid"]}) from None
        return {**filters, "limit": int(limit)}
    return {**{name: request.arg(name) for name in names if request.arg(name) is not None},
            "limit": int(limit), "offset": 0}


def _ordered(rows, filters: dict, *, key) -> list[dict]:
    """Newest first; after `since_id`, by id upwards, so a reader can walk on with the
    largest id it has seen [unverified]."""
    if filters.get("since_id") is not None:
        return sorted(rows, key=lambda row: row["id"])
    return sorted(rows, key=key, reverse=True)


def _id_window(row_id: int, filters: dict) -> bool:
    since, last = filters.get("since_id"), filters.get("last_id")
    return (since is None or row_id > int(since)) and (last is None or row_id < int(last))


def _page(rows: list[dict], filters: dict) -> tuple[list[dict], dict | None]:
    """One page and the filters of the next (None on the last page)."""
    start, limit = filters.get("offset", 0), filters["limit"]
    following = None
    if start + limit < len(rows):
        following = {**{k: v for k, v in filters.items() if k != "limit"}, "offset": start + limit}
    return rows[start:start + limit], following


def page_info(filters: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(filters, sort_keys=True).encode()).decode()
