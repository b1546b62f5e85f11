"""The Clover emulator over real HTTP: items, stock, orders, limits and webhooks.

No database: the emulator runs in-process on a free port and a local receiver plays
Concord's webhook endpoint.
"""

import json
import threading
from pathlib import Path

import pytest
import requests

from apps.connectors.clover import signatures
from apps.demo import demo_data
from apps.demo.dev_credentials import SECRETS, platform_location_id
from apps.emulators.clover.emulator import CloverEmulator
from tests.emulators.support import WebhookReceiver, serve

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "platforms"
MERCHANT = platform_location_id("clover", "CHI")
AUTH = {"Authorization": f"Bearer {SECRETS['CLOVER_ACCESS_TOKEN']}"}


@pytest.fixture
def receiver():
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def clover(receiver):
    emulator = CloverEmulator(concord_url=receiver.url, rate_limits=False)
    with serve(emulator) as running:
        yield Clover(running)


class Clover:
    def __init__(self, running):
        self.emulator = running.emulator
        self.url = running.url
        self.base = f"{running.url}/v3/merchants/{MERCHANT}"
        self.session = requests.Session()
        self.session.headers.update(AUTH)
        self.items = {i["sku"]: i for i in self.get("/items", params={"limit": 1000})
                      .json()["elements"]}
        groups = self.get("/modifier_groups", params={"expand": "modifiers"}).json()
        self.modifiers = {m["name"]: m for g in groups["elements"]
                          for m in g["modifiers"]["elements"]}
        self.order_types = {t["label"]: t for t in self.get("/order_types").json()["elements"]}

    def get(self, path, **kwargs):
        return self.session.get(self.base + path, **kwargs)

    def post(self, path, body):
        return self.session.post(self.base + path, json=body)

    def control(self, action, body):
        return requests.post(f"{self.url}/__emulator/{action}", json=body)

    def line(self, sku, *modifier_names):
        return {"item": {"id": self.items[sku]["id"]},
                "modifications": [{"modifier": {"id": self.modifiers[n]["id"]}}
                                  for n in modifier_names]}

    def stock(self, sku):
        return self.emulator.state_document()["stock"]["CHI"][sku]


def objects_in(webhooks):
    return [(e["objectId"], e["type"]) for w in webhooks
            for e in json.loads(w["body"])["merchants"][MERCHANT]]


# -- auth ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("headers", "merchant"), [
    ({}, MERCHANT),
    ({"Authorization": "Bearer wrong"}, MERCHANT),
    ({"Authorization": SECRETS["CLOVER_ACCESS_TOKEN"]}, MERCHANT),
    (AUTH, "OTHERMERCHANT"),
])
def test_calls_need_the_bearer_token_of_that_merchant(clover, headers, merchant):
    answer = requests.get(f"{clover.url}/v3/merchants/{merchant}/items", headers=headers)

    assert answer.status_code == 401 and "message" in answer.json()


# -- inventory -----------------------------------------------------------------------------------


def test_items_carry_the_demo_catalog_and_expand_on_request(clover):
    plain = clover.get("/items", params={"filter": "sku=BURRITO"}).json()["elements"][0]
    expanded = clover.get("/items", params={
        "filter": "sku=BURRITO", "expand": "itemStock,categories,modifierGroups",
    }).json()["elements"][0]

    assert sorted(clover.items) == sorted(demo_data.variant_skus())
    assert {"id", "name", "sku", "code", "price", "priceType", "available", "hidden",
            "autoManage", "modifiedTime"} <= plain.keys()
    assert "itemStock" not in plain and "modifierGroups" not in plain
    assert (plain["price"], plain["priceType"], plain["available"]) == (950, "FIXED", True)
    assert expanded["itemStock"]["quantity"] == demo_data.opening_stock("CHI", "BURRITO")
    assert expanded["categories"]["elements"][0]["name"] == "Food"
    assert [g["name"] for g in expanded["modifierGroups"]["elements"]] == ["Add-ons", "Salsa"]


def test_items_page_and_filter_like_clover(clover):
    first = clover.get("/items", params={"limit": 5}).json()
    second = clover.get("/items", params={"limit": 5, "offset": 5}).json()["elements"]
    low = clover.get("/items", params={"filter": "itemStock.quantity<10"}).json()["elements"]
    future = clover.get("/items", params={"filter": "modifiedTime>=99999999999999"}).json()

    assert len(first["elements"]) == 5 and first["href"].endswith("/items?limit=5")
    assert not {i["id"] for i in first["elements"]} & {i["id"] for i in second}
    assert "MOLCAJETE" in {i["sku"] for i in low}
    assert future["elements"] == []
    assert clover.get("/items", params={"filter": "colour=red"}).status_code == 400
    assert clover.get("/items", params={"limit": 5000}).status_code == 400


def test_item_stock_follows_the_documented_shapes(clover, receiver):
    item_id = clover.items["FLAN"]["id"]
    request = json.loads((FIXTURES / "clover_item_stock_update_request.json").read_text())
    expected = json.loads((FIXTURES / "clover_item_stock_update_response.json").read_text())

    updated = clover.post(f"/item_stocks/{item_id}", request)
    fetched = clover.get(f"/item_stocks/{item_id}")

    assert updated.status_code == 200
    assert updated.json() == {**expected, "item": {"id": item_id}}
    assert fetched.json() == updated.json()
    assert objects_in(receiver.wait_for(1)) == [(f"I:{item_id}", "UPDATE")]
    assert clover.post(f"/item_stocks/{item_id}", {"stockCount": 3}).status_code == 400
    assert clover.get("/item_stocks/NOSUCHITEM000").status_code == 404


def test_auto_managed_item_becomes_unavailable_at_zero_and_back(clover):
    item_id = clover.items["FLAN"]["id"]

    clover.post(f"/item_stocks/{item_id}", {"quantity": 0})
    at_zero = clover.get(f"/items/{item_id}").json()
    clover.post(f"/item_stocks/{item_id}", {"quantity": -2})
    negative = clover.get(f"/item_stocks/{item_id}").json()
    clover.post(f"/item_stocks/{item_id}", {"quantity": 4})

    assert at_zero["available"] is False
    assert negative["quantity"] == -2
    assert clover.get(f"/items/{item_id}").json()["available"] is True


def test_updating_an_item_sets_fields_and_moves_modified_time(clover):
    item = clover.items["TOTE"]

    answer = clover.post(f"/items/{item['id']}", {"available": False})

    assert answer.status_code == 200 and answer.json()["available"] is False
    assert answer.json()["modifiedTime"] >= item["modifiedTime"]
    assert clover.post(f"/items/{item['id']}", {"price": "12.00"}).status_code == 400
    assert clover.get(f"/items/{item['id']}").json()["price"] == item["price"]


# -- orders ----------------------------------------------------------------------------------------


def test_atomic_order_totals_in_cents_and_takes_stock(clover, receiver):
    before = clover.stock("BURRITO")["quantity"]
    cart = {"title": "concord:phone:9", "orderType": {"id": clover.order_types[
        "Concord Pickup"]["id"]}, "lineItems": [clover.line("BURRITO", "Extra guacamole"),
                                                 clover.line("BURRITO")]}

    answer = clover.post("/atomic_order/orders", {"orderCart": cart})

    assert answer.status_code == 200
    order = answer.json()
    assert (order["total"], order["currency"], order["state"]) == (2100, "USD", "open")
    assert order["title"] == "concord:phone:9"
    lines = order["lineItems"]["elements"]
    assert [line["price"] for line in lines] == [950, 950]
    assert lines[0]["modifications"]["elements"][0]["amount"] == 200
    assert clover.stock("BURRITO")["quantity"] == before - 2
    events = objects_in(receiver.wait_for(1))
    assert events == [(f"O:{order['id']}", "CREATE"),
                      (f"I:{clover.items['BURRITO']['id']}", "UPDATE")]


@pytest.mark.parametrize("cart", [
    {"lineItems": []},
    {"lineItems": [{"item": {"id": "NOSUCHITEM000"}}]},
    {"lineItems": [{"name": "no price"}]},
    {"lineItems": [{"price": 100, "modifications": [{"modifier": {"id": "nope"}}]}]},
    {"lineItems": [{"price": 100}], "orderType": {"id": "nope"}},
    {"lineItems": [{"price": 100}] * 3001},
])
def test_atomic_order_refuses_bad_carts_with_400_and_changes_nothing(clover, cart):
    before = clover.emulator.state_document()

    answer = clover.post("/atomic_order/orders", {"orderCart": cart})

    assert answer.status_code == 400 and answer.json()["message"]
    after = clover.emulator.state_document()
    assert after["orders"] == [] and after["stock"] == before["stock"]


def test_orders_are_found_by_title_and_modified_time(clover):
    made = [clover.post("/atomic_order/orders", {"orderCart": {
        "title": f"concord:web:{n}", "lineItems": [clover.line("FLAN")]}}).json()
        for n in range(3)]

    by_title = clover.get("/orders", params={"filter": "title=concord:web:1"}).json()
    recent = clover.get("/orders", params={
        "filter": f"modifiedTime>={made[0]['modifiedTime']}", "expand": "lineItems"}).json()

    assert [o["id"] for o in by_title["elements"]] == [made[1]["id"]]
    assert len(recent["elements"]) == 3
    assert "modifications" not in recent["elements"][0]["lineItems"]["elements"][0]


def test_get_order_expands_line_items_and_modifications_only_on_request(clover):
    made = clover.post("/atomic_order/orders", {"orderCart": {
        "lineItems": [clover.line("TACO-FISH", "Salsa verde")]}}).json()

    bare = clover.get(f"/orders/{made['id']}").json()
    full = clover.get(f"/orders/{made['id']}",
                      params={"expand": "lineItems,lineItems.modifications"}).json()

    assert "lineItems" not in bare
    assert full["lineItems"]["elements"][0]["modifications"]["elements"][0]["name"] == (
        "Salsa verde")
    assert clover.get("/orders/NOSUCHORDER00").status_code == 404


def test_custom_order_flow_keeps_the_apps_total_and_hides_unfinished_orders(clover):
    shell = clover.post("/orders", {"title": "concord:phone:3"}).json()
    listed_unfinished = clover.get("/orders").json()["elements"]

    line = clover.post(f"/orders/{shell['id']}/line_items",
                       {"item": {"id": clover.items["FLAN"]["id"]}})
    no_price = clover.post(f"/orders/{shell['id']}/line_items", {"name": "x"})
    clover.post(f"/orders/{shell['id']}", {"state": "open", "total": 600})

    assert shell["state"] is None and listed_unfinished == []
    assert line.status_code == 200 and line.json()["price"] == 600
    assert no_price.status_code == 400
    order = clover.get(f"/orders/{shell['id']}", params={"expand": "lineItems"}).json()
    assert (order["state"], order["total"]) == ("open", 600)
    assert len(order["lineItems"]["elements"]) == 1
    assert [o["id"] for o in clover.get("/orders").json()["elements"]] == [shell["id"]]


# -- the register and its webhooks ---------------------------------------------------------------


def test_a_register_sale_is_paid_goes_negative_and_sends_id_only_webhooks(clover, receiver):
    answer = clover.control("sale", {"location": "CHI", "tender": {"type": "card"},
                                     "lines": [{"sku": "MOLCAJETE", "quantity": 4}]})

    order_id = answer.json()["order_id"]
    assert answer.json()["accepted"] is True
    assert clover.stock("MOLCAJETE") == {"quantity": -1, "available": False}
    [webhook] = receiver.wait_for(1)
    payload = json.loads(webhook["body"])
    assert webhook["path"] == "/webhooks/clover/"
    assert signatures.verify(SECRETS["CLOVER_AUTH_CODE"], webhook["headers"]["X-Clover-Auth"])
    assert payload["appId"] and set(payload["merchants"]) == {MERCHANT}
    assert objects_in([webhook]) == [(f"O:{order_id}", "CREATE"),
                                     (f"I:{clover.items['MOLCAJETE']['id']}", "UPDATE")]
    assert all(isinstance(e["ts"], int) for e in payload["merchants"][MERCHANT])
    order = clover.get(f"/orders/{order_id}", params={"expand": "lineItems,payments"}).json()
    assert (order["state"], order["paymentState"], order["total"]) == ("locked", "PAID", 19996)
    assert len(order["lineItems"]["elements"]) == 4
    assert order["payments"]["elements"][0]["amount"] == 19996


def test_staff_stock_change_sends_an_item_update(clover, receiver):
    answer = clover.control("stock", {"location": MERCHANT, "sku": "FLAN", "quantity": 12,
                                      "available": False})

    assert answer.json() == {"location": "CHI", "sku": "FLAN", "quantity": 12,
                             "available": False}
    assert objects_in(receiver.wait_for(1)) == [(f"I:{clover.items['FLAN']['id']}", "UPDATE")]
    assert clover.get(f"/item_stocks/{clover.items['FLAN']['id']}").json()["quantity"] == 12


def test_a_register_refund_is_recorded_and_sends_an_order_update(clover, receiver):
    sale = clover.control("sale", {"location": "CHI",
                                   "lines": [{"sku": "CHURROS", "quantity": 2}]}).json()
    receiver.wait_for(1)
    receiver.clear()

    refund = clover.control("refund", {"order_id": sale["order_id"], "amount": 550,
                                       "lines": [{"sku": "CHURROS", "quantity": 1}]})
    too_much = clover.control("refund", {"order_id": sale["order_id"], "amount": 551})

    assert refund.status_code == 200 and too_much.status_code == 400
    assert objects_in(receiver.wait_for(1)) == [(f"O:{sale['order_id']}", "UPDATE")]
    order = clover.get(f"/orders/{sale['order_id']}",
                       params={"expand": "lineItems,refunds"}).json()
    assert order["paymentState"] == "PARTIALLY_REFUNDED"
    assert order["refunds"]["elements"][0]["amount"] == 550
    assert [line["refunded"] for line in order["lineItems"]["elements"]] == [True, False]


def test_state_document_names_locations_by_concord_code(clover):
    state = clover.emulator.state_document()

    assert state["platform"] == "clover"
    assert state["locations"] == [{"id": MERCHANT, "name": "CHI"}]
    assert state["stock"]["CHI"]["MUG"] == {
        "quantity": demo_data.opening_stock("CHI", "MUG"), "available": True}


# -- rate limits -----------------------------------------------------------------------------------


@pytest.fixture
def limited_clover(receiver):
    emulator = CloverEmulator(concord_url=receiver.url)
    with serve(emulator) as running:
        yield running


def test_sixteen_requests_a_second_per_token_then_token_limit_429(limited_clover):
    session = requests.Session()
    session.headers.update(AUTH)
    url = f"{limited_clover.url}/v3/merchants/{MERCHANT}/order_types"

    answers = [session.get(url) for _ in range(24)]

    statuses = [a.status_code for a in answers]
    assert statuses[:16] == [200] * 16 and 429 in statuses[16:]
    limited = next(a for a in answers if a.status_code == 429)
    assert limited.headers["X-RateLimit-tokenLimit"] == "16"


def test_more_than_five_in_flight_per_token_gets_a_concurrency_429(limited_clover):
    requests.post(f"{limited_clover.url}/__emulator/faults", json={"latency_ms": [300, 300]})
    url = f"{limited_clover.url}/v3/merchants/{MERCHANT}/order_types"
    answers = []

    def call():
        answers.append(requests.get(url, headers=AUTH))

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    limited = [a for a in answers if a.status_code == 429]
    assert limited and len(answers) - len(limited) >= 5
    assert limited[0].headers["X-RateLimit-tokenConcurrentLimit"] == "5"
    assert float(limited[0].headers["retry-after"]) > 0
