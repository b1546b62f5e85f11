"""PLATFORM_MONEY §8 on random days of sales and refunds, over the emulator objects directly
(in process, no sockets): every payout or deposit equals its lines, every line's net is
gross - fee, nothing is paid twice or lost, settling again changes nothing, and the Toast
and Clover files add up to the deposits."""

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.emulators.clover.emulator import CloverEmulator
from apps.emulators.settlement import card_fee, next_weekday
from apps.emulators.shopify.emulator import ShopifyEmulator
from apps.emulators.square.emulator import SquareEmulator
from apps.emulators.toast.emulator import ToastEmulator
from tests.emulators.support import WebhookReceiver

START = datetime(2026, 3, 5, tzinfo=UTC)  # a Thursday; the US clocks change on 2026-03-08
WEEK_MINUTES = 7 * 24 * 60
LAST_SETTLE = START + timedelta(days=16)

sales = st.lists(st.fixed_dictionaries({
    "minute": st.integers(0, WEEK_MINUTES - 1), "quantity": st.integers(1, 3),
    "tip": st.integers(0, 400), "cash": st.booleans(), "online": st.booleans(),
}), min_size=1, max_size=10)
refunds = st.lists(st.fixed_dictionaries({
    "sale": st.integers(0, 9), "share": st.integers(1, 100), "after": st.integers(0, 5 * 24 * 60),
}), max_size=5)
settle_points = st.lists(st.integers(0, 14 * 24 * 60), max_size=4)
SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def receiver():
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture(scope="module")
def emulators(receiver):
    made = {cls.platform: cls(concord_url=receiver.url, rate_limits=False)
            for cls in (SquareEmulator, ShopifyEmulator, ToastEmulator, CloverEmulator)}
    made["square"].refund_settle_s = 0.01
    yield made
    for emulator in made.values():
        emulator.webhooks.stop()


def stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def control(emulator, action: str, body: dict) -> dict:
    answer = emulator.call("POST", f"/__emulator/{action}", body=body)
    assert answer.status == 200, answer.body
    return answer.body


def ring_days(emulator, location: str, sku: str, day_sales, day_refunds) -> list[dict]:
    """Ring the sales, then the refunds (each after its sale); answers what was rung."""
    rung = []
    for sale in day_sales:
        at = START + timedelta(minutes=sale["minute"])
        tender = {"type": "cash" if sale["cash"] else "card", "tip": sale["tip"]}
        if sale["online"]:
            tender["entry"] = "online"
        answer = control(emulator, "sale", {"location": location, "created_at": stamp(at),
                                            "lines": [{"sku": sku, "quantity": sale["quantity"]}],
                                            "tender": tender})
        rung.append({"at": at, "answer": answer, "refunded": 0, **sale})
    return rung


def settle_in_steps(emulator, points) -> None:
    for minute in sorted(points):
        control(emulator, "settle", {"through": stamp(START + timedelta(minutes=minute))})
    control(emulator, "settle", {"through": stamp(LAST_SETTLE)})
    again = control(emulator, "settle", {"through": stamp(LAST_SETTLE)})
    assert not again.get("payouts") and not again.get("deposits")  # a day settles once


def refund_some(emulator, rung, day_refunds, refundable) -> int:
    """Refund a share of what is left of some sales; answers the cents refunded."""
    total = 0
    for wanted in day_refunds:
        sale = rung[wanted["sale"] % len(rung)]
        left = refundable(sale) - sale["refunded"]
        amount = left * wanted["share"] // 100
        if amount <= 0:
            continue
        at = sale["at"] + timedelta(minutes=wanted["after"])
        control(emulator, "refund", {"order_id": sale["answer"]["order_id"], "amount": amount,
                                     "created_at": stamp(at)})
        sale["refunded"] += amount
        total += amount
    return total


def cents(text: str) -> int:
    return int(Decimal(text) * 100)


def read_csv(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


@SETTINGS
@given(day_sales=sales, day_refunds=refunds, points=settle_points)
def test_square_payouts_equal_their_entries_and_lose_nothing(emulators, day_sales, day_refunds, points):
    square = emulators["square"]
    square.reset(seed=True)
    rung = ring_days(square, "OAK", "BURRITO", day_sales, day_refunds)
    refund_some(square, rung, day_refunds,
                lambda sale: square.payments[sale["answer"]["payment_id"]]["amount_money"]["amount"])
    settle_in_steps(square, points)

    charged = {}
    for payout in square.payouts.values():
        entries = square.payout_entries[payout["id"]]
        assert payout["type"] == "BATCH" and payout["amount_money"]["amount"] != 0
        assert payout["amount_money"]["amount"] == sum(e["net_amount_money"]["amount"] for e in entries)
        assert date.fromisoformat(payout["arrival_date"]).weekday() < 5
        for entry in entries:
            gross, fee = entry["gross_amount_money"]["amount"], entry["fee_amount_money"]["amount"]
            assert entry["net_amount_money"]["amount"] == gross - fee
            assert entry["effective_at"] < payout["created_at"]
            if entry["type"] == "CHARGE":
                payment_id = entry["type_charge_details"]["payment_id"]
                assert payment_id not in charged
                charged[payment_id] = payout["id"]

    card = [p for p in square.payments.values() if p["source_type"] == "CARD"]
    pending = {m.refs["payment_id"] for m in square.book.pending() if m.kind == "CHARGE"}
    assert set(charged) | pending == {p["id"] for p in card}
    expected = sum(p["total_money"]["amount"] - p["processing_fee"][0]["amount_money"]["amount"]
                   for p in card)
    for refund in square.refunds.values():
        if square.payments[refund["payment_id"]]["source_type"] != "CARD":
            continue  # cash leaves the till, not the Square balance
        returned = sum(f["amount_money"]["amount"] for f in refund.get("processing_fee", []))
        expected -= refund["amount_money"]["amount"] + returned  # returned is negative
    paid = sum(p["amount_money"]["amount"] for p in square.payouts.values())
    assert paid + sum(m.net for m in square.book.pending()) == expected


@SETTINGS
@given(day_sales=sales, day_refunds=refunds, points=settle_points)
def test_shopify_payouts_are_their_balance_rows_and_a_negative_payout_row(emulators, day_sales,
                                                                           day_refunds, points):
    shopify = emulators["shopify"]
    shopify.reset(seed=True)
    for level in shopify.store.levels.values():
        level.available = level.on_hand = 10_000  # the storefront never refuses here
    rung = ring_days(shopify, "OAK", "BURRITO", [{**s, "online": False} for s in day_sales], day_refunds)
    orders = shopify.store.orders
    refunded = refund_some(shopify, rung, day_refunds,
                           lambda sale: cents(orders[sale["answer"]["order_id"]]["total_price"]))
    settle_in_steps(shopify, points)

    account = shopify.payments
    rows = list(account.rows.values())
    for row in rows:
        assert cents(row["net"]) == cents(row["amount"]) - cents(row["fee"])
    for payout in account.payouts.values():
        own = [r for r in rows if r["payout_id"] == payout["id"] and r["type"] != "payout"]
        leg = [r for r in rows if r["type"] == "payout" and r["source_id"] == payout["id"]]
        assert cents(payout["amount"]) == sum(cents(r["net"]) for r in own)
        assert [cents(r["amount"]) for r in leg] == [-cents(payout["amount"])]
        summary = {k: cents(v) for k, v in payout["summary"].items()}
        assert cents(payout["amount"]) == sum(v for k, v in summary.items() if "_gross_" in k) \
            - sum(v for k, v in summary.items() if "_fee_" in k)
        paid_on = date.fromisoformat(payout["date"])
        assert paid_on.weekday() < 5
        for row in own:  # a UTC day is paid the next weekday
            assert next_weekday(datetime.fromisoformat(row["processed_at"]).astimezone(UTC).date()) == paid_on

    totals = [cents(shopify.store.orders[s["answer"]["order_id"]]["total_price"]) for s in rung]
    expected = sum(t - card_fee(t, bps=account.fee_bps, fixed=account.fee_fixed) for t in totals) - refunded
    pending = [r for r in rows if r["payout_status"] == "pending"]
    assert all(r["payout_id"] is None for r in pending)
    assert sum(cents(p["amount"]) for p in account.payouts.values()) \
        + sum(cents(r["net"]) for r in pending) == expected


@SETTINGS
@given(day_sales=sales, day_refunds=refunds, points=settle_points)
def test_toast_deposits_and_their_files_add_up(emulators, day_sales, day_refunds, points):
    toast = emulators["toast"]
    toast.reset(seed=True)
    sku = next(iter(next(iter(toast.restaurants.values())).items.values())).sku
    rung = ring_days(toast, "BKN", sku, day_sales, day_refunds)

    def paid_without_tip(sale):
        order = toast.orders[sale["answer"]["order_id"]].doc
        return round(order["checks"][0]["payments"][0]["amount"] * 100)

    refund_some(toast, rung, day_refunds, paid_without_tip)
    settle_in_steps(toast, points)

    payments = [p for o in toast.orders.values() for c in o.doc["checks"] for p in c["payments"]]
    card = [p for p in payments if p["type"] == "CREDIT"]
    new_york = ZoneInfo("America/New_York")
    for payment in payments:  # the business day starts at the 4 AM closeout
        paid = datetime.strptime(payment["paidDate"], "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(new_york)
        assert payment["paidBusinessDate"] == int((paid - timedelta(hours=4)).strftime("%Y%m%d"))

    deposits = list(toast.deposits.values())
    for deposit in deposits:
        assert deposit["amount"] == deposit["payments"] - deposit["refunds"] - deposit["fees"]
        assert date.fromisoformat(deposit["settled_date"]).weekday() < 5
        assert date.fromisoformat(deposit["settled_date"]) > datetime.strptime(
            str(deposit["business_date"]), "%Y%m%d").date()
    expected = sum(cents(str(p["amount"])) + cents(str(p["tipAmount"]))
                   - cents(str(p["originalProcessingFee"])) for p in card)
    expected -= sum(cents(str(p["refund"]["refundAmount"])) for p in card if p["refund"])
    assert sum(d["amount"] for d in deposits) + sum(m.net for m in toast.book.pending()) == expected

    overview = read_csv(toast.call("GET", "/__emulator/exports/toast/payouts.csv").body)
    assert len(overview) == len(deposits)
    for row in overview:
        assert cents(row["Payout Amount"]) == cents(row["Payments"]) - cents(row["Refunds"]) \
            - cents(row["Fees"]) - cents(row["Withholdings"])
    assert sum(cents(r["Payout Amount"]) for r in overview) == sum(d["amount"] for d in deposits)
    for business_date in {p["paidBusinessDate"] for p in payments}:
        query = f"location=BKN&business_date={business_date}"
        details = read_csv(toast.call("GET", f"/__emulator/exports/toast/PaymentDetails.csv?{query}").body)
        on_day = [p for p in payments if p["paidBusinessDate"] == business_date]
        assert sorted(r["Payment Id"] for r in details) == sorted(p["guid"] for p in on_day)
        assert sum(cents(r["Swiped Card Amount"]) for r in details) == sum(
            cents(str(p["amount"])) + cents(str(p["tipAmount"])) for p in on_day if p["type"] == "CREDIT")


@SETTINGS
@given(day_sales=sales, day_refunds=refunds, points=settle_points)
def test_clover_deposits_and_their_report_add_up(emulators, day_sales, day_refunds, points):
    clover = emulators["clover"]
    clover.reset(seed=True)
    sku = next(iter(next(iter(clover.merchants.values())).items.values())).sku
    rung = ring_days(clover, "CHI", sku, day_sales, day_refunds)
    refunded = refund_some(clover, rung, day_refunds,
                           lambda sale: clover.orders[sale["answer"]["order_id"]].payments[0]["amount"])
    settle_in_steps(clover, points)

    deposits = list(clover.deposits.values())
    for deposit in deposits:
        assert deposit["amount_transferred"] == deposit["amount_submitted"] - deposit["fees"]
        assert sum(deposit["card_types"].values()) == deposit["amount_submitted"]
        assert date.fromisoformat(deposit["date_funded"]).weekday() < 5
    card_sales = [p for o in clover.orders.values() for p in o.payments if "cardTransaction" in p]
    card_refunds = sum(r["amount"] for o in clover.orders.values() for r in o.refunds
                       if "cardTransaction" in o.payments[0])
    expected = sum(p["amount"] + p["tipAmount"] - clover.card_fee(p["amount"] + p["tipAmount"])
                   for p in card_sales) - card_refunds
    assert card_refunds <= refunded
    transferred = sum(d["amount_transferred"] for d in deposits)
    assert transferred + sum(m.net for m in clover.book.pending()) == expected

    report = read_csv(clover.call("GET", "/__emulator/exports/clover/deposits.csv").body)
    assert len(report) == len(deposits)
    for row in report:
        assert cents(row["Amount Transferred"]) == cents(row["Amount Submitted"]) - cents(row["Fees"])
    assert sum(cents(r["Amount Transferred"]) for r in report) == transferred
