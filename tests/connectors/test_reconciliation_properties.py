"""Property: random days of sales (card and cash, with tips, near the business-day cut-off
and midnight UTC), partial refunds at the register on the day or later, a return taken at
another store through Concord, disputes and fee adjustments, settled step by step on each
platform's own schedule, made at the emulators over HTTP and brought into Concord the way
production does (webhooks, polls, the money readers, the Toast export imported), for Square,
Shopify Payments and Toast. Whatever the history, every day's classified lines add up to its
difference (sold - paid out), no day is left unexplained, the fees, cash, chargebacks,
adjustments and money in transit are what the platform made them, and the reconciliation's
and the channel report's CSV and XLSX totals equal the page's figures to the cent.

Each example starts from emptied emulators and an emptied Concord (the demo merchant and
its mappings kept)."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from apps.connectors.models import PlatformConnection
from apps.connectors.pos_common import merge_connection_settings
from apps.connectors.services.money import read_all_money
from apps.connectors.toast import poller as toast_poller
from apps.inventory.models import Location, StockLevel
from apps.orders.enums import OrderStatus
from apps.orders.exceptions import ExceedsRefundable
from apps.orders.models import Order
from apps.reports import reconciliation_selectors, rollup
from apps.reports.business_day import day_start, location_day
from apps.reports.enums import ReconciliationClass as C
from apps.reports.enums import ReconciliationStatus
from apps.reports.models import ReconciliationDay
from apps.reports.reconciliation import reconcile_days
from apps.reports.selectors import channel_report, figures_document
from apps.reports.services import import_deposit_file
from apps.returns.enums import RefundPartStatus
from apps.returns.models import RefundPart
from apps.returns.services import ReturnLineInput, refund_order
from tests.connectors.connector_support import control as control_at
from tests.connectors.connector_support import drain
from tests.connectors.sync_helpers import wait_until
from tests.connectors.test_money_readers_e2e import export
from tests.connectors.test_platform_money import shopify, square, toast  # noqa: F401 (fixtures)
from tests.connectors.test_square_connector import settle as run_engine
from tests.reports.conftest import staff

pytestmark = pytest.mark.django_db(transaction=True)

FOOD = ("BURRITO", "TACO-ASADA", "QUESADILLA", "NACHOS", "ELOTE", "CHURROS", "TAMALE")
DAYS = 3  # the history's business days, the last of them two days before today
EXAMPLES = settings(max_examples=8, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# -- the history ----------------------------------------------------------------------------------

# A moment: a business day of the history, where in it (anywhere, or a few minutes either side
# of midnight UTC, of the store's day start, or of the platform's settlement cut-off).
moments = st.tuples(st.integers(0, DAYS - 1), st.sampled_from(["any", "utc_midnight", "day_start", "cutoff"]),
                    st.integers(-20, 20), st.integers(0, 24 * 60 - 1))
sales = st.lists(st.fixed_dictionaries({
    "at": moments, "sku": st.sampled_from(FOOD), "quantity": st.integers(1, 3),
    "tip": st.sampled_from([0, 0, 100, 275]), "cash": st.booleans(),
}), min_size=1, max_size=6)
refunds = st.lists(st.fixed_dictionaries({
    "sale": st.integers(0, 5), "share": st.integers(1, 100), "after": st.integers(1, 2 * 24 * 60),
}), max_size=3)
troubles = st.lists(st.fixed_dictionaries({
    "kind": st.sampled_from(["dispute", "fee_adjustment"]), "sale": st.integers(0, 5),
    "share": st.integers(1, 100), "after": st.integers(1, 24 * 60), "amount": st.integers(-300, 300),
}), max_size=2)
histories = st.fixed_dictionaries({
    "sales": sales, "refunds": refunds, "troubles": troubles,
    "settles": st.lists(moments, max_size=3),
    "returns_elsewhere": st.lists(st.integers(0, 5), max_size=2, unique=True),
    "paid_out_at_last": st.booleans(),
})


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Sold:
    """A sale as rung: where it is at the platform and in Concord."""

    at: datetime
    ids: dict
    cash: bool
    order: Order | None = None


@dataclass
class Played:
    """What a history made: the sales and, per kind, what the test did."""

    first_day: date
    sales: dict[int, Sold] = field(default_factory=dict)  # by the sale's place in the history
    rung: list[dict] = field(default_factory=list)  # the history's sales as the platform took them
    refunded: int = 0
    disputes: int = 0
    fee_adjustments: int = 0


class Driver:
    """One platform's side of a history: ring, refund, settle and bring it into Concord."""

    platform = ""
    location = ""
    cutoff: tuple[str, int, int] = ("UTC", 0, 0)  # the settlement cut-off: zone, hour, minute
    refund_elsewhere = True  # a return at another store gives the money back through the platform

    def __init__(self, emulator):
        self.emulator = emulator

    def sale(self, at: datetime, sale: dict) -> dict:
        raise NotImplementedError

    def refundable(self, ids: dict) -> int:
        raise NotImplementedError

    def refund(self, ids: dict, amount: int, at: datetime) -> None:
        control_at(self.emulator, "POST", "refund", {"order_id": ids["order_id"], "amount": amount,
                                                     "created_at": stamp(at)})

    def trouble(self, kind: str, ids: dict, amount: int, at: datetime) -> bool:
        """A dispute of `amount` of a card sale or a fee adjustment; False if the platform has
        none."""
        return False

    def settle(self, through: datetime) -> None:
        control_at(self.emulator, "POST", "settle", {"through": stamp(through)})

    def prepare(self) -> None:
        """Concord as it stands when the history starts (a poller already running)."""

    def adapt(self, sale: dict) -> dict:
        """The sale as this platform can take it."""
        return sale

    def refunded(self) -> None:
        """A refund was made: what Concord does meanwhile (webhooks simply queue)."""

    def bring_in(self) -> None:
        raise NotImplementedError

    def order_of(self, ids: dict) -> Order:
        return Order.objects.get(external_id=str(ids["order_id"]))


def instant(spec: tuple, first_day: date, location: Location, cutoff: tuple[str, int, int]) -> datetime:
    day_index, where, jitter, minute = spec
    day = first_day + timedelta(days=day_index)
    if where == "any":
        return day_start(day, zone=location.timezone, starts_at=location.business_day_starts_at) \
            + timedelta(minutes=minute)
    if where == "utc_midnight":
        anchor = datetime.combine(day + timedelta(days=1), time(0), UTC)
    elif where == "day_start":
        anchor = day_start(day + timedelta(days=1), zone=location.timezone,
                           starts_at=location.business_day_starts_at)
    else:
        zone, hour, minute_of_hour = cutoff
        anchor = datetime.combine(day, time(hour, minute_of_hour), ZoneInfo(zone)).astimezone(UTC)
    return anchor + timedelta(minutes=jitter)


def play(driver: Driver, history: dict) -> Played:
    """Ring the history in time order (settling as the clock passes each settle point), then
    the returns taken at another store through Concord (now), then bring it all in."""
    location = Location.objects.get(code=driver.location)
    now = timezone.now()
    first_day = location_day(now, location) - timedelta(days=DAYS + 1)
    played = Played(first_day=first_day)
    latest = now - timedelta(minutes=2)
    driver.prepare()
    played.rung = [driver.adapt(sale) for sale in history["sales"]]

    def when(spec) -> datetime:
        return min(instant(spec, first_day, location, driver.cutoff), latest)

    events: list[tuple[datetime, int, Callable[[], None]]] = []
    for index, sale in enumerate(played.rung):
        at = when(sale["at"])
        events.append((at, 0, lambda index=index, sale=sale, at=at: ring(driver, played, index, at, sale)))
    for number, each in enumerate(history["refunds"] + history["troubles"]):
        index = each["sale"] % len(history["sales"])
        # Never two at the same instant (a platform's versions of an order differ in time).
        at = min(when(history["sales"][index]["at"]) + timedelta(minutes=each["after"], seconds=number),
                 latest - timedelta(seconds=10 - number))
        events.append((at, 1, lambda each=each, index=index, at=at: after_sale(driver, played, index, each,
                                                                                at)))
    for spec in history["settles"]:
        at = when(spec)
        events.append((at, 2, lambda at=at: driver.settle(at)))
    for at, kind, event in sorted(events, key=lambda e: (e[0], e[1])):
        note(f"{stamp(at)} {('sale', 'after a sale', 'settle')[kind]}")
        event()
    driver.bring_in()
    for sold in played.sales.values():
        sold.order = driver.order_of(sold.ids)
    if driver.refund_elsewhere:
        return_elsewhere(driver, played, history["returns_elsewhere"])
    if history["paid_out_at_last"]:
        driver.settle(timezone.now() + timedelta(days=5))
        driver.bring_in()
    return played


def ring(driver: Driver, played: Played, index: int, at: datetime, sale: dict) -> None:
    played.sales[index] = Sold(at=at, ids=driver.sale(at, sale), cash=sale["cash"])


def after_sale(driver: Driver, played: Played, index: int, each: dict, at: datetime) -> None:
    sold = played.sales[index]
    if "kind" in each:
        if each["kind"] == "fee_adjustment":
            if each["amount"] and driver.trouble("fee_adjustment", sold.ids, each["amount"], at):
                played.fee_adjustments += 1
            return
        if sold.cash:
            return  # a cardholder disputes cards only
        amount = driver.refundable(sold.ids) * each["share"] // 100
        if amount > 0 and driver.trouble("dispute", sold.ids, amount, at):
            played.disputes += 1
        return
    amount = driver.refundable(sold.ids) * each["share"] // 100
    if amount > 0:
        note(f"refund of {amount} of sale {index}")
        driver.refund(sold.ids, amount, at)
        driver.refunded()
        played.refunded += amount


def return_elsewhere(driver: Driver, played: Played, indexes: list[int]) -> None:
    """A customer brings one unit back to another store: Concord refunds it to the tender."""
    elsewhere = Location.objects.exclude(code=driver.location).order_by("code").first()
    for index in sorted({index % len(played.sales) for index in indexes}):
        note(f"returned at {elsewhere.code}: sale {index}")
        sold = played.sales[index]
        try:
            sold.order.refresh_from_db()
            back_on_shelf = sold.order.status == OrderStatus.FULFILLED  # a web order may not have left
            refund = refund_order(order_id=sold.order.pk, lines=[ReturnLineInput(line=1, quantity=1,
                                                                                 restock=back_on_shelf)],
                                  return_location_id=elsewhere.pk, reason="returned at another store",
                                  actor="test", idempotency_key=f"elsewhere-{sold.order.pk}")
        except ExceedsRefundable:
            continue
        played.refunded += refund.amount
    if indexes:
        wait_until(lambda: (driver.bring_in(), not RefundPart.objects.filter(
            status__in=(RefundPartStatus.PENDING, RefundPartStatus.SENT)).exists())[1], timeout=30,
            message="the refunds sent to the platform complete")


# -- the platforms ----------------------------------------------------------------------------------


class SquareDriver(Driver):
    """Square at OAK: payouts by API, 5 PM Pacific to 5 PM Pacific, paid the next weekday."""

    platform, location = "square", "OAK"
    cutoff = ("America/Los_Angeles", 17, 0)

    def sale(self, at: datetime, sale: dict) -> dict:
        return control_at(self.emulator, "POST", "sale", {
            "location": self.location, "created_at": stamp(at),
            "lines": [{"sku": sale["sku"], "quantity": sale["quantity"]}],
            "tender": {"type": "cash" if sale["cash"] else "card", "tip": sale["tip"]}})

    def refundable(self, ids: dict) -> int:
        payment = self.emulator.payments[ids["payment_id"]]
        return payment["amount_money"]["amount"] - self.emulator.refunded_or_pending(payment["id"])

    def trouble(self, kind: str, ids: dict, amount: int, at: datetime) -> bool:
        if kind == "dispute":
            control_at(self.emulator, "POST", "dispute", {"payment_id": ids["payment_id"], "amount": amount,
                                                          "created_at": stamp(at)})
        else:
            control_at(self.emulator, "POST", "fee-adjustment", {"location": self.location, "amount": amount,
                                                                 "created_at": stamp(at)})
        return True

    def bring_in(self) -> None:
        wait_until(lambda: all(r["status"] == "COMPLETED" for r in self.emulator.refunds.values()),
                   message="Square completes its refunds")
        run_engine(self.emulator)
        read_all_money(platform=self.platform)

    def expected(self, location: Location) -> Expected:
        """The day of each of Square's own records and payout lines (CHARGE and DISPUTE on
        their payment's day, REFUND on its own, a fee adjustment on its effective day)."""
        platform = self.emulator
        expected = Expected()

        def day_of(stamp_text: str) -> date:
            return location_day(datetime.fromisoformat(stamp_text.replace("Z", "+00:00")), location)

        for payment in platform.payments.values():
            fee = sum(f["amount_money"]["amount"] for f in payment.get("processing_fee") or [])
            expected.fees[(day_of(payment["created_at"]), location.pk)] += fee
            if payment["source_type"] == "CASH":
                expected.non_card += payment["total_money"]["amount"]
        for refund in platform.refunds.values():
            fee = sum(f["amount_money"]["amount"] for f in refund.get("processing_fee") or [])
            expected.fees[(day_of(refund["created_at"]), location.pk)] += fee
            if platform.payments[refund["payment_id"]]["source_type"] == "CASH":
                expected.non_card -= refund["amount_money"]["amount"]
        for entries in platform.payout_entries.values():
            for entry in entries:
                net = entry["net_amount_money"]["amount"]
                if entry["type"] == "REFUND":
                    day = day_of(platform.refunds[entry["type_refund_details"]["refund_id"]]["created_at"])
                elif entry["type"] in ("CHARGE", "DISPUTE"):
                    payment_id = entry[f"type_{entry['type'].lower()}_details"]["payment_id"]
                    day = day_of(platform.payments[payment_id]["created_at"])
                else:
                    day = day_of(entry["effective_at"])
                expected.paid_out[(day, location.pk)] += net
                if entry["type"] == "DISPUTE":
                    expected.chargebacks -= net
                elif entry["type"] == "FEE":
                    expected.adjustments -= net
        for movement in platform.book.pending():
            if movement.kind in ("CHARGE", "REFUND"):
                expected.in_transit += movement.net
        expected.paid_out_total = sum(p["amount_money"]["amount"] for p in platform.payouts.values())
        return expected


class ToastDriver(Driver):
    """Toast at BKN: no payout API; a business date closes out at 4 AM, its card money is
    deposited the next weekday (a day later when captured after 9:30 PM Eastern), and finance
    imports the Payouts Overview export after each look."""

    platform, location = "toast", "BKN"
    cutoff = ("America/New_York", 21, 30)
    refund_elsewhere = False  # Toast has no refund API: staff refund at the POS

    def __init__(self, fixture):
        super().__init__(fixture.emulator)
        self.link = fixture.link

    def sale(self, at: datetime, sale: dict) -> dict:
        return control_at(self.emulator, "POST", "sale", {
            "location": self.location, "created_at": stamp(at),
            "lines": [{"sku": sale["sku"], "quantity": sale["quantity"]}],
            "tender": {"type": "cash" if sale["cash"] else "card", "tip": sale["tip"]}})

    def prepare(self) -> None:
        # The poller has been polling: it reads what changed since its last look (a sale
        # entered with an earlier time is seen when it is entered, as Toast's modifiedDate says).
        merge_connection_settings(self.link, {
            toast_poller.SCANNED_SETTING: (timezone.now() - timedelta(minutes=1)).isoformat()})

    def refunded(self) -> None:
        # Toast shows a payment's latest refund only (with the total so far): the poller,
        # running all along, sees each one before the next.
        toast_poller.poll(self.link)
        drain(self.emulator)

    def payment(self, ids: dict) -> dict:
        return self.emulator.orders[ids["order_id"]].doc["checks"][0]["payments"][0]

    def refundable(self, ids: dict) -> int:
        payment = self.payment(ids)
        return cents(payment["amount"]) - cents((payment.get("refund") or {}).get("refundAmount"))

    def trouble(self, kind: str, ids: dict, amount: int, at: datetime) -> bool:
        if kind == "dispute":
            return False  # no chargebacks in Toast's facts
        control_at(self.emulator, "POST", "fee-adjustment", {"location": self.location, "amount": amount,
                                                             "created_at": stamp(at)})
        return True

    def bring_in(self) -> None:
        toast_poller.poll(self.link)
        drain(self.emulator)
        overview = export(self.emulator, "toast/payouts.csv")
        result = import_deposit_file(platform="toast", name="payouts.csv", content=overview)
        assert not result.problems, [str(problem) for problem in result.problems]

    def expected(self, location: Location) -> Expected:
        """Fees on each payment's business date; each deposit on the business date it pays."""
        platform = self.emulator
        expected = Expected()
        for stored in platform.orders.values():
            for payment in (p for check in stored.doc["checks"] for p in check["payments"]):
                paid = date.fromisoformat(str(payment["paidBusinessDate"])[:4] + "-"
                                          + str(payment["paidBusinessDate"])[4:6] + "-"
                                          + str(payment["paidBusinessDate"])[6:])
                expected.fees[(paid, location.pk)] += cents(payment.get("originalProcessingFee"))
                if payment["type"] != "CREDIT":
                    refund = payment.get("refund") or {}
                    expected.non_card += cents(payment["amount"]) + cents(payment["tipAmount"]) \
                        - cents(refund.get("refundAmount"))
        for deposit in platform.deposits.values():
            if deposit["sales_dates"]:  # a fee true-up alone names none: the day it settled
                (sales_date,) = deposit["sales_dates"]
                day = datetime.strptime(str(sales_date), "%Y%m%d").date()
            else:
                day = date.fromisoformat(deposit["settled_date"])
            expected.paid_out[(day, location.pk)] += deposit["amount"]
        expected.statement_fees = sum(m.fee for m in platform.book.movements
                                      if m.kind == "FEE_ADJUSTMENT" and m.batch_id)
        expected.in_transit = sum(m.net for m in platform.book.pending() if m.kind in ("PAYMENT", "REFUND"))
        expected.paid_out_total = sum(d["amount"] for d in platform.deposits.values())
        return expected


class ShopifyDriver(Driver):
    """Shopify Payments for the web store at OAK: a UTC day's transactions are paid the next
    weekday; payouts and their balance transactions are read by API (no payout webhook)."""

    platform, location = "shopify", "OAK"
    cutoff = ("UTC", 0, 0)

    def adapt(self, sale: dict) -> dict:
        return {**sale, "cash": False, "tip": 0}  # a storefront card checkout, no tip

    def sale(self, at: datetime, sale: dict) -> dict:
        answer = control_at(self.emulator, "POST", "sale", {
            "location": self.location, "created_at": stamp(at),
            "lines": [{"sku": sale["sku"], "quantity": sale["quantity"]}]})
        assert answer["accepted"], answer
        return answer

    def refundable(self, ids: dict) -> int:
        return self.emulator.store.refundable_cents(ids["order_id"])

    def trouble(self, kind: str, ids: dict, amount: int, at: datetime) -> bool:
        if kind == "dispute":
            control_at(self.emulator, "POST", "dispute", {"order_id": ids["order_id"], "amount": amount,
                                                          "created_at": stamp(at)})
        else:
            control_at(self.emulator, "POST", "fee-adjustment", {"amount": amount, "created_at": stamp(at)})
        return True

    def bring_in(self) -> None:
        run_engine(self.emulator)
        read_all_money(platform=self.platform)

    def expected(self, location: Location) -> Expected:
        """Charges and refunds on their own day (their fee from the balance transaction,
        paid out or pending), a dispute on its charge's day, an adjustment on its payout's
        date (a payout names no store)."""
        account = self.emulator.payments
        expected = Expected()
        rows = list(account.rows.values())
        charge_day = {row["source_order_transaction_id"]: (self.day_of(row, location), location.pk)
                      for row in rows if row["type"] == "charge"}
        for row in rows:
            paid = row["payout_id"] is not None
            if row["type"] in ("charge", "refund"):
                where = (self.day_of(row, location), location.pk)
                expected.fees[where] += cents(row["fee"])  # pending rows are read for their fees too
                if paid:
                    expected.paid_out[where] += cents(row["net"])
                else:
                    expected.in_transit += cents(row["net"])
            elif row["type"] == "dispute" and paid:
                expected.paid_out[charge_day[row["source_order_transaction_id"]]] += cents(row["net"])
                expected.chargebacks -= cents(row["net"])
            elif row["type"] == "adjustment" and paid:
                day = date.fromisoformat(account.payouts[row["payout_id"]]["date"])
                expected.paid_out[(day, None)] += cents(row["net"])
                expected.adjustments -= cents(row["net"])
        expected.paid_out_total = sum(cents(p["amount"]) for p in account.payouts.values())
        return expected

    @staticmethod
    def day_of(row: dict, location: Location) -> date:
        return location_day(datetime.fromisoformat(row["processed_at"].replace("Z", "+00:00")), location)


@dataclass
class Expected:
    """What the platform made, by business day and location where the reconciliation books
    it so (a Shopify payout names no store)."""

    fees: dict[tuple[date, int | None], int] = field(default_factory=lambda: defaultdict(int))
    paid_out: dict[tuple[date, int | None], int] = field(default_factory=lambda: defaultdict(int))
    paid_out_total: int = 0
    non_card: int = 0
    statement_fees: int = 0  # fees a deposit states beyond those of its payments
    chargebacks: int = 0
    adjustments: int = 0
    in_transit: int = 0


# -- a fresh start for each example -------------------------------------------------------------------

# Everything a history writes (what refers to these goes with them: lines, tenders, refunds, parts,
# payout lines, deposit rows, reconciliation lines).
WRITTEN_TABLES = ("orders_order", "customers_customer", "reports_processorrecord", "reports_payout",
                  "reports_depositimport", "reports_reconciliationday", "reports_dailychannelsales",
                  "reports_rollupwatermark", "connectors_inboundevent", "connectors_delivery",
                  "core_outboxevent", "core_exceptionitem", "core_idempotencyrecord")


# Every table that refers to one of these (transitively), found once per test.
_REFERRING = """
WITH RECURSIVE written(name) AS (
    SELECT unnest(%s::regclass[])
    UNION
    SELECT c.conrelid::regclass FROM pg_constraint c JOIN written w ON c.confrelid = w.name
    WHERE c.contype = 'f'
) SELECT name::text FROM written"""


@dataclass
class Baseline:
    """Concord as the fixtures left it: the connections' read marks and the stock; and the
    tables a history writes to, emptied for the next one."""

    connections: list[tuple]
    stock: list[tuple]
    tables: list[str]

    @classmethod
    def take(cls) -> Baseline:
        # Money is what is looked at here: no availability pushed back and forth meanwhile.
        PlatformConnection.objects.update(pushes_stock=False)
        with connection.cursor() as cursor:
            cursor.execute(_REFERRING, [list(WRITTEN_TABLES)])
            tables = [name for (name,) in cursor.fetchall()]
        return cls(connections=list(PlatformConnection.objects.values_list("pk", "settings", "polled_at")),
                   stock=list(StockLevel.objects.values_list("pk", "on_hand", "committed")), tables=tables)

    def restore(self, *emulators) -> None:
        for emulator in emulators:
            emulator.flush_webhooks(10)
            control_at(emulator, "POST", "reset", {"seed": True})
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            if cursor.fetchone()[0]:
                # A few rows each: DELETE without the foreign keys' triggers beats TRUNCATE's new files.
                cursor.execute("SET LOCAL session_replication_role = replica")
                for table in self.tables:
                    cursor.execute(f"DELETE FROM {table}")
            else:  # a database user who may not switch the triggers off
                cursor.execute(f"TRUNCATE {', '.join(self.tables)}")
        for pk, settings_, polled_at in self.connections:
            PlatformConnection.objects.filter(pk=pk).update(settings=settings_, polled_at=polled_at)
        for pk, on_hand, committed in self.stock:
            StockLevel.objects.filter(pk=pk).update(on_hand=on_hand, committed=committed)


# -- what must hold ---------------------------------------------------------------------------------


def by_class(day: ReconciliationDay) -> dict[str, int]:
    found: dict[str, int] = defaultdict(int)
    for line in day.lines.all():
        found[line.classification] += line.amount
    return dict(found)


def reconcile(played: Played) -> tuple[list[ReconciliationDay], date, date]:
    today = timezone.now().date()
    # Through the last payout's day: money paid out at the last settlement arrives days later.
    first, last = played.first_day - timedelta(days=1), today + timedelta(days=8)
    return reconcile_days(first_day=first, last_day=last, today=today), first, last


def assert_every_cent_is_explained(days: list[ReconciliationDay], platform: str, expected: Expected) -> None:
    mine = [day for day in days if day.platform == platform]
    totals: dict[str, int] = defaultdict(int)
    for day in mine:
        classes = by_class(day)
        assert sum(line.amount for line in day.lines.all()) == day.difference == day.sold - day.paid_out
        assert day.status == ReconciliationStatus.RECONCILED, (day.business_day, classes)
        where = (day.business_day, day.location_id)
        assert day.fees == expected.fees.get(where, 0), (where, classes)
        assert day.paid_out == expected.paid_out.get(where, 0), (where, classes)
        for name, amount in classes.items():
            totals[name] += amount
    assert {where for where, fee in expected.fees.items() if fee} <= {(d.business_day, d.location_id)
                                                                      for d in mine}
    assert sum(day.paid_out for day in mine) == expected.paid_out_total
    assert totals.get(C.FEE, 0) == sum(expected.fees.values()) + expected.statement_fees
    assert totals.get(C.NON_CARD, 0) == expected.non_card
    assert totals.get(C.CHARGEBACK, 0) == expected.chargebacks
    assert totals.get(C.ADJUSTMENT, 0) == expected.adjustments
    assert totals.get(C.IN_TRANSIT, 0) + totals.get(C.REFUND_LATER_PAYOUT, 0) == expected.in_transit
    assert totals.get(C.ACROSS_CUTOFF, 0) == 0  # what leaves one day arrives on another
    assert totals.get(C.TIP, 0) == 0  # the platforms report the tips Concord recorded


def cents(value) -> int:
    return int(Decimal(str(value or 0)) * 100)


def csv_rows(response) -> list[dict]:
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def xlsx_rows(response) -> list[dict]:
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True).active
    header, *rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(header, row, strict=True)) for row in rows]


def assert_the_channel_report_counts_the_history(played: Played, first: date, last: date) -> None:
    rollup.refresh_channel_rollup()
    totals = figures_document(channel_report(first=first, last=last).totals)
    assert totals["orders"] == len(played.rung)
    assert totals["units"] == sum(sale["quantity"] for sale in played.rung)
    assert totals["tips"] == sum(sale["tip"] for sale in played.rung)
    assert totals["gross_sales"] == sum(sold.order.total_amount for sold in played.sales.values())
    assert totals["refunds"] == played.refunded


def assert_files_equal_the_page(finance, first: date, last: date) -> None:
    """The reconciliation's and the channel report's CSV and XLSX totals are the page's."""
    span = {"from": first.isoformat(), "to": last.isoformat()}
    days = list(reconciliation_selectors.list_reconciliation_days(first_day=first, last_day=last))
    page = reconciliation_selectors.totals(days)
    for file_format, read in (("csv", csv_rows), ("xlsx", xlsx_rows)):
        rows = read(finance.get("/reports/reconciliation/", {**span, "format": file_format}))
        files = {row["currency"]: {f: cents(row[f]) for f in reconciliation_selectors.FIGURES}
                 for row in rows if row["business_day"] == "TOTAL"}
        assert files == page, file_format
        day_rows = [row for row in rows if row["business_day"] != "TOTAL" and row["status"]]
        assert sum(cents(row["sold"]) for row in day_rows) == sum(d.sold for d in days)
        line_rows = [row for row in rows if row["business_day"] != "TOTAL" and not row["status"]]
        assert sum(cents(row["line_amount"]) for row in line_rows) == sum(d.difference for d in days)

    rollup.refresh_channel_rollup()
    report = channel_report(first=first, last=last)
    wanted = figures_document(report.totals)
    money = ("gross_sales", "discounts", "tax", "tips", "refunds", "net_sales", "average_ticket")
    for file_format, read in (("csv", csv_rows), ("xlsx", xlsx_rows)):
        total = next(row for row in read(finance.get("/reports/channels/", {**span, "format": file_format}))
                     if row["day"] == "TOTAL")
        assert {k: cents(total[k]) if k in money else int(total[k]) for k in wanted} == wanted, file_format


# -- the properties -----------------------------------------------------------------------------------


@pytest.fixture
def finance(db):
    return staff("finance", "fin-eprop")


def assert_the_history_reconciles(afresh, history, *, platform: str, store: str) -> None:
    """Play the history at the platform from its baseline, reconcile, and hold every check."""
    driver, baseline, finance = afresh
    baseline.restore(driver.emulator)

    played = play(driver, history)
    days, first, last = reconcile(played)

    assert_every_cent_is_explained(days, platform, driver.expected(Location.objects.get(code=store)))
    assert_the_channel_report_counts_the_history(played, first, last)
    assert_files_equal_the_page(finance, first, last)


@pytest.fixture
def square_afresh(square, finance):  # noqa: F811
    square.refund_settle_s = 0.01
    return SquareDriver(square), Baseline.take(), finance


@EXAMPLES
@given(history=histories)
def test_square_days_reconcile_to_the_cent_whatever_happens(square_afresh, history):
    assert_the_history_reconciles(square_afresh, history, platform="square", store="OAK")


@pytest.fixture
def toast_afresh(toast, finance):  # noqa: F811
    return ToastDriver(toast), Baseline.take(), finance


@EXAMPLES
@given(history=histories)
def test_toast_days_reconcile_to_the_cent_with_their_imported_deposits(toast_afresh, history):
    assert_the_history_reconciles(toast_afresh, history, platform="toast", store="BKN")


@pytest.fixture
def shopify_afresh(shopify, finance):  # noqa: F811
    return ShopifyDriver(shopify), Baseline.take(), finance


@EXAMPLES
@given(history=histories)
def test_shopify_days_reconcile_to_the_cent_with_their_payouts(shopify_afresh, history):
    assert_the_history_reconciles(shopify_afresh, history, platform="shopify", store="OAK")
