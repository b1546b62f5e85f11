"""When each platform pays: Square's 5 PM Pacific cut-off on both sides of a DST change,
Shopify's UTC day paid the next weekday, Toast's business date from its closeout hour and
the 9:30 PM Eastern capture cut-off, Clover's batch closeout; refunds after their sale's
payout, disputes and fee adjustments in a later payout; and the payout endpoints over HTTP
(paging, webhooks)."""

import json

import pytest
import requests

from apps.demo.dev_credentials import SECRETS
from apps.emulators.clover.emulator import CloverEmulator
from apps.emulators.shopify.emulator import ShopifyEmulator
from apps.emulators.square.emulator import SquareEmulator
from apps.emulators.toast.emulator import ToastEmulator
from tests.emulators.support import WebhookReceiver, serve


@pytest.fixture
def receiver():
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def make(receiver):
    """A fresh emulator delivering to the receiver; its webhook worker stops with the test."""
    made = []

    def build(cls):
        emulator = cls(concord_url=receiver.url, rate_limits=False)
        emulator.webhook_retry_base_s = 0.05
        made.append(emulator)
        return emulator

    yield build
    for emulator in made:
        emulator.webhooks.stop()


def control(emulator, action: str, body: dict) -> dict:
    answer = emulator.call("POST", f"/__emulator/{action}", body=body)
    assert answer.status == 200, answer.body
    return answer.body


def sale(emulator, location: str, sku: str, at: str, **tender) -> dict:
    return control(emulator, "sale", {"location": location, "lines": [{"sku": sku, "quantity": 1}],
                                      "created_at": at, "tender": {"type": "card", **tender}})


def entries_by_payment(square) -> dict:
    """payment id -> (payout created_at, arrival_date) of the payout its CHARGE is in."""
    found = {}
    for payout in square.payouts.values():
        for entry in square.payout_entries[payout["id"]]:
            if entry["type"] == "CHARGE":
                payment_id = entry["type_charge_details"]["payment_id"]
                found[payment_id] = (payout["created_at"], payout["arrival_date"])
    return found


# -- Square ------------------------------------------------------------------------------------------


def test_square_cut_off_is_5_pm_pacific_in_winter_and_summer_time(make):
    square = make(SquareEmulator)
    # Winter (PST, UTC-8): 5 PM is 01:00 UTC the next day. Summer (PDT, UTC-7): 00:00 UTC.
    before_pst = sale(square, "OAK", "BURRITO", "2026-03-06T00:59:59Z")["payment_id"]
    after_pst = sale(square, "OAK", "BURRITO", "2026-03-06T01:00:00Z")["payment_id"]
    before_pdt = sale(square, "OAK", "BURRITO", "2026-03-09T23:59:59Z")["payment_id"]
    after_pdt = sale(square, "OAK", "BURRITO", "2026-03-10T00:00:00Z")["payment_id"]
    control(square, "settle", {"through": "2026-03-12T00:00:00Z"})

    paid = entries_by_payment(square)
    assert paid[before_pst] == ("2026-03-06T01:00:00.000Z", "2026-03-06")  # Thursday's window, paid Friday
    assert paid[after_pst] == ("2026-03-07T01:00:00.000Z", "2026-03-09")  # Friday's, paid Monday
    assert paid[before_pdt] == ("2026-03-10T00:00:00.000Z", "2026-03-10")
    assert paid[after_pdt] == ("2026-03-11T00:00:00.000Z", "2026-03-11")


def test_square_settles_only_ended_windows_once_and_a_later_refund_goes_into_a_later_payout(make):
    square = make(SquareEmulator)
    square.refund_settle_s = 0.01
    sold = sale(square, "OAK", "BURRITO", "2026-04-06T18:00:00Z", tip=100)  # Monday 11 AM PDT
    payment = square.payments[sold["payment_id"]]
    assert control(square, "settle", {"through": "2026-04-06T23:59:59Z"})["payouts"] == []
    first = control(square, "settle", {"through": "2026-04-07T00:00:00Z"})["payouts"]
    assert [p["amount_money"]["amount"] for p in first] == [
        payment["total_money"]["amount"] - payment["processing_fee"][0]["amount_money"]["amount"]]
    assert control(square, "settle", {"through": "2026-04-07T00:00:00Z"})["payouts"] == []

    control(square, "refund", {"order_id": sold["order_id"], "amount": 500,
                               "created_at": "2026-04-08T16:00:00Z"})
    later = control(square, "settle", {"through": "2026-04-09T00:00:00Z"})["payouts"]
    assert len(later) == 1 and later[0]["id"] != first[0]["id"]
    [entry] = square.payout_entries[later[0]["id"]]
    refund = next(iter(square.refunds.values()))
    returned = refund["processing_fee"][0]["amount_money"]["amount"]
    assert returned < 0  # Square gives the fee back pro rata (SQ-SPEC: negative)
    assert entry["type"] == "REFUND"
    assert entry["type_refund_details"] == {"payment_id": payment["id"], "refund_id": refund["id"]}
    assert (entry["gross_amount_money"]["amount"], entry["fee_amount_money"]["amount"],
            entry["net_amount_money"]["amount"]) == (-500, returned, -500 - returned)
    assert later[0]["amount_money"]["amount"] == -500 - returned  # a withdrawal


def test_square_dispute_and_fee_adjustment_are_entries_of_the_next_payout(make):
    square = make(SquareEmulator)
    sold = sale(square, "OAK", "BURRITO", "2026-05-04T17:00:00Z")
    control(square, "settle", {"through": "2026-05-05T00:00:00Z"})
    sale(square, "OAK", "BURRITO", "2026-05-05T17:00:00Z")
    dispute = control(square, "dispute", {"payment_id": sold["payment_id"], "amount": 300,
                                          "created_at": "2026-05-05T18:00:00Z"})
    control(square, "fee-adjustment", {"location": "OAK", "amount": 25, "created_at": "2026-05-05T19:00:00Z"})
    [payout] = control(square, "settle", {"through": "2026-05-06T00:00:00Z"})["payouts"]

    kinds = {e["type"]: e for e in square.payout_entries[payout["id"]]}
    assert set(kinds) == {"CHARGE", "DISPUTE", "FEE"}
    assert kinds["DISPUTE"]["type_dispute_details"] == {"payment_id": sold["payment_id"],
                                                        "dispute_id": dispute["dispute_id"]}
    assert kinds["DISPUTE"]["net_amount_money"]["amount"] == -300
    fee = kinds["FEE"]
    assert (fee["gross_amount_money"]["amount"], fee["net_amount_money"]["amount"]) == (0, -25)
    assert payout["amount_money"]["amount"] == sum(e["net_amount_money"]["amount"] for e in kinds.values())


def test_square_a_sale_backdated_into_a_settled_window_is_paid_in_the_next_payout(make):
    square = make(SquareEmulator)
    sale(square, "OAK", "BURRITO", "2026-05-04T17:00:00Z")
    control(square, "settle", {"through": "2026-05-05T00:00:00Z"})
    late = sale(square, "OAK", "BURRITO", "2026-05-04T18:00:00Z")["payment_id"]
    [payout] = control(square, "settle", {"through": "2026-05-06T00:00:00Z"})["payouts"]
    assert entries_by_payment(square)[late] == (payout["created_at"], "2026-05-06")


def test_square_payouts_api_pages_and_webhooks_follow(make, receiver):
    square = make(SquareEmulator)
    for day in range(4, 9):  # Monday to Friday
        sale(square, "OAK", "BURRITO", f"2026-05-0{day}T17:00:00Z")
    with serve(square) as running:
        session = requests.Session()
        session.headers.update({"Authorization": f"Bearer {SECRETS['SQUARE_ACCESS_TOKEN']}"})
        made = requests.post(f"{running.url}/__emulator/settle",
                             json={"through": "2026-05-11T08:00:00Z"}).json()
        assert len(made["payouts"]) == 5 and len(made["paid"]) == 5

        seen, cursor = [], None
        while True:
            params = {"location_id": made["payouts"][0]["location_id"], "limit": 2, "sort_order": "ASC",
                      "begin_time": "2026-05-01T00:00:00Z", **({"cursor": cursor} if cursor else {})}
            page = session.get(f"{running.url}/v2/payouts", params=params).json()
            seen += page["payouts"]
            cursor = page.get("cursor")
            if not cursor:
                break
        assert [p["created_at"] for p in seen] == sorted(p["created_at"] for p in made["payouts"])
        assert all(p["status"] == "PAID" for p in seen)
        one = session.get(f"{running.url}/v2/payouts/{seen[0]['id']}").json()["payout"]
        assert one["id"] == seen[0]["id"] and one["end_to_end_id"]
        entries = session.get(f"{running.url}/v2/payouts/{seen[0]['id']}/payout-entries",
                              params={"limit": 1}).json()
        assert len(entries["payout_entries"]) == 1 and "cursor" not in entries
        assert session.get(f"{running.url}/v2/payouts", params={"limit": 101}).status_code == 400
        assert session.get(f"{running.url}/v2/payouts/po_nope").status_code == 404
        in_range = session.get(f"{running.url}/v2/payouts", params={
            "begin_time": "2026-05-06T00:00:00Z", "end_time": "2026-05-07T00:00:00Z"}).json()
        assert [p["created_at"] for p in in_range["payouts"]] == ["2026-05-06T00:00:00.000Z"]

        events = [json.loads(r["body"]) for r in receiver.wait_for(20)]  # 2 per sale, 2 per payout
        payout_events = [e for e in events if e["type"].startswith("payout.")]
        assert sorted(e["type"] for e in payout_events) == ["payout.paid"] * 5 + ["payout.sent"] * 5
        for event in payout_events:
            assert event["data"]["type"] == "payout"
            assert event["location_id"] == event["data"]["object"]["payout"]["location_id"]


# -- Shopify -----------------------------------------------------------------------------------------


def shopify_payout_dates(shopify) -> dict:
    """order id -> payout date of its charge row."""
    dates = {p["id"]: p["date"] for p in shopify.payments.payouts.values()}
    return {r["source_order_id"]: dates[r["payout_id"]] for r in shopify.payments.rows.values()
            if r["type"] == "charge" and r["payout_id"]}


def test_shopify_pays_a_utc_day_the_next_weekday_and_the_weekend_on_monday(make):
    shopify = make(ShopifyEmulator)
    at = {"thu_late": "2026-03-05T23:59:59Z", "fri_early": "2026-03-06T00:00:01Z",
          "sat": "2026-03-07T12:00:00Z", "sun_late": "2026-03-08T23:59:59Z",
          "mon_early": "2026-03-09T00:00:01Z"}
    orders = {name: sale(shopify, "OAK", "BURRITO", moment)["order_id"] for name, moment in at.items()}
    created = control(shopify, "settle", {"through": "2026-03-10T12:00:00Z"})["payouts"]
    dates = shopify_payout_dates(shopify)
    assert {name: dates[order] for name, order in orders.items()} == {
        "thu_late": "2026-03-06", "fri_early": "2026-03-09", "sat": "2026-03-09", "sun_late": "2026-03-09",
        "mon_early": "2026-03-10"}
    assert [p["date"] for p in created] == ["2026-03-06", "2026-03-09", "2026-03-10"]
    statuses = {p["date"]: p["status"] for p in shopify.payments.payouts.values()}
    assert statuses == {"2026-03-06": "paid", "2026-03-09": "paid", "2026-03-10": "scheduled"}


def test_shopify_refund_after_payout_and_dispute_are_rows_of_a_later_payout(make):
    shopify = make(ShopifyEmulator)
    order_id = sale(shopify, "OAK", "BURRITO", "2026-03-02T15:00:00Z")["order_id"]
    [first] = control(shopify, "settle", {"through": "2026-03-03T00:00:00Z"})["payouts"]
    control(shopify, "refund", {"order_id": order_id, "amount": 200, "created_at": "2026-03-04T10:00:00Z"})
    control(shopify, "dispute", {"order_id": order_id, "amount": 300, "created_at": "2026-03-04T11:00:00Z"})
    control(shopify, "fee-adjustment", {"amount": 40, "created_at": "2026-03-04T12:00:00Z"})
    [later] = control(shopify, "settle", {"through": "2026-03-05T00:00:00Z"})["payouts"]

    rows = {r["type"]: r for r in shopify.payments.rows.values() if r["payout_id"] == later["id"]}
    assert set(rows) == {"refund", "dispute", "adjustment", "payout"}
    assert (rows["refund"]["amount"], rows["refund"]["fee"]) == ("-2.00", "0.00")
    dispute = rows["dispute"]
    assert (dispute["amount"], dispute["fee"], dispute["net"]) == ("-3.00", "15.00", "-18.00")
    assert rows["dispute"]["source_type"] == "Payments::Dispute"
    assert (rows["adjustment"]["amount"], rows["adjustment"]["net"]) == ("0.00", "-0.40")
    assert later["amount"] == "-20.40" and rows["payout"]["amount"] == "20.40"
    assert later["summary"]["refunds_gross_amount"] == "-2.00"
    assert later["summary"]["adjustments_gross_amount"] == "-3.00"
    assert later["summary"]["adjustments_fee_amount"] == "15.40"
    assert first["id"] != later["id"]


def test_shopify_payments_rest_lists_page_with_link_headers(make):
    shopify = make(ShopifyEmulator)
    for day in range(2, 7):
        sale(shopify, "OAK", "BURRITO", f"2026-03-0{day}T15:00:00Z")
    sale(shopify, "OAK", "BURRITO", "2026-03-09T15:00:00Z")  # not paid out yet
    with serve(shopify) as running:
        session = requests.Session()
        session.headers.update({"X-Shopify-Access-Token": SECRETS["SHOPIFY_ACCESS_TOKEN"]})
        requests.post(f"{running.url}/__emulator/settle", json={"through": "2026-03-09T00:00:00Z"})
        base = f"{running.url}/admin/api/2026-04/shopify_payments"
        url, dates = f"{base}/payouts.json?limit=2", []
        while url:
            answer = session.get(url)
            assert answer.status_code == 200
            dates += [p["date"] for p in answer.json()["payouts"]]
            url = answer.links.get("next", {}).get("url")
        assert dates == ["2026-03-09", "2026-03-06", "2026-03-05", "2026-03-04", "2026-03-03"]  # newest first

        payout = session.get(f"{base}/payouts.json", params={"date": "2026-03-04"}).json()["payouts"][0]
        assert session.get(f"{base}/payouts/{payout['id']}.json").json()["payout"] == payout
        rows = session.get(f"{base}/balance/transactions.json", params={"payout_id": payout["id"]}).json()
        assert sorted(r["type"] for r in rows["transactions"]) == ["charge", "payout"]
        first, *rest = session.get(f"{base}/balance/transactions.json",
                                   params={"limit": 2, "since_id": 0}).json()["transactions"]
        walked = session.get(f"{base}/balance/transactions.json",
                             params={"since_id": rest[-1]["id"]}).json()["transactions"]
        every_id = sorted(r["id"] for r in shopify.payments.rows.values())
        assert [r["id"] for r in [first, *rest, *walked]] == every_id
        pending = session.get(f"{base}/balance/transactions.json",
                              params={"payout_status": "pending"}).json()["transactions"]
        assert [(r["type"], r["payout_id"]) for r in pending] == [("charge", None)]
        balance = session.get(f"{base}/balance.json").json()["balance"]
        assert balance == [{"currency": "USD", "amount": pending[0]["net"]}]
        assert session.get(f"{base}/payouts/1.json").status_code == 404


# -- Toast and Clover --------------------------------------------------------------------------------


def toast_sku(toast) -> str:
    return next(iter(next(iter(toast.restaurants.values())).items.values())).sku


def test_toast_business_date_follows_closeout_across_the_autumn_dst_change(make):
    toast = make(ToastEmulator)
    sku = toast_sku(toast)
    # New York leaves DST on Sunday 2026-11-01 at 2 AM: 4 AM EDT is 08:00 UTC, 4 AM EST 09:00 UTC.
    cases = {"2026-10-31T07:59:00Z": 20261030, "2026-10-31T08:00:00Z": 20261031,
             "2026-11-01T08:30:00Z": 20261031, "2026-11-01T09:00:00Z": 20261101}
    for moment, business_date in cases.items():
        order_id = sale(toast, "BKN", sku, moment)["order_id"]
        assert toast.orders[order_id].doc["businessDate"] == business_date
    made = control(toast, "settle", {"through": "2026-11-05T00:00:00Z"})["deposits"]
    assert {d["business_date"]: (d["captured_at"], d["settled_date"]) for d in made} == {
        20261030: ("2026-10-31T08:00:00+00:00", "2026-11-02"),  # captured Saturday: paid Monday
        20261031: ("2026-11-01T09:00:00+00:00", "2026-11-02"),
        20261101: ("2026-11-02T09:00:00+00:00", "2026-11-03"),
    }


def test_toast_batch_captured_after_the_eastern_cut_off_deposits_a_day_later(make):
    toast = make(ToastEmulator)
    toast.deposit_cutoff = (3, 0)  # a capture at the 4 AM closeout is now "late"
    sale(toast, "BKN", toast_sku(toast), "2026-06-02T15:00:00Z")  # Tuesday
    [deposit] = control(toast, "settle", {"through": "2026-06-05T00:00:00Z"})["deposits"]
    assert deposit["settled_date"] == "2026-06-05"  # captured Wednesday 4 AM: Friday, not Thursday


def clover_deposit_of(clover, order_id: str) -> dict:
    payment_id = clover.orders[order_id].payments[0]["id"]
    batch_id = next(m.batch_id for m in clover.book.movements if m.id == payment_id)
    return clover.deposits[batch_id]


def test_clover_batches_close_at_local_midnight_by_default(make):
    clover = make(CloverEmulator)
    sku = next(iter(next(iter(clover.merchants.values())).items.values())).sku
    friday = sale(clover, "CHI", sku, "2026-03-07T05:59:00Z")["order_id"]  # 11:59 PM CST Friday
    saturday = sale(clover, "CHI", sku, "2026-03-07T06:01:00Z")["order_id"]
    control(clover, "settle", {"through": "2026-03-12T00:00:00Z"})
    first, second = clover_deposit_of(clover, friday), clover_deposit_of(clover, saturday)
    assert (first["start"], first["end"]) == ("2026-03-06T00:00:00-06:00", "2026-03-07T00:00:00-06:00")
    assert second["end"] == "2026-03-08T00:00:00-06:00"
    assert first["date_funded"] == second["date_funded"] == "2026-03-09"  # the next weekday


def test_clover_batch_closeout_hour_moves_the_batch_boundary(make):
    clover = make(CloverEmulator)
    clover.batch_closeout_hour = 22
    sku = next(iter(next(iter(clover.merchants.values())).items.values())).sku
    before = sale(clover, "CHI", sku, "2026-03-11T02:59:00Z")["order_id"]  # 9:59 PM CDT Tuesday
    after = sale(clover, "CHI", sku, "2026-03-11T03:01:00Z")["order_id"]  # 10:01 PM
    control(clover, "settle", {"through": "2026-03-13T00:00:00Z"})
    first, second = clover_deposit_of(clover, before), clover_deposit_of(clover, after)
    assert first["end"] == "2026-03-10T22:00:00-05:00" and first["date_funded"] == "2026-03-11"
    assert second["end"] == "2026-03-11T22:00:00-05:00" and second["date_funded"] == "2026-03-12"
