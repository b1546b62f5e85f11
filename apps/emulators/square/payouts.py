"""Square's money out: processing fees, BATCH payouts with their entries, the Payments and
Refunds lists, and the control calls that settle, dispute and adjust fees.

Shapes follow SQ-SPEC (`Payout`, `PayoutEntry`, `ListPayouts`, `ListPayoutEntries`,
`ListPayments`, `ListPaymentRefunds`) and PLATFORM_MONEY §1.1, §2.1, §3, §4.1, §5:
- every card payment is a CHARGE entry (gross = `total_money` with the tip, fee = its
  processing fee), every completed-or-pending refund a REFUND entry (gross negative, fee
  negative when the fee is given back), a dispute a DISPUTE entry, a fee adjustment a FEE
  entry (gross 0); entry `net = gross - fee`; a payout's amount is the sum of its entries;
- US sellers' payouts cover 5 PM Pacific to 5 PM Pacific (`payout_cutoff_*`); a payout is
  created (SENT, `payout.sent`) at the cut-off and PAID (`payout.paid`) on its
  `arrival_date`, the next weekday; a window with nothing to pay makes no payout (Square's
  amount is never 0), its entries roll into the next one.
[unverified] Payout Money uses `currency_code` as the docs' examples do (the schema says
`currency`; `payout_money_key`); the default `sort_order` of payout entries (ASC here);
that a dispute withholds with no fee; a Square-wide cut-off zone rather than the location's.
A mixin of SquareEmulator: it uses `locations`, `payments`, `refunds`, `send_event`.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apps.emulators.base import ControlError, Request, Response
from apps.emulators.settlement import (
    Batch,
    Book,
    Movement,
    card_fee,
    daily_cutoff_schedule,
    optional_instant,
    parse_instant,
    returned_fee,
)

from .support import (
    CURRENCY,
    decode_cursor,
    encode_cursor,
    invalid,
    not_found,
    now,
    parse_rfc3339,
    random_id,
    rfc3339,
)

MAX_PAGE = 100


class PayoutsMixin:
    # Published US rates: in person 2.6% + 15c, online (card not present) 2.9% + 30c.
    card_fee_bps = 260
    card_fee_fixed = 15
    online_fee_bps = 290
    online_fee_fixed = 30
    refund_returns_fee = True  # SQ-SPEC: PaymentRefund.processing_fee is negative
    payout_cutoff_zone = "America/Los_Angeles"
    payout_cutoff_hour = 17
    payout_money_key = "currency_code"
    bank_account_id = "bact:CONCORDDEMObank01"

    def card_fee(self, amount: int) -> int:
        return card_fee(amount, bps=self.card_fee_bps, fixed=self.card_fee_fixed)

    def online_card_fee(self, amount: int) -> int:
        return card_fee(amount, bps=self.online_fee_bps, fixed=self.online_fee_fixed)

    def reset_money(self) -> None:
        schedule = daily_cutoff_schedule(lambda _location: self.payout_cutoff_zone,
                                         self.payout_cutoff_hour)
        self.book = Book(schedule, lambda: f"po_{uuid.uuid4()}")
        self.payouts: dict[str, dict] = {}
        self.payout_entries: dict[str, list[dict]] = {}
        self.trace_numbers = itertools.count(2_100_000_001)

    # -- recording money ---------------------------------------------------------------------

    def record_charge(self, payment: dict, fee: int) -> None:
        if payment["source_type"] == "CASH":
            return  # cash never reaches Square's balance
        self.book.record(Movement(
            id=random_id(), location=payment["location_id"], kind="CHARGE",
            at=parse_rfc3339(payment["created_at"]), gross=payment["total_money"]["amount"],
            fee=fee, refs={"payment_id": payment["id"]}))

    def refund_fee(self, payment: dict, amount: int) -> int:
        """The processing fee a refund of `amount` gives back (0 if Square keeps it)."""
        if not self.refund_returns_fee:
            return 0
        fee = sum(item["amount_money"]["amount"] for item in payment.get("processing_fee") or [])
        return returned_fee(fee, payment["total_money"]["amount"], amount)

    def record_refund_money(self, refund: dict, payment: dict, returned: int) -> None:
        if payment["source_type"] == "CASH":
            return
        self.book.record(Movement(
            id=random_id(), location=refund["location_id"], kind="REFUND",
            at=parse_rfc3339(refund["created_at"]), gross=-refund["amount_money"]["amount"],
            fee=-returned, refs={"payment_id": payment["id"], "refund_id": refund["id"]}))

    # -- control calls -----------------------------------------------------------------------

    def settle(self, body: dict) -> dict:
        through = parse_instant(body.get("through"), "through")
        made = []
        for batch in self.book.settle(through):
            if batch.amount == 0:  # Square never pays 0: the entries wait for the next payout
                self._release(batch)
                continue
            made.append(self._open_payout(batch))
        paid = self._mark_paid(through)
        return {"payouts": made, "paid": [p["id"] for p in paid]}

    def _release(self, batch: Batch) -> None:
        for movement in batch.movements:
            movement.batch_id = None
        self.book.batches.remove(batch)

    def _open_payout(self, batch: Batch) -> dict:
        stamp = rfc3339(batch.window.end)
        payout = {
            "id": batch.id, "status": "SENT", "location_id": batch.location,
            "created_at": stamp, "updated_at": stamp, "amount_money": self._payout_money(batch.amount),
            "destination": {"type": "BANK_ACCOUNT", "id": self.bank_account_id}, "version": 1,
            "type": "BATCH", "payout_fee": [], "arrival_date": batch.window.paid_on.isoformat(),
            "end_to_end_id": f"L{next(self.trace_numbers)}",
        }
        self.payouts[payout["id"]] = payout
        self.payout_entries[payout["id"]] = [self._entry(payout["id"], m) for m in batch.movements]
        self._payout_event("payout.sent", payout)
        return payout

    def _mark_paid(self, through: datetime) -> list[dict]:
        """SENT payouts whose arrival date has begun (Pacific) are PAID."""
        today = through.astimezone(ZoneInfo(self.payout_cutoff_zone)).date().isoformat()
        paid = []
        for payout in self.payouts.values():
            if payout["status"] == "SENT" and payout["arrival_date"] <= today:
                payout.update(status="PAID", version=payout["version"] + 1,
                              updated_at=rfc3339(max(through, parse_rfc3339(payout["created_at"]))))
                self._payout_event("payout.paid", payout)
                paid.append(payout)
        return paid

    def open_dispute(self, body: dict) -> dict:
        """A cardholder disputes `amount` cents of a payment: Square withholds it (a DISPUTE
        entry, no fee) in the payout after `created_at` (default now)."""
        payment = self.payments.get(body.get("payment_id"))
        if payment is None:
            raise ControlError(f"unknown payment {body.get('payment_id')!r}", 404)
        amount = _positive_cents(body.get("amount", payment["total_money"]["amount"]))
        dispute_id = random_id(22)
        self.book.record(Movement(
            id=random_id(), location=payment["location_id"], kind="DISPUTE",
            at=optional_instant(body) or now(), gross=-amount, fee=0,
            refs={"payment_id": payment["id"], "dispute_id": dispute_id}))
        return {"dispute_id": dispute_id, "payment_id": payment["id"], "amount": amount}

    def adjust_fee(self, body: dict) -> dict:
        """Square takes `amount` more cents of fees (negative: gives some back): a FEE entry
        with gross 0, in the payout after `created_at` (default now)."""
        location_id = self.resolve_location(body.get("location") or next(iter(self.locations), None))
        amount = body.get("amount")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount == 0:
            raise ControlError("amount must be a non-zero integer (cents)")
        refs = {"payment_id": body["payment_id"]} if body.get("payment_id") else {}
        movement = self.book.record(Movement(
            id=random_id(), location=location_id, kind="FEE", at=optional_instant(body) or now(),
            gross=0, fee=amount, refs=refs))
        return {"location_id": location_id, "amount": amount, "entry_id": movement.id}

    # -- endpoints ---------------------------------------------------------------------------

    def money_routes(self) -> list:
        return [
            ("GET", r"/v2/payments", self.list_payments),
            ("GET", r"/v2/refunds", self.list_refunds),
            ("GET", r"/v2/payouts", self.list_payouts),
            ("GET", r"/v2/payouts/(?P<payout_id>[^/]+)", self.retrieve_payout),
            ("GET", r"/v2/payouts/(?P<payout_id>[^/]+)/payout-entries", self.list_payout_entries),
        ]

    def list_payments(self, request: Request) -> Response:
        """ListPayments: the main location unless `location_id`, `created_at` in
        [begin_time, end_time) (defaults now-1y, now), newest first unless ASC."""
        location_id = request.arg("location_id") or self._main_location()
        payments = [p for p in self.payments.values() if p["location_id"] == location_id
                    and _in_range(p["created_at"], request)]
        return self._page(request, "payments", payments, default_order="DESC")

    def list_refunds(self, request: Request) -> Response:
        """ListPaymentRefunds: every location unless `location_id`; `status`, `source_type`."""
        location_id, status = request.arg("location_id"), request.arg("status")
        source_type = request.arg("source_type")
        refunds = [r for r in self.refunds.values()
                   if location_id in (None, r["location_id"]) and status in (None, r["status"])
                   and source_type in (None, self.payments[r["payment_id"]]["source_type"])
                   and _in_range(r["created_at"], request)]
        return self._page(request, "refunds", refunds, default_order="DESC")

    def list_payouts(self, request: Request) -> Response:
        location_id = request.arg("location_id") or self._main_location()
        status = request.arg("status")
        if status not in (None, "SENT", "FAILED", "PAID"):
            raise invalid("INVALID_ENUM_VALUE", f"`{status}` is not a valid PayoutStatus.", "status")
        payouts = [p for p in self.payouts.values() if p["location_id"] == location_id
                   and status in (None, p["status"]) and _in_range(p["created_at"], request)]
        return self._page(request, "payouts", payouts, default_order="DESC")

    def retrieve_payout(self, request: Request) -> Response:
        return Response.json(200, {"payout": self._payout(request)})

    def list_payout_entries(self, request: Request) -> Response:
        entries = self.payout_entries[self._payout(request)["id"]]
        return self._page(request, "payout_entries", entries, default_order="ASC",
                          key="effective_at")

    def _payout(self, request: Request) -> dict:
        payout = self.payouts.get(request.params["payout_id"])
        if payout is None:
            raise not_found(f"Payout `{request.params['payout_id']}` not found.")
        return payout

    def _main_location(self) -> str | None:
        return next(iter(self.locations), None)

    def _page(self, request: Request, name: str, rows: list[dict], *, default_order: str,
              key: str = "created_at") -> Response:
        order = (request.arg("sort_order") or default_order).upper()
        if order not in ("ASC", "DESC"):
            raise invalid("INVALID_ENUM_VALUE", f"`{order}` is not a valid SortOrder.", "sort_order")
        limit_text = request.arg("limit") or str(MAX_PAGE)
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_PAGE:
            raise invalid("INVALID_VALUE", f"limit must be between 1 and {MAX_PAGE}.", "limit")
        limit = int(limit_text)
        rows = sorted(rows, key=lambda row: (row[key], row["id"]), reverse=order == "DESC")
        start = decode_cursor(request.arg("cursor"), len(rows))
        body: dict = {}
        if rows[start:start + limit]:
            body[name] = rows[start:start + limit]
        if start + limit < len(rows):
            body["cursor"] = encode_cursor(start + limit)
        return Response.json(200, body)

    # -- shapes ------------------------------------------------------------------------------

    def _payout_money(self, amount: int) -> dict:
        return {"amount": amount, self.payout_money_key: CURRENCY}

    def _entry(self, payout_id: str, movement: Movement) -> dict:
        entry = {
            "id": f"poe_{random_id(26)}", "payout_id": payout_id,
            "effective_at": rfc3339(movement.at), "type": movement.kind,
            "gross_amount_money": self._payout_money(movement.gross),
            "fee_amount_money": self._payout_money(movement.fee),
            "net_amount_money": self._payout_money(movement.net),
        }
        details = {key: movement.refs[key] for key in ("payment_id", "refund_id", "dispute_id")
                   if key in movement.refs}
        entry[f"type_{movement.kind.lower()}_details"] = details
        return entry

    def _payout_event(self, event_type: str, payout: dict) -> None:
        self.send_event(event_type, "payout", payout["id"], {"payout": dict(payout)},
                        location_id=payout["location_id"])

    def money_snapshot(self) -> dict:
        return {
            "payouts": [{"id": p["id"], "location_id": p["location_id"], "status": p["status"],
                         "amount": p["amount_money"]["amount"], "arrival_date": p["arrival_date"],
                         "created_at": p["created_at"],
                         "entries": len(self.payout_entries[p["id"]])}
                        for p in self.payouts.values()],
            "pending_entries": len(self.book.pending()),
        }


def _positive_cents(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ControlError("amount must be a positive integer (cents)")
    return value


def _in_range(stamp: str, request: Request) -> bool:
    moment = parse_rfc3339(stamp)
    begin = _time_arg(request, "begin_time") or now() - timedelta(days=365)
    end = _time_arg(request, "end_time") or now()
    return begin <= moment < end


def _time_arg(request: Request, name: str) -> datetime | None:
    raw = request.arg(name)
    if raw is None:
        return None
    moment = parse_rfc3339(raw)
    if moment is None:
        raise invalid("INVALID_TIME", "Invalid RFC 3339 timestamp.", name)
    return moment
