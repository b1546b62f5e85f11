"""The payment and refund lists the money readers call, served by the emulators in process:
Square ListPayments / ListPaymentRefunds, Toast's payment GUIDs by business date and the
restaurant's closeout hour, Clover's payments and refunds with its 90-day default."""

from datetime import UTC, datetime, timedelta

import pytest

from apps.demo.dev_credentials import SECRETS
from apps.emulators.clover.emulator import CloverEmulator
from apps.emulators.square.emulator import SquareEmulator
from apps.emulators.toast.emulator import ToastEmulator
from tests.emulators.support import WebhookReceiver


@pytest.fixture
def receiver():
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def make(receiver):
    made = []

    def build(cls):
        made.append(cls(concord_url=receiver.url, rate_limits=False))
        return made[-1]

    yield build
    for emulator in made:
        emulator.webhooks.stop()


def control(emulator, action: str, body: dict) -> dict:
    answer = emulator.call("POST", f"/__emulator/{action}", body=body)
    assert answer.status == 200, answer.body
    return answer.body


def recent(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat().replace("+00:00", "Z")


def test_square_lists_payments_and_refunds_by_time_newest_first(make):
    square = make(SquareEmulator)
    square.refund_settle_s = 0.01
    headers = {"Authorization": f"Bearer {SECRETS['SQUARE_ACCESS_TOKEN']}"}
    sold = [control(square, "sale", {"location": "OAK", "lines": [{"sku": "BURRITO", "quantity": 1}],
                                     "created_at": recent(days)}) for days in (3, 2, 1)]
    control(square, "refund", {"order_id": sold[0]["order_id"], "amount": 100, "created_at": recent(1)})

    listed = square.call("GET", "/v2/payments", headers=headers).json_body()["payments"]
    assert [p["id"] for p in listed] == [s["payment_id"] for s in reversed(sold)]
    query = f"begin_time={recent(2.5)}&end_time={recent(1.5)}&sort_order=ASC"
    window = square.call("GET", f"/v2/payments?{query}", headers=headers).json_body()["payments"]
    assert [p["id"] for p in window] == [sold[1]["payment_id"]]
    assert square.call("GET", "/v2/payments?limit=0", headers=headers).status == 400

    [refund] = square.call("GET", "/v2/refunds", headers=headers).json_body()["refunds"]
    assert refund["payment_id"] == sold[0]["payment_id"]
    assert refund["processing_fee"][0]["amount_money"]["amount"] < 0
    assert square.call("GET", "/v2/refunds?source_type=CASH", headers=headers).json_body() == {}


def test_toast_lists_payment_guids_by_business_date_and_names_its_closeout_hour(make):
    toast = make(ToastEmulator)
    restaurant = next(iter(toast.restaurants.values()))
    headers = {"Toast-Restaurant-External-ID": restaurant.guid,
               "Authorization": f"Bearer {toast._issue_token(SECRETS['TOAST_CLIENT_ID'])}"}
    sku = next(iter(restaurant.items.values())).sku
    late = control(toast, "sale", {"location": "BKN", "lines": [{"sku": sku, "quantity": 1}],
                                   "created_at": "2026-07-15T06:00:00Z"})  # 2 AM: the 14th
    control(toast, "refund", {"order_id": late["order_id"], "amount": 100,
                              "created_at": "2026-07-16T15:00:00Z"})
    payment = toast.orders[late["order_id"]].doc["checks"][0]["payments"][0]

    def guids(query):
        return toast.call("GET", f"/orders/v2/payments?{query}", headers=headers)

    assert guids("paidBusinessDate=20260714").json_body() == [payment["guid"]]
    assert guids("paidBusinessDate=20260715").json_body() == []
    assert guids("refundBusinessDate=20260716").json_body() == [payment["guid"]]
    assert guids("").status == 400
    assert guids("paidBusinessDate=20260714&voidBusinessDate=20260714").status == 400
    one = toast.call("GET", f"/orders/v2/payments/{payment['guid']}", headers=headers).json_body()
    assert one["refund"]["refundBusinessDate"] == 20260716
    general = toast.call("GET", f"/restaurants/v1/restaurants/{restaurant.guid}",
                         headers=headers).json_body()["general"]
    assert (general["timeZone"], general["closeoutHour"]) == ("America/New_York", 4)


def test_clover_lists_payments_and_refunds_of_the_last_90_days_unless_filtered(make):
    clover = make(CloverEmulator)
    merchant = next(iter(clover.merchants.values()))
    headers = {"Authorization": f"Bearer {SECRETS['CLOVER_ACCESS_TOKEN']}"}
    sku = next(iter(merchant.items.values())).sku
    old = control(clover, "sale", {"location": "CHI", "lines": [{"sku": sku, "quantity": 1}],
                                   "created_at": recent(120)})
    new = control(clover, "sale", {"location": "CHI", "lines": [{"sku": sku, "quantity": 1}],
                                   "created_at": recent(5)})
    control(clover, "refund", {"order_id": new["order_id"], "amount": 100, "created_at": recent(4)})
    base = f"/v3/merchants/{merchant.id}"

    def ids(path):
        return [e["id"] for e in clover.call("GET", f"{base}{path}", headers=headers).json_body()["elements"]]

    new_payment = clover.orders[new["order_id"]].payments[0]["id"]
    old_payment = clover.orders[old["order_id"]].payments[0]["id"]
    assert ids("/payments") == [new_payment]
    since = int((datetime.now(UTC) - timedelta(days=200)).timestamp() * 1000)
    assert ids(f"/payments?filter=createdTime>={since}") == [new_payment, old_payment]  # newest first
    assert ids(f"/refunds?filter=createdTime>={since}") == [clover.orders[new["order_id"]].refunds[0]["id"]]
    assert clover.call("GET", f"{base}/payments?filter=tipAmount>0", headers=headers).status == 400
