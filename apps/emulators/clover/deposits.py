"""Clover's money out: card deposits per batch closeout, and the deposit report finance
downloads. Clover puts no fee on a Payment (PLATFORM_MONEY §1.3, §3) and its Funding API is
beta (§4.3), so fees and deposits exist here as the merchant's deposit report shows them:
- a merchant's card payments (amount + tip) and card refunds settle per batch: from one
  closeout to the next (`batch_closeout_hour`, local time; midnight by default, so a batch
  is the reporting day unless told otherwise) and are funded the next weekday;
- the processor takes its discount per batch: `card_fee_bps` + `card_fee_fixed` per card
  payment (2.3% + 10c); refunds keep the fee (`refund_returns_fee`); a fee adjustment
  (`POST /__emulator/fee-adjustment`) lands in the next batch;
- `GET /__emulator/exports/clover/deposits.csv?from=YYYY-MM-DD&to=YYYY-MM-DD`: one row per
  deposit funded in the range: merchant, date funded, start and end of the batch (local),
  amount submitted (sales + tips - refunds), fees, amount transferred = submitted - fees,
  and the Funding API's card-type breakdown of the amount submitted.
[unverified]: the closeout hour; the fee rate (Clover's own docs and help pages we hold
state none; third-party pricing summaries give 2.3-2.6% + 10c in person and 3.5% + 10c
keyed [sec], so 2.3% + 10c is one plausible plan's, not Clover's); the report's header (the
Funding API's field names, §4.3: no public parser or sample of Clover's deposit or
transactions export was found); the card type words (CLV-SDK `CardType`).
A mixin of CloverEmulator: it uses `merchants`, `orders`.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from apps.emulators.base import ControlError, Request
from apps.emulators.settlement import (
    Batch,
    Book,
    Movement,
    card_fee,
    daily_cutoff_schedule,
    optional_instant,
    parse_day,
    parse_instant,
    returned_fee,
)

from .data import new_id

CARD_TYPES = ("VISA", "MC", "AMEX", "DISCOVER")
DEPOSIT_COLUMNS = ("Merchant Id", "Merchant Name", "Date Funded", "Start Date", "End Date",
                   "Amount Submitted", "Fees", "Amount Transferred", "Reference",
                   *(f"{card} Submitted" for card in CARD_TYPES))


class DepositsMixin:
    card_fee_bps = 230
    card_fee_fixed = 10
    refund_returns_fee = False
    batch_closeout_hour = 0

    def reset_money(self) -> None:
        schedule = daily_cutoff_schedule(lambda mid: self.merchants[mid].timezone,
                                         lambda _mid: self.batch_closeout_hour)
        self.book = Book(schedule, new_id)
        self.deposits: dict[str, dict] = {}

    def card_fee(self, amount: int) -> int:
        return card_fee(amount, bps=self.card_fee_bps, fixed=self.card_fee_fixed)

    # -- recording money ---------------------------------------------------------------------

    def record_card_payment(self, merchant_id: str, payment: dict) -> None:
        if payment["tender"]["labelKey"] != "com.clover.tender.credit_card":
            return
        gross = payment["amount"] + (0 if self.payment_amount_includes_tip else payment["tipAmount"])
        self.book.record(Movement(
            id=payment["id"], location=merchant_id, kind="PAYMENT", at=_moment(payment["createdTime"]),
            gross=gross, fee=self.card_fee(gross),
            refs={"card_type": payment.get("cardTransaction", {}).get("cardType", "VISA")}))

    def record_card_refund(self, merchant_id: str, payment: dict, refund: dict) -> None:
        charge = self.book.by_id.get(payment["id"])
        if charge is None:
            return  # cash: nothing was deposited
        fee = -returned_fee(charge.fee, charge.gross, refund["amount"]) if self.refund_returns_fee else 0
        self.book.record(Movement(
            id=refund["id"], location=merchant_id, kind="REFUND", at=_moment(refund["createdTime"]),
            gross=-refund["amount"], fee=fee, refs={"card_type": charge.refs["card_type"]}))

    # -- control calls -----------------------------------------------------------------------

    def settle(self, body: dict) -> dict:
        through = parse_instant(body.get("through"), "through")
        return {"deposits": [self._deposit(batch) for batch in self.book.settle(through)]}

    def adjust_fee(self, body: dict) -> dict:
        merchant = self._merchant_named(body.get("location"))
        amount = body.get("amount")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount == 0:
            raise ControlError("amount must be a non-zero integer (cents)")
        self.book.record(Movement(id=new_id(), location=merchant.id, kind="FEE_ADJUSTMENT",
                                  at=optional_instant(body) or datetime.now(UTC), gross=0, fee=amount))
        return {"location": merchant.code, "amount": amount}

    def _deposit(self, batch: Batch) -> dict:
        merchant = self.merchants[batch.location]
        zone = ZoneInfo(merchant.timezone)
        by_card = {card: sum(m.gross for m in batch.movements if m.refs.get("card_type") == card)
                   for card in CARD_TYPES}
        deposit = {
            "id": batch.id, "merchant_id": merchant.id, "location": merchant.code,
            "date_funded": batch.window.paid_on.isoformat(),
            "start": batch.window.start.astimezone(zone).isoformat(),
            "end": batch.window.end.astimezone(zone).isoformat(),
            "amount_submitted": batch.total(), "fees": batch.total(part="fee"),
            "amount_transferred": batch.amount, "card_types": by_card,
            "transactions": len(batch.movements),
        }
        self.deposits[deposit["id"]] = deposit
        return deposit

    # -- the file ----------------------------------------------------------------------------

    def exports(self) -> dict:
        return {"exports/clover/deposits.csv": self.deposits_csv}

    def deposits_csv(self, request: Request) -> str:
        low = parse_day(request.arg("from"), "from") if request.arg("from") else date.min
        high = parse_day(request.arg("to"), "to") if request.arg("to") else date.max
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(DEPOSIT_COLUMNS)
        for deposit in sorted(self.deposits.values(), key=lambda d: (d["date_funded"], d["location"])):
            if not low <= date.fromisoformat(deposit["date_funded"]) <= high:
                continue
            merchant = self.merchants[deposit["merchant_id"]]
            writer.writerow([
                merchant.id, merchant.name, _us_day(deposit["date_funded"]),
                _us_moment(deposit["start"]), _us_moment(deposit["end"]),
                _money(deposit["amount_submitted"]), _money(deposit["fees"]),
                _money(deposit["amount_transferred"]), deposit["id"],
                *(_money(deposit["card_types"][card]) for card in CARD_TYPES),
            ])
        return out.getvalue()

    def money_snapshot(self) -> dict:
        return {"payouts": sorted(self.deposits.values(), key=lambda d: (d["date_funded"], d["location"])),
                "pending_deposit_lines": len(self.book.pending())}


def _moment(epoch_ms: int) -> datetime:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC)


def _money(cents: int) -> str:
    return f"{Decimal(cents) / 100:.2f}"


def _us_day(iso_day: str) -> str:
    return date.fromisoformat(iso_day).strftime("%m/%d/%Y")


def _us_moment(iso_moment: str) -> str:
    return datetime.fromisoformat(iso_moment).strftime("%m/%d/%Y %H:%M")
