"""The files finance imports, as the Toast and Clover emulators serve them over HTTP: the
documented columns, Toast's `MM/DD/YYYY HH:MM:SS` dates in the restaurant's time, the same
bytes when asked twice, totals equal to the deposits; bad questions are refused; and the
state document lists payments and payouts on every emulator."""

import csv
import io
from decimal import Decimal

import pytest
import requests

from apps.emulators.clover.emulator import CloverEmulator
from apps.emulators.shopify.emulator import ShopifyEmulator
from apps.emulators.square.emulator import SquareEmulator
from apps.emulators.toast.deposits import PAYMENT_DETAILS_COLUMNS
from apps.emulators.toast.emulator import ToastEmulator
from tests.emulators.support import WebhookReceiver, serve


@pytest.fixture
def receiver():
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def served(receiver):
    """`served(cls)` serves a fresh emulator of `cls` until the test ends."""
    running = []

    def start(cls):
        emulator = cls(concord_url=receiver.url, rate_limits=False)
        running.append(serve(emulator))
        return running[-1].__enter__()

    yield start
    for context in running:
        context.__exit__(None, None, None)


def post(running, action: str, body: dict) -> dict:
    answer = requests.post(f"{running.url}/__emulator/{action}", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()


def download(running, path: str, **params) -> str:
    answer = requests.get(f"{running.url}/__emulator/exports/{path}", params=params)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"].startswith("text/csv")
    return answer.text


def rows_of(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def cents(text: str) -> int:
    return int(Decimal(text) * 100)


def toast_day(running) -> str:
    sku = next(iter(next(iter(running.emulator.restaurants.values())).items.values())).sku
    first = post(running, "sale", {"location": "BKN", "lines": [{"sku": sku, "quantity": 2}],
                                   "tender": {"type": "card", "tip": 250}, "tax_percentage": 8.875,
                                   "created_at": "2026-07-14T16:05:09Z"})  # 12:05:09 PM EDT
    post(running, "sale", {"location": "BKN", "lines": [{"sku": sku, "quantity": 1}],
                           "tender": {"type": "cash"}, "created_at": "2026-07-15T06:30:00Z"})  # 2:30 AM
    post(running, "sale", {"location": "BKN", "lines": [{"sku": sku, "quantity": 1}],
                           "tender": {"type": "card"}, "created_at": "2026-07-15T08:30:00Z"})  # next day
    post(running, "refund", {"order_id": first["order_id"], "amount": 400,
                             "created_at": "2026-07-16T15:00:00Z"})
    return first["order_id"]


def test_toast_payment_details_is_the_nightly_export_of_one_business_date(served):
    toast = served(ToastEmulator)
    order_id = toast_day(toast)
    restaurant = next(iter(toast.emulator.restaurants.values()))
    text = download(toast, "toast/PaymentDetails.csv", location="BKN", business_date="20260714")
    assert text == download(toast, "toast/PaymentDetails.csv", location=restaurant.guid,
                            business_date="2026-07-14")  # stable, and by GUID or code alike
    assert tuple(next(csv.reader(io.StringIO(text)))) == PAYMENT_DETAILS_COLUMNS
    rows = rows_of(text)
    assert [(r["Type"], r["Paid Date"]) for r in rows] == [
        ("Credit", "07/14/2026 12:05:09"), ("Cash", "07/15/2026 02:30:00")]  # 2:30 AM is the 14th's
    card = rows[0]
    payment = toast.emulator.orders[order_id].doc["checks"][0]["payments"][0]
    assert (card["Location"], card["Payment Id"], card["Order Id"]) == ("Brooklyn", payment["guid"], order_id)
    assert cents(card["Amount"]) == round(payment["amount"] * 100) and card["Tip"] == "2.50"
    assert cents(card["Total"]) == cents(card["Amount"]) + 250 == cents(card["Swiped Card Amount"])
    assert (card["Refunded"], card["Refund Date"], card["Refund Amount"]) == (
        "Yes", "07/16/2026 11:00:00", "4.00")
    assert (card["Status"], card["Card Type"]) == ("CAPTURED", "Visa")
    assert rows[1]["Swiped Card Amount"] == "0.00"
    # The card fee column of Toast's field reference: the payment's processing fee; cash has none.
    assert cents(card["V/MC/D Fees"]) == round(payment["originalProcessingFee"] * 100) > 0
    assert (card["Last 4 Card Digits"], rows[1]["V/MC/D Fees"]) == (payment["last4Digits"], "0.00")


def test_toast_payouts_overview_adds_up_to_the_deposits(served):
    toast = served(ToastEmulator)
    toast_day(toast)
    made = post(toast, "settle", {"through": "2026-07-20T00:00:00Z"})["deposits"]
    text = download(toast, "toast/payouts.csv", **{"from": "2026-07-01", "to": "2026-07-31"})
    assert text == download(toast, "toast/payouts.csv", **{"from": "2026-07-01", "to": "2026-07-31"})
    rows = rows_of(text)
    assert [(r["Settled Date"], r["Sales Date(s)"]) for r in rows] == [
        ("07/16/2026", "07/14/2026"), ("07/17/2026", "07/15/2026"), ("07/20/2026", "07/16/2026")]
    by_date = {d["settled_date"]: d for d in made}
    for row in rows:
        deposit = by_date["2026-" + row["Settled Date"][:5].replace("/", "-")]
        assert cents(row["Payout Amount"]) == deposit["amount"]
        assert cents(row["Payout Amount"]) == (cents(row["Payments"]) - cents(row["Refunds"])
                                               - cents(row["Fees"]) - cents(row["Withholdings"]))
        assert row["Restaurant"] == "Brooklyn" and row["Location Code"] == "BKN"
    assert cents(rows[2]["Payments"]) == 0 and cents(rows[2]["Refunds"]) == 400  # the refund, later
    one_day = download(toast, "toast/payouts.csv", **{"from": "2026-07-17", "to": "2026-07-17"})
    assert rows_of(one_day) == [rows[1]]


def test_clover_deposit_report_adds_up_to_the_deposits(served):
    clover = served(CloverEmulator)
    sku = next(iter(next(iter(clover.emulator.merchants.values())).items.values())).sku
    for at in ("2026-07-14T15:00:00Z", "2026-07-14T18:00:00Z", "2026-07-15T15:00:00Z"):
        post(clover, "sale", {"location": "CHI", "lines": [{"sku": sku, "quantity": 1}],
                              "tender": {"type": "card", "tip": 100}, "created_at": at})
    post(clover, "fee-adjustment", {"location": "CHI", "amount": 35, "created_at": "2026-07-15T16:00:00Z"})
    made = post(clover, "settle", {"through": "2026-07-17T00:00:00Z"})["deposits"]
    text = download(clover, "clover/deposits.csv", **{"from": "2026-07-01", "to": "2026-07-31"})
    assert text == download(clover, "clover/deposits.csv", **{"from": "2026-07-01", "to": "2026-07-31"})
    rows = rows_of(text)
    assert [(r["Date Funded"], r["Start Date"], r["End Date"]) for r in rows] == [
        ("07/15/2026", "07/14/2026 00:00", "07/15/2026 00:00"),
        ("07/16/2026", "07/15/2026 00:00", "07/16/2026 00:00")]
    for row, deposit in zip(rows, made, strict=True):
        assert cents(row["Amount Transferred"]) == deposit["amount_transferred"]
        assert cents(row["Amount Transferred"]) == cents(row["Amount Submitted"]) - cents(row["Fees"])
        assert cents(row["VISA Submitted"]) == cents(row["Amount Submitted"])
        assert row["Merchant Id"] == deposit["merchant_id"] and row["Reference"] == deposit["id"]
    fee = clover.emulator.card_fee
    price = clover.emulator.orders[next(iter(clover.emulator.orders))].payments[0]["amount"]
    assert cents(rows[0]["Fees"]) == 2 * fee(price + 100)
    assert cents(rows[1]["Fees"]) == fee(price + 100) + 35  # the adjustment


@pytest.mark.parametrize("path,params,status", [
    ("toast/PaymentDetails.csv", {"location": "NOPE", "business_date": "20260714"}, 404),
    ("toast/PaymentDetails.csv", {"location": "BKN", "business_date": "yesterday"}, 400),
    ("toast/payouts.csv", {"from": "07/01/2026"}, 400),
])
def test_bad_export_questions_are_refused(served, path, params, status):
    toast = served(ToastEmulator)
    answer = requests.get(f"{toast.url}/__emulator/exports/{path}", params=params)
    assert answer.status_code == status and "error" in answer.json()


def test_settle_needs_a_date_time_with_an_offset(served):
    square = served(SquareEmulator)
    for through in (None, "2026-07-14", "2026-07-14T10:00:00", "soon"):
        answer = requests.post(f"{square.url}/__emulator/settle", json={"through": through})
        assert answer.status_code == 400


@pytest.mark.parametrize("cls", [SquareEmulator, ShopifyEmulator, ToastEmulator, CloverEmulator])
def test_state_lists_payments_and_payouts(served, cls):
    running = served(cls)
    location = {"square": "OAK", "shopify": "OAK", "toast": "BKN", "clover": "CHI"}[cls.platform]
    state = requests.get(f"{running.url}/__emulator/state").json()
    sku = state["stock"][location] and next(iter(state["stock"][location]))
    post(running, "sale", {"location": location, "lines": [{"sku": sku, "quantity": 1}],
                           "tender": {"type": "card"}, "created_at": "2026-07-14T15:00:00Z"})
    post(running, "settle", {"through": "2026-07-20T00:00:00Z"})
    state = requests.get(f"{running.url}/__emulator/state").json()
    assert len(state["payments"]) == 1 and len(state["payouts"]) == 1
