"""Toast's money out: card deposits per business date and the files finance downloads.

Toast has no deposit API for Concord (PLATFORM_MONEY §0.3, §4.4), so deposits exist here as
the merchant sees them in Toast Web and its exports:
- a restaurant's card payments (amount + tip, fee = `originalProcessingFee`) and card
  refunds settle per business date (the day starting at `closeoutHour` in the
  restaurant's zone); the batch is captured at closeout and deposited the next business
  day when captured before 9:30 PM Eastern, else a day later (`deposit_cutoff`);
- deposit = card sales + card tips - card refunds - card fees (and fee adjustments, as
  Toast's "Fee Adjustments" lines true up its daily estimates); cash never deposits;
- a refund whose sale was already deposited falls in the deposit of its refund business
  date, as a negative amount;
- `GET /__emulator/exports/toast/PaymentDetails.csv?location=&business_date=YYYYMMDD`: the
  nightly export, one row per payment paid that business date, with the columns of Toast's
  "Payments data export" field reference (§4.4 lists the first of them; the rest, ending in
  `Last 4 Card Digits, Receipt, V/MC/D Fees` ("CC processing fees for payment"), from
  doc.toasttab.com/doc/platformguide/adminDataExportFieldReference.html, and the same names
  in public parsers of real exports); dates `MM/DD/YYYY HH:MM:SS`, local time. The card fee
  is the payment's `originalProcessingFee`;
- `GET /__emulator/exports/toast/payouts.csv?from=YYYY-MM-DD&to=YYYY-MM-DD`: Payouts
  Overview by settled date, its columns the Analytics API's settled-date rows (restaurant,
  settled date, sales date(s), transactions, payments, refunds, fees, withholdings, payout
  amount = payments - refunds - fees - withholdings, status).
The deposit status words are the Analytics API's `payoutStatus` (CAPTURED, then SENT on the
settled date; Toast's reporting data definitions, PayoutSettledDateReportingData).
[unverified]: the Payouts Overview download's header (its help article names only Settled
Date and Sales Date(s)) and whether it writes the same status words; the `Refunded` column's
words (documented only as "Status of Refund"); that `Payment Id` is the API's payment guid
(the field reference types it Long); that Toast keeps its fee on refunds
(`refund_returns_fee`). Real files also carry columns the reference does not list (Room
Info, Source, gift card digits [sec: public parsers]); they are left out here.
A mixin of ToastEmulator: it uses `restaurants`, `orders`.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from apps.emulators.base import ControlError, Request
from apps.emulators.settlement import (
    Batch,
    Book,
    Movement,
    daily_cutoff_schedule,
    next_weekday,
    optional_instant,
    parse_day,
    parse_instant,
    returned_fee,
)

PAYMENT_DETAILS_COLUMNS = (
    "Location", "Payment Id", "Order Id", "Order #", "Paid Date", "Order Date", "Check Id",
    "Check #", "Tab Name", "Server", "Table", "Dining Area", "Service", "Dining Option",
    "House Acct #", "Amount", "Tip", "Gratuity", "Total", "Swiped Card Amount",
    "Keyed Card Amount", "Amount Tendered", "Refunded", "Refund Date", "Refund Amount",
    "Refund Tip Amount", "Void User", "Void Approver", "Void Date", "Status", "Type",
    "Cash Drawer", "Card Type", "Other Type", "Email", "Phone", "Last 4 Card Digits", "Receipt",
    "V/MC/D Fees",
)
PAYOUTS_COLUMNS = (
    "Restaurant", "Restaurant GUID", "Location Code", "Settled Date", "Sales Date(s)",
    "Transaction Count", "Payments", "Refunds", "Fees", "Withholdings", "Payout Amount",
    "Payout Status",
)
TYPE_WORDS = {"CREDIT": "Credit", "CASH": "Cash", "GIFTCARD": "Gift Card", "OTHER": "Other",
              "HOUSE_ACCOUNT": "House Account"}
CARD_WORDS = {"VISA": "Visa", "MASTERCARD": "Mastercard", "AMEX": "Amex", "DISCOVER": "Discover"}


class DepositsMixin:
    refund_returns_fee = False
    deposit_cutoff_zone = "America/New_York"
    deposit_cutoff = (21, 30)  # batches captured from 9:30 PM Eastern deposit a day later

    def reset_money(self) -> None:
        schedule = daily_cutoff_schedule(
            lambda guid: self.restaurants[guid].timezone,
            lambda guid: self.restaurants[guid].closeout_hour, pay_date=self._deposit_date)
        self.book = Book(schedule, lambda: str(uuid.uuid4()))
        self.deposits: dict[str, dict] = {}

    def _deposit_date(self, captured: datetime, _guid: str) -> date:
        eastern = captured.astimezone(ZoneInfo(self.deposit_cutoff_zone))
        day = next_weekday(eastern.date())
        return next_weekday(day) if (eastern.hour, eastern.minute) >= self.deposit_cutoff else day

    # -- recording money ---------------------------------------------------------------------

    def record_card_payments(self, restaurant_guid: str, order: dict) -> None:
        for check in order["checks"]:
            for payment in check["payments"]:
                if payment["type"] != "CREDIT" or payment["guid"] in self.book.by_id:
                    continue
                gross = _cents(payment["amount"]) + _cents(payment["tipAmount"])
                self.book.record(Movement(
                    id=payment["guid"], location=restaurant_guid, kind="PAYMENT",
                    at=_instant(payment["paidDate"]), gross=gross,
                    fee=_cents(payment["originalProcessingFee"] or 0),
                    refs={"business_date": payment["paidBusinessDate"], "order": order["guid"]}))

    def record_card_refund(self, restaurant_guid: str, order: dict, amount: int) -> None:
        payment = next((p for c in order["checks"] for p in c["payments"]), None)
        if payment is None or payment["type"] != "CREDIT":
            return
        refund = payment["refund"]
        fee = 0
        if self.refund_returns_fee:
            paid = _cents(payment["amount"]) + _cents(payment["tipAmount"])
            fee = -returned_fee(_cents(payment["originalProcessingFee"] or 0), paid, amount)
        self.book.record(Movement(
            id=str(uuid.uuid4()), location=restaurant_guid, kind="REFUND",
            at=_instant(refund["refundDate"]), gross=-amount, fee=fee,
            refs={"business_date": refund["refundBusinessDate"], "order": order["guid"],
                  "payment": payment["guid"]}))

    # -- control calls -----------------------------------------------------------------------

    def settle(self, body: dict) -> dict:
        through = parse_instant(body.get("through"), "through")
        made = [self._deposit(batch) for batch in self.book.settle(through)]
        sent = []
        for deposit in self.deposits.values():
            if deposit["status"] == "CAPTURED" and deposit["settled_date"] <= _eastern_day(through):
                deposit["status"] = "SENT"
                sent.append(deposit["id"])
        return {"deposits": made, "sent": sent}

    def adjust_fee(self, body: dict) -> dict:
        """Toast trues up its estimated fees by `amount` cents on a restaurant's deposit."""
        restaurant = self._restaurant_named(body.get("location"))
        amount = body.get("amount")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount == 0:
            raise ControlError("amount must be a non-zero integer (cents)")
        at = optional_instant(body) or datetime.now(tz=ZoneInfo("UTC"))
        self.book.record(Movement(id=str(uuid.uuid4()), location=restaurant.guid, kind="FEE_ADJUSTMENT",
                                  at=at, gross=0, fee=amount, refs={"business_date": None}))
        return {"location": restaurant.code, "amount": amount}

    def _deposit(self, batch: Batch) -> dict:
        restaurant = self.restaurants[batch.location]
        sales_dates = sorted({m.refs["business_date"] for m in batch.movements
                              if m.refs.get("business_date")})
        deposit = {
            "id": batch.id, "restaurant_guid": restaurant.guid, "location": restaurant.code,
            "business_date": int((batch.window.key - timedelta(days=1)).strftime("%Y%m%d")),
            "sales_dates": sales_dates, "captured_at": batch.window.end.isoformat(),
            "settled_date": batch.window.paid_on.isoformat(),
            "transaction_count": sum(1 for m in batch.movements if m.kind in ("PAYMENT", "REFUND")),
            "payments": batch.total("PAYMENT"), "refunds": -batch.total("REFUND"),
            "fees": batch.total(part="fee"), "withholdings": 0, "amount": batch.amount,
            "status": "CAPTURED",
        }
        self.deposits[deposit["id"]] = deposit
        return deposit

    # -- the files ---------------------------------------------------------------------------

    def exports(self) -> dict:
        return {"exports/toast/PaymentDetails.csv": self.payment_details_csv,
                "exports/toast/payouts.csv": self.payouts_csv}

    def payment_details_csv(self, request: Request) -> str:
        restaurant = self._restaurant_named(request.arg("location"))
        business_date = int(parse_day(request.arg("business_date"), "business_date").strftime("%Y%m%d"))
        zone = ZoneInfo(restaurant.timezone)
        rows = []
        for stored in self.orders.values():
            if stored.restaurant_guid != restaurant.guid:
                continue
            for check in stored.doc["checks"]:
                for payment in check["payments"]:
                    if payment["paidBusinessDate"] == business_date:
                        rows.append(_payment_row(restaurant, stored.doc, check, payment, zone))
        rows.sort(key=lambda row: (row[4], row[1]))
        return _csv(PAYMENT_DETAILS_COLUMNS, rows)

    def payouts_csv(self, request: Request) -> str:
        low = parse_day(request.arg("from"), "from") if request.arg("from") else date.min
        high = parse_day(request.arg("to"), "to") if request.arg("to") else date.max
        rows = []
        for deposit in sorted(self.deposits.values(),
                              key=lambda d: (d["settled_date"], d["location"], d["business_date"])):
            if not low <= date.fromisoformat(deposit["settled_date"]) <= high:
                continue
            restaurant = self.restaurants[deposit["restaurant_guid"]]
            rows.append([
                restaurant.name, restaurant.guid, restaurant.code,
                _us_day(date.fromisoformat(deposit["settled_date"])),
                ", ".join(_us_day(datetime.strptime(str(d), "%Y%m%d").date())
                          for d in deposit["sales_dates"]),
                deposit["transaction_count"], _money(deposit["payments"]), _money(deposit["refunds"]),
                _money(deposit["fees"]), _money(deposit["withholdings"]), _money(deposit["amount"]),
                deposit["status"],
            ])
        return _csv(PAYOUTS_COLUMNS, rows)

    def money_snapshot(self) -> dict:
        return {"payouts": sorted(self.deposits.values(), key=lambda d: (d["settled_date"], d["location"])),
                "pending_deposit_lines": len(self.book.pending())}


def _payment_row(restaurant, order: dict, check: dict, payment: dict, zone: ZoneInfo) -> list:
    amount, tip = _cents(payment["amount"]), _cents(payment["tipAmount"])
    refund = payment.get("refund") or {}
    void = payment.get("voidInfo") or {}
    card = payment["type"] == "CREDIT"
    return [
        restaurant.name, payment["guid"], order["guid"], check["displayNumber"],
        _local(payment["paidDate"], zone), _local(order.get("openedDate") or check["openedDate"], zone),
        check["guid"], check["displayNumber"], check.get("tabName") or "", "", "", "", "",
        "", "", _money(amount), _money(tip), _money(0), _money(amount + tip),
        _money(amount + tip if card else 0), _money(0),
        _money(_cents(payment["amountTendered"]) if payment.get("amountTendered") else amount + tip),
        "Yes" if payment["refundStatus"] in ("PARTIAL", "FULL") else "No",
        _local(refund.get("refundDate"), zone), _money(_cents(refund.get("refundAmount") or 0)),
        _money(_cents(refund.get("tipRefundAmount") or 0)), "", "",
        _local(void.get("voidDate"), zone), payment["paymentStatus"] or "",
        TYPE_WORDS.get(payment["type"], payment["type"].title()), "",
        CARD_WORDS.get(payment.get("cardType") or "", payment.get("cardType") or ""),
        "", "", "", payment.get("last4Digits") or "", "",
        _money(_cents(payment["originalProcessingFee"] or 0) if card else 0),
    ]


def _csv(columns: tuple[str, ...], rows: list[list]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue()


def _cents(value) -> int:
    return int((Decimal(str(value)) * 100).to_integral_value())


def _money(cents: int) -> str:
    return f"{Decimal(cents) / 100:.2f}"


def _instant(toast_stamp: str) -> datetime:
    return datetime.strptime(toast_stamp, "%Y-%m-%dT%H:%M:%S.%f%z")


def _local(toast_stamp: str | None, zone: ZoneInfo) -> str:
    return _instant(toast_stamp).astimezone(zone).strftime("%m/%d/%Y %H:%M:%S") if toast_stamp else ""


def _us_day(day: date) -> str:
    return day.strftime("%m/%d/%Y")


def _eastern_day(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo("America/New_York")).date().isoformat()
