"""The Toast emulator over real HTTP: what Toast accepts, refuses and sends.

No database: the emulator runs in-process on a free port and a local receiver plays
Concord's webhook endpoint.
"""

import json
import re
import time
from pathlib import Path

import pytest
import requests

from apps.connectors.toast import signatures
from apps.demo import demo_data
from apps.demo.dev_credentials import SECRETS, platform_location_id
from apps.emulators.toast.emulator import ToastEmulator
from tests.emulators.support import WebhookReceiver, serve

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "platforms"
RESTAURANT = platform_location_id("toast", "BKN")
TOAST_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$")
LOGIN = "/authentication/v1/authentication/login"
CREDENTIALS = {"clientId": SECRETS["TOAST_CLIENT_ID"],
               "clientSecret": SECRETS["TOAST_CLIENT_SECRET"],
               "userAccessType": "TOAST_MACHINE_CLIENT"}


@pytest.fixture
def receiver():
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def toast(receiver):
    emulator = ToastEmulator(concord_url=receiver.url, rate_limits=False)
    with serve(emulator) as running:
        yield Toast(running)


class Toast:
    """The running emulator plus a logged-in requests session."""

    def __init__(self, running):
        self.running = running
        self.emulator = running.emulator
        self.url = running.url
        token = requests.post(self.url + LOGIN, json=CREDENTIALS).json()["token"]["accessToken"]
        self.headers = {"Authorization": f"Bearer {token}",
                        "Toast-Restaurant-External-ID": RESTAURANT}
        self.menu = self.get("/menus/v2/menus").json()
        self.dining = {d["name"]: d for d in self.get("/config/v2/diningOptions").json()}

    def get(self, path, **kwargs):
        return requests.get(self.url + path, headers=self.headers, **kwargs)

    def post(self, path, body, **kwargs):
        return requests.post(self.url + path, json=body, headers=self.headers, **kwargs)

    def put(self, path, body):
        return requests.put(self.url + path, json=body, headers=self.headers)

    def item(self, sku):
        for group in self.menu["menus"][0]["menuGroups"]:
            for item in group["menuItems"]:
                if item["sku"] == sku:
                    return item, group
        raise KeyError(sku)

    def modifier(self, item, option_sku):
        for ref in item["modifierGroupReferences"]:
            group = self.menu["modifierGroupReferences"][str(ref)]
            for option_ref in group["modifierOptionReferences"]:
                option = self.menu["modifierOptionReferences"][str(option_ref)]
                if option["sku"] == option_sku:
                    return {"item": {"guid": option["guid"]},
                            "optionGroup": {"guid": group["guid"]}, "quantity": 1}
        raise KeyError(option_sku)

    def selection(self, sku, quantity=1, modifiers=()):
        item, group = self.item(sku)
        return {"item": {"guid": item["guid"]}, "itemGroup": {"guid": group["guid"]},
                "quantity": quantity,
                "modifiers": [self.modifier(item, m) for m in modifiers]}

    def order(self, *selections, dining="Concord Pickup", external_id=None, **check):
        check.setdefault("customer", {"firstName": "Ana", "lastName": "Ruiz",
                                      "email": "ana@example.com", "phone": "510-555-0123"})
        body = {"diningOption": {"guid": self.dining[dining]["guid"]},
                "checks": [{"selections": list(selections), **check}]}
        if external_id:
            body["externalId"] = external_id
        return body

    def stock(self, sku):
        return self.emulator.state_document()["stock"]["BKN"][sku]


def burrito_order(toast, **kwargs):
    return toast.order(toast.selection("BURRITO", 2, ["EXTRA-GUAC"]), **kwargs)


# -- authentication ----------------------------------------------------------------------------


def test_login_answers_the_documented_token_response(toast):
    expected = json.loads((FIXTURES / "toast_auth_login_response.json").read_text())

    answer = requests.post(toast.url + LOGIN, json=CREDENTIALS)

    assert answer.status_code == 200
    body = answer.json()
    assert body.keys() == expected.keys() and body["token"].keys() == expected["token"].keys()
    assert body["status"] == "SUCCESS" and body["token"]["tokenType"] == "Bearer"
    assert body["token"]["scope"] is None and body["token"]["expiresIn"] == 86400
    assert body["token"]["accessToken"].count(".") == 2  # JWT-shaped


@pytest.mark.parametrize(("change", "status"), [
    ({"clientSecret": "wrong"}, 401),
    ({"clientId": "someone-else"}, 401),
    ({"userAccessType": None}, 400),
])
def test_login_refuses_bad_credentials_with_an_error_message(toast, change, status):
    answer = requests.post(toast.url + LOGIN, json={**CREDENTIALS, **change})

    assert answer.status_code == status
    assert {"status", "code", "message", "requestId"} <= answer.json().keys()


@pytest.mark.parametrize(("headers", "status"), [
    ({}, 401),
    ({"Authorization": "Bearer not-a-token", "Toast-Restaurant-External-ID": RESTAURANT}, 401),
    ({"Toast-Restaurant-External-ID": None}, 400),
    ({"Toast-Restaurant-External-ID": "not-a-guid"}, 400),
    ({"Toast-Restaurant-External-ID": "00000000-1111-2222-3333-444444444444"}, 401),
])
def test_calls_need_a_token_and_a_known_restaurant(toast, headers, status):
    sent = {**toast.headers, **headers} if headers else {}
    sent = {k: v for k, v in sent.items() if v is not None}

    answer = requests.get(toast.url + "/menus/v2/metadata", headers=sent)

    assert answer.status_code == status
    assert answer.json()["status"] == status


# -- menus and configuration -------------------------------------------------------------------


def test_menu_carries_every_demo_sku_with_decimal_prices_and_resolvable_modifiers(toast):
    menu = toast.menu
    items = [i for g in menu["menus"][0]["menuGroups"] for i in g["menuItems"]]

    assert menu["restaurantGuid"] == RESTAURANT
    assert sorted(i["sku"] for i in items) == sorted(demo_data.variant_skus())
    burrito, _ = toast.item("BURRITO")
    assert burrito["price"] == 9.5
    groups = [menu["modifierGroupReferences"][str(r)] for r in burrito["modifierGroupReferences"]]
    assert [g["name"] for g in groups] == ["Add-ons", "Salsa"]
    assert (groups[1]["minSelections"], groups[1]["maxSelections"]) == (0, 1)
    options = [menu["modifierOptionReferences"][str(r)] for r in groups[0]["modifierOptionReferences"]]
    assert options[0]["sku"] == "EXTRA-GUAC" and options[0]["price"] == 2


def test_ids_are_the_same_after_a_restart(toast):
    again = ToastEmulator(rate_limits=False)

    assert again.restaurants[RESTAURANT].items.keys() == toast.emulator.restaurants[
        RESTAURANT].items.keys()


def test_metadata_and_dining_options(toast):
    metadata = toast.get("/menus/v2/metadata").json()

    assert metadata == {"restaurantGuid": RESTAURANT, "lastUpdated": toast.menu["lastUpdated"]}
    assert {name: d["behavior"] for name, d in toast.dining.items()} == {
        "Take Out": "TAKE_OUT", "Delivery": "DELIVERY", "Dine In": "DINE_IN",
        "Concord Pickup": "TAKE_OUT", "Concord Delivery": "DELIVERY"}


# -- orders ----------------------------------------------------------------------------------------


def test_post_order_answers_a_priced_order_and_takes_stock(toast):
    before = toast.stock("BURRITO")["quantity"]

    answer = toast.post("/orders/v2/orders", burrito_order(toast, external_id="concord:phone:1",
                                                           tabName="PHONE Ana"))

    assert answer.status_code == 200
    order = answer.json()
    check = order["checks"][0]
    selection = check["selections"][0]
    assert order["source"] == "API" and order["entityType"] == "Order"
    assert order["externalId"] == "concord:phone:1"
    assert isinstance(order["businessDate"], int) and len(str(order["businessDate"])) == 8
    assert TOAST_DATE.match(order["createdDate"]) and TOAST_DATE.match(check["openedDate"])
    assert (check["amount"], check["totalAmount"], check["taxAmount"]) == (23, 23, 0)
    assert (selection["price"], selection["receiptLinePrice"], selection["quantity"]) == (
        23, 11.5, 2)
    assert selection["modifiers"][0]["price"] == 4  # 2.00 guac on each of 2 burritos
    assert check["customer"]["phone"] == "5105550123" and check["tabName"] == "PHONE Ana"
    assert toast.stock("BURRITO")["quantity"] == before - 2
    [summary] = toast.emulator.state_document()["orders"]
    assert summary["idempotency_key"] == "concord:phone:1" and summary["source"] == "API"
    assert summary["lines"] == [{"sku": "BURRITO", "quantity": 2}]


def test_prices_endpoint_prices_without_creating(toast):
    answer = toast.post("/orders/v2/prices", burrito_order(toast, external_id="x"))

    assert answer.status_code == 200 and answer.json()["checks"][0]["totalAmount"] == 23
    assert toast.emulator.state_document()["orders"] == []


def _bad_orders(toast):
    good = burrito_order(toast)
    selection = good["checks"][0]["selections"][0]
    two_salsas = toast.selection("BURRITO", 1, ["SALSA-VERDE", "SALSA-ROJA"])
    latte_milk = toast.modifier(toast.item("LATTE-S")[0], "OAT-MILK")
    return {
        "no dining option": ({**good, "diningOption": None}, 400),
        "unknown dining option": ({**good, "diningOption": {"guid": "nope"}}, 404),
        "no checks": ({**good, "checks": []}, 400),
        "empty selections": (toast.order(), 400),
        "no item group": (toast.order({**selection, "itemGroup": None}), 400),
        "no quantity": (toast.order({k: v for k, v in selection.items() if k != "quantity"}),
                        400),
        "unknown item": (toast.order({**selection, "item": {"guid": "nope"}}), 404),
        "foreign modifier group": (toast.order({**selection, "modifiers": [latte_milk]}), 400),
        "too many salsas": (toast.order(two_salsas), 400),
        "take out without customer": (toast.order(selection, customer=None), 400),
        "customer without email": (toast.order(selection, customer={
            "firstName": "A", "lastName": "B", "phone": "1"}), 400),
        "card payment": (toast.order(selection, payments=[{"type": "CREDIT", "amount": 23}]),
                         400),
        "delivery without address": (toast.order(selection, dining="Concord Delivery"), 400),
    }


def test_post_order_refuses_what_toast_refuses_and_changes_nothing(toast):
    before = toast.emulator.state_document()

    for name, (body, status) in _bad_orders(toast).items():
        answer = toast.post("/orders/v2/orders", body)
        assert answer.status_code == status, name
        assert {"status", "message", "requestId"} <= answer.json().keys(), name

    after = toast.emulator.state_document()
    assert after["orders"] == [] and after["stock"] == before["stock"]


def test_post_order_needs_a_json_content_type(toast):
    answer = requests.post(toast.url + "/orders/v2/orders", data=json.dumps(burrito_order(toast)),
                           headers={**toast.headers, "Content-Type": "text/plain"})

    assert answer.status_code == 415
    assert toast.emulator.state_document()["orders"] == []


def test_dine_in_needs_no_customer(toast):
    body = toast.order(toast.selection("CHURROS"), dining="Dine In", customer=None)
    del body["checks"][0]["customer"]

    assert toast.post("/orders/v2/orders", body).status_code == 200


def test_a_reused_external_id_fails_and_the_status_is_configurable(toast):
    first = toast.post("/orders/v2/orders", burrito_order(toast, external_id="concord:web:7"))
    again = toast.post("/orders/v2/orders", burrito_order(toast, external_id="concord:web:7"))
    toast.emulator.duplicate_external_id_status = 400
    third = toast.post("/orders/v2/orders", burrito_order(toast, external_id="concord:web:7"))

    assert first.status_code == 200
    assert again.status_code == 409 and again.json()["fieldName"] == "externalId"
    assert third.status_code == 400
    assert len(toast.emulator.state_document()["orders"]) == 1


def test_orders_are_found_by_guid_business_date_range_and_external_id(toast):
    created = [toast.post("/orders/v2/orders", burrito_order(toast, external_id=f"c:{n}")).json()
               for n in range(3)]
    day = created[0]["businessDate"]

    by_guid = toast.get(f"/orders/v2/orders/{created[1]['guid']}").json()
    by_day = toast.get("/orders/v2/ordersBulk", params={"businessDate": day}).json()
    page_two = toast.get("/orders/v2/ordersBulk",
                         params={"businessDate": day, "pageSize": 2, "page": 2}).json()
    in_range = toast.get("/orders/v2/ordersBulk", params={
        "startDate": "2000-01-01T00:00:00.000+0000", "endDate": "2100-01-01T00:00:00.000+0000",
    }).json()
    by_external = toast.get("/orders/v2/ordersBulk", params={"externalId": "c:2"}).json()

    assert by_guid["guid"] == created[1]["guid"]
    assert [o["guid"] for o in by_day] == [o["guid"] for o in created]
    assert [o["guid"] for o in page_two] == [created[2]["guid"]]
    assert len(in_range) == 3
    assert [o["guid"] for o in by_external] == [created[2]["guid"]]
    assert toast.get("/orders/v2/orders/nope").status_code == 404
    assert toast.get("/orders/v2/ordersBulk").status_code == 400


def test_void_marks_the_order_voided_and_gives_stock_back(toast):
    before = toast.stock("BURRITO")["quantity"]
    order = toast.post("/orders/v2/orders", burrito_order(toast)).json()

    voided = toast.post(f"/orders/v2/orders/{order['guid']}/void", {})

    assert voided.status_code == 200
    assert voided.json()["voided"] is True and voided.json()["checks"][0]["voided"] is True
    assert toast.stock("BURRITO")["quantity"] == before


# -- stock -----------------------------------------------------------------------------------------


def test_stock_update_follows_the_toast_rules(toast, receiver):
    item, _ = toast.item("FLAN")

    for bad in ({"guid": item["guid"], "status": "IN_STOCK", "quantity": 3},
                {"guid": item["guid"], "status": "QUANTITY", "quantity": 0},
                {"guid": item["guid"], "status": "QUANTITY"},
                {"guid": item["guid"], "status": "SOLD_OUT"}):
        assert toast.put("/stock/v1/inventory/update", [bad]).status_code == 400

    answer = toast.put("/stock/v1/inventory/update",
                       [{"guid": item["guid"], "status": "QUANTITY", "quantity": 3.0}])

    assert answer.status_code == 200
    assert answer.json() == [{"guid": item["guid"], "itemGuidValidity": "VALID",
                              "status": "QUANTITY", "quantity": 3.0,
                              "multiLocationId": item["multiLocationId"],
                              "versionId": item["guid"]}]
    [webhook] = receiver.wait_for(1)
    assert json.loads(webhook["body"])["eventType"] == "low_quantity"


def test_inventory_lists_only_items_not_in_stock_and_search_covers_all(toast):
    flan, _ = toast.item("FLAN")
    mug, _ = toast.item("MUG")
    toast.put("/stock/v1/inventory/update", [
        {"guid": flan["guid"], "status": "OUT_OF_STOCK"},
        {"multiLocationId": mug["multiLocationId"], "status": "IN_STOCK"},
    ])

    out = toast.get("/stock/v1/inventory", params={"status": "OUT_OF_STOCK"}).json()
    listed = {e["guid"] for e in toast.get("/stock/v1/inventory").json()}
    found = toast.post("/stock/v1/inventory/search",
                       {"guids": [mug["guid"], "00000000-0000-0000-0000-000000000000"]}).json()

    assert [e["guid"] for e in out] == [flan["guid"]] and out[0]["quantity"] is None
    assert mug["guid"] not in listed and flan["guid"] in listed
    assert found[0]["status"] == "IN_STOCK" and found[0]["itemGuidValidity"] == "VALID"
    assert found[1]["itemGuidValidity"] == "INVALID"


# -- the register and its webhooks ---------------------------------------------------------------


def test_a_register_sale_is_accepted_past_zero_and_sends_signed_stock_webhooks(toast, receiver):
    answer = requests.post(toast.url + "/__emulator/sale", json={
        "location": "BKN", "lines": [{"sku": "MOLCAJETE", "quantity": 5}],
        "tender": {"type": "card"}})

    assert answer.json()["accepted"] is True
    assert toast.stock("MOLCAJETE") == {"quantity": -2, "available": False,
                                        "status": "OUT_OF_STOCK"}
    [webhook] = receiver.wait_for(1)
    body, headers = webhook["body"], webhook["headers"]
    message = json.loads(body)
    assert webhook["path"] == "/webhooks/toast/"
    assert (message["eventCategory"], message["eventType"]) == ("stock", "out_of_stock")
    assert message["details"]["status"] == "OUT_OF_STOCK" and "quantity" not in message[
        "details"]
    assert headers["Toast-Event-Type"] == "out_of_stock"
    assert headers["Toast-Restaurant-External-ID"] == RESTAURANT
    timestamp = signatures.timestamp_from(body, headers)
    assert signatures.verify(SECRETS["TOAST_WEBHOOK_SECRET"], body, timestamp,
                             headers["Toast-Signature"])
    order = toast.get(f"/orders/v2/orders/{answer.json()['order_id']}").json()
    assert order["source"] == "In Store" and order["checks"][0]["paymentStatus"] == "CLOSED"
    assert order["checks"][0]["payments"][0]["amount"] == 249.95


def test_staff_86_and_restock_send_out_of_stock_then_in_stock(toast, receiver):
    control = toast.url + "/__emulator/stock"

    requests.post(control, json={"location": RESTAURANT, "sku": "FLAN", "available": False})
    requests.post(control, json={"location": "BKN", "sku": "FLAN", "available": True,
                                 "quantity": 40})

    events = [json.loads(w["body"])["eventType"] for w in receiver.wait_for(2)]
    assert events == ["out_of_stock", "in_stock"]
    assert toast.stock("FLAN") == {"quantity": 40, "available": True, "status": "QUANTITY"}


def test_a_failed_delivery_is_retried_with_the_next_attempt_number(toast, receiver):
    receiver.answers = [503]

    requests.post(toast.url + "/__emulator/stock",
                  json={"location": "BKN", "sku": "FLAN", "quantity": 2})

    first, second = receiver.wait_for(2)
    assert first["body"] == second["body"]
    assert (first["headers"]["Toast-Attempt-Number"],
            second["headers"]["Toast-Attempt-Number"]) == ("1", "2")


def test_a_register_refund_is_recorded_on_the_payment_without_a_webhook(toast, receiver):
    sale = requests.post(toast.url + "/__emulator/sale", json={
        "location": "BKN", "lines": [{"sku": "CHURROS", "quantity": 2}]}).json()

    refund = requests.post(toast.url + "/__emulator/refund",
                           json={"order_id": sale["order_id"], "amount": 550})
    too_much = requests.post(toast.url + "/__emulator/refund",
                             json={"order_id": sale["order_id"], "amount": 551})

    assert refund.status_code == 200 and too_much.status_code == 400
    payment = toast.get(f"/orders/v2/orders/{sale['order_id']}").json()["checks"][0][
        "payments"][0]
    assert payment["refundStatus"] == "PARTIAL" and payment["refund"]["refundAmount"] == 5.5
    assert toast.emulator.state_document()["refunds"][0]["amount"] == 550
    toast.emulator.flush_webhooks(2)
    assert receiver.received == []


def test_reset_empties_or_reseeds(toast):
    requests.post(toast.url + "/__emulator/reset", json={"seed": False})
    empty = toast.emulator.state_document()
    requests.post(toast.url + "/__emulator/reset", json={"seed": True})

    assert empty["locations"] == [] and empty["stock"] == {}
    assert toast.get("/menus/v2/metadata").status_code == 200  # the token survived


def test_an_injected_500_is_an_error_message_and_changes_nothing(toast):
    requests.post(toast.url + "/__emulator/faults", json={"error_rate": 1.0})

    answer = toast.post("/orders/v2/orders", burrito_order(toast))

    assert answer.status_code == 500 and "requestId" in answer.json()
    assert toast.emulator.state_document()["orders"] == []


# -- rate limits -----------------------------------------------------------------------------------


@pytest.fixture
def limited_toast(receiver):
    emulator = ToastEmulator(concord_url=receiver.url)
    with serve(emulator) as running:
        session = requests.Session()
        token = session.post(running.url + LOGIN, json=CREDENTIALS).json()["token"]
        session.headers.update({"Authorization": f"Bearer {token['accessToken']}",
                                "Toast-Restaurant-External-ID": RESTAURANT})
        yield running.url, session


def test_menus_are_limited_to_one_read_a_second(limited_toast):
    url, session = limited_toast

    first = session.get(url + "/menus/v2/menus")
    second = session.get(url + "/menus/v2/menus")

    assert first.status_code == 200 and second.status_code == 429
    assert second.headers["X-Toast-RateLimit-By"] == "ENDPOINT"
    assert int(second.headers["Retry-After"]) >= 1
    assert second.json()["status"] == 429


def test_twenty_requests_a_second_then_429_with_rate_headers(limited_toast):
    url, session = limited_toast
    started = time.monotonic()

    answers = [session.get(url + "/menus/v2/metadata") for _ in range(30)]

    assert time.monotonic() - started < 1.0, "too slow to test the per-second limit"
    statuses = [a.status_code for a in answers]
    assert statuses[:20] == [200] * 20 and 429 in statuses[20:]
    for answer in answers:
        assert {"X-Toast-RateLimit-By", "X-Toast-RateLimit-Remaining",
                "X-Toast-RateLimit-Reset"} <= answer.headers.keys()
    assert int(answers[0].headers["X-Toast-RateLimit-Reset"]) >= int(time.time())
