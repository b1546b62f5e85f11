"""The Square emulator over real HTTP: what Square accepts, refuses, replays and sends.
No database; a local receiver plays Concord's webhook endpoint."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import requests

from apps.connectors.http import PlatformError
from apps.connectors.square import signatures
from apps.connectors.square.client import SquareClient
from apps.demo import demo_data
from apps.demo.dev_credentials import SECRETS, platform_location_id
from apps.emulators.base import TokenBucket
from apps.emulators.square.emulator import SquareEmulator
from apps.emulators.square.support import catalog_id
from tests.emulators.support import WebhookReceiver, serve

OAK = platform_location_id("square", "OAK")
BURRITO = catalog_id("variation", "BURRITO")
GUAC = catalog_id("modifier", "EXTRA-GUAC")
OAT_MILK = catalog_id("modifier", "OAT-MILK")


@pytest.fixture
def receiver():
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def square(receiver):
    emulator = SquareEmulator(concord_url=receiver.url, rate_limits=False)
    emulator.refund_settle_s = 0.01
    with serve(emulator) as running:
        session = requests.Session()
        session.headers.update({"Authorization": f"Bearer {SECRETS['SQUARE_ACCESS_TOKEN']}",
                                "Square-Version": "2025-08-20"})
        running.session = session
        yield running


def call(square, method, path, body=None, **kwargs):
    return square.session.request(method, square.url + path, json=body, **kwargs)


def create_order(square, key="order-1", quantity="2", **order):
    order = {"location_id": OAK, "source": {"name": "Concord phone"},
             "line_items": [{"catalog_object_id": BURRITO, "quantity": quantity,
                             "modifiers": [{"catalog_object_id": GUAC}]}], **order}
    return call(square, "POST", "/v2/orders", {"idempotency_key": key, "order": order})


def count_of(square, variation=BURRITO) -> int:
    counts = call(square, "POST", "/v2/inventory/counts/batch-retrieve",
                  {"catalog_object_ids": [variation], "location_ids": [OAK]}).json()["counts"]
    return int(counts[0]["quantity"])


def events(receiver, count):
    return [json.loads(d["body"]) for d in receiver.wait_for(count)]


def rfc3339(moment):
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def physical_count(quantity, occurred_at, variation=BURRITO):
    return {"type": "PHYSICAL_COUNT", "physical_count": {
        "catalog_object_id": variation, "location_id": OAK, "state": "IN_STOCK",
        "quantity": str(quantity), "occurred_at": rfc3339(occurred_at)}}


def change_inventory(square, key, *changes, **extra):
    return call(square, "POST", "/v2/inventory/changes/batch-create",
                {"idempotency_key": key, "changes": list(changes), **extra})


def assert_square_error(response, status, code, field=None):
    assert response.status_code == status, response.text
    error = response.json()["errors"][0]
    assert error["code"] == code
    assert set(error) <= {"category", "code", "detail", "field"}
    if field:
        assert error["field"] == field


# -- auth, locations, catalog -----------------------------------------------------------------------


def test_missing_or_wrong_token_is_unauthorized(square):
    response = requests.get(square.url + "/v2/locations", headers={"Authorization": "Bearer nope"})
    assert_square_error(response, 401, "UNAUTHORIZED")
    assert response.json()["errors"][0]["category"] == "AUTHENTICATION_ERROR"


def test_seeded_merchant_has_oak_only(square):
    [location] = call(square, "GET", "/v2/locations").json()["locations"]
    assert (location["id"], location["name"], location["currency"]) == (OAK, "OAK", "USD")
    assert location["timezone"] == "America/Los_Angeles"


def test_catalog_lists_top_level_types_by_default_and_nested_on_request(square):
    objects = call(square, "GET", "/v2/catalog/list").json()["objects"]
    assert {o["type"] for o in objects} == {"ITEM", "CATEGORY", "MODIFIER_LIST"}
    burrito_item = next(o for o in objects if o["type"] == "ITEM" and o["item_data"]["name"] == "Burrito")
    variation = burrito_item["item_data"]["variations"][0]
    data = variation["item_variation_data"]
    assert (variation["id"], data["sku"], data["price_money"]) == (
        BURRITO, "BURRITO", {"amount": 950, "currency": "USD"})
    assert data["location_overrides"] == [{"location_id": OAK, "track_inventory": True, "sold_out": False}]
    assert {info["modifier_list_id"] for info in burrito_item["item_data"]["modifier_list_info"]} == {
        catalog_id("modifier_list", "ADDONS"), catalog_id("modifier_list", "SALSA")}
    modifiers = call(square, "GET", "/v2/catalog/list", params={"types": "MODIFIER"}).json()["objects"]
    guac = next(m for m in modifiers if m["id"] == GUAC)
    assert guac["modifier_data"]["price_money"] == {"amount": 200, "currency": "USD"}


def test_catalog_pages_with_a_cursor_and_rejects_a_forged_one(square):
    square.emulator.page_size = 20
    seen, cursor = [], None
    while True:
        page = call(square, "GET", "/v2/catalog/list",
                    params={"types": "ITEM_VARIATION", **({"cursor": cursor} if cursor else {})}).json()
        seen += [o["item_variation_data"]["sku"] for o in page["objects"]]
        cursor = page.get("cursor")
        if not cursor:
            break
    assert sorted(seen) == sorted(demo_data.variant_skus())
    forged = call(square, "GET", "/v2/catalog/list", params={"cursor": "xyz"})
    assert_square_error(forged, 400, "INVALID_CURSOR")
    assert_square_error(call(square, "GET", "/v2/catalog/list", params={"types": "WIDGET"}), 400,
                        "INVALID_ENUM_VALUE")


def test_catalog_ids_are_the_same_after_a_restart(receiver):
    first = SquareEmulator(concord_url=receiver.url).catalog.variation_by_sku["BURRITO"]["id"]
    second = SquareEmulator(concord_url=receiver.url).catalog.variation_by_sku["BURRITO"]["id"]
    assert first == second == BURRITO


# -- orders ------------------------------------------------------------------------------------------


def test_create_order_prices_modifiers_keeps_source_and_sells_stock(square, receiver):
    before = count_of(square)
    response = create_order(square, quantity="2", reference_id="concord-42")
    assert response.status_code == 200, response.text
    order = response.json()["order"]
    [line] = order["line_items"]
    assert line["modifiers"][0]["total_price_money"] == {"amount": 400, "currency": "USD"}
    assert line["variation_total_price_money"]["amount"] == 1900
    assert line["gross_sales_money"]["amount"] == line["total_money"]["amount"] == 2300
    assert order["total_money"] == {"amount": 2300, "currency": "USD"}
    assert order["net_amount_due_money"]["amount"] == 2300
    assert (order["state"], order["version"], order["source"]) == ("OPEN", 1, {"name": "Concord phone"})
    assert order["reference_id"] == "concord-42"
    assert count_of(square) == before - 2
    created, counted = events(receiver, 2)
    assert created["type"] == "order.created"
    assert created["data"]["object"]["order_created"] == {
        "order_id": order["id"], "version": 1, "location_id": OAK, "state": "OPEN",
        "created_at": order["created_at"], "updated_at": order["updated_at"]}
    assert counted["type"] == "inventory.count.updated"
    assert counted["data"]["object"]["inventory_counts"][0]["quantity"] == str(before - 2)


def test_webhooks_are_signed_over_notification_url_and_body(square, receiver):
    create_order(square)
    for delivery in receiver.wait_for(2):
        headers = delivery["headers"]
        assert signatures.verify(SECRETS["SQUARE_WEBHOOK_SIGNATURE_KEY"], receiver.url + "/webhooks/square/",
                                 delivery["body"], headers["x-square-hmacsha256-signature"])
        assert headers["square-retry-number"] == "0"
        assert "square-initial-delivery-timestamp" in headers
        envelope = json.loads(delivery["body"])
        assert set(envelope) == {"merchant_id", "type", "event_id", "created_at", "data"}


def test_same_key_and_body_replays_the_same_order(square, receiver):
    first = create_order(square, key="k-1").json()["order"]
    again = create_order(square, key="k-1")
    assert again.status_code == 200
    assert again.json()["order"] == first
    assert len(square.emulator.orders) == 1
    square.emulator.flush_webhooks(5)
    assert [e["type"] for e in events(receiver, 2)] == ["order.created", "inventory.count.updated"]


def test_same_key_with_another_body_is_refused(square):
    create_order(square, key="k-1", quantity="1")
    assert_square_error(create_order(square, key="k-1", quantity="3"), 400, "IDEMPOTENCY_KEY_REUSED")
    assert len(square.emulator.orders) == 1


def test_idempotency_key_is_required(square):
    response = call(square, "POST", "/v2/orders", {"order": {"location_id": OAK}})
    assert_square_error(response, 400, "MISSING_REQUIRED_PARAMETER", "idempotency_key")


@pytest.mark.parametrize(("line", "code", "field"), [
    ({"catalog_object_id": BURRITO, "quantity": 2}, "EXPECTED_STRING", "order.line_items[0].quantity"),
    ({"catalog_object_id": BURRITO, "quantity": "0"}, "INVALID_VALUE", "order.line_items[0].quantity"),
    ({"catalog_object_id": BURRITO, "quantity": "1.5"}, "INVALID_VALUE", "order.line_items[0].quantity"),
    ({"catalog_object_id": BURRITO}, "MISSING_REQUIRED_PARAMETER", "order.line_items[0].quantity"),
    ({"catalog_object_id": catalog_id("item", "BURRITO"), "quantity": "1"}, "INVALID_VALUE",
     "order.line_items[0].catalog_object_id"),
    ({"catalog_object_id": BURRITO, "quantity": "1", "modifiers": [{"catalog_object_id": OAT_MILK}]},
     "INVALID_VALUE", "order.line_items[0].modifiers[0].catalog_object_id"),
    ({"name": "Custom", "quantity": "1"}, "MISSING_REQUIRED_PARAMETER",
     "order.line_items[0].base_price_money"),
])
def test_invalid_lines_are_refused_and_change_nothing(square, line, code, field):
    response = call(square, "POST", "/v2/orders",
                    {"idempotency_key": "bad", "order": {"location_id": OAK, "line_items": [line]}})
    assert_square_error(response, 400, code, field)
    assert square.emulator.orders == {}
    # the key stays unused: a corrected retry with it goes through
    assert create_order(square, key="bad").status_code == 200


def test_unknown_location_is_refused(square):
    assert_square_error(create_order(square, location_id="LNOWHERE"), 404, "NOT_FOUND", "order.location_id")


def test_ad_hoc_line_with_tax(square):
    response = call(square, "POST", "/v2/orders", {"idempotency_key": "tax", "order": {
        "location_id": OAK,
        "taxes": [{"uid": "state", "name": "Sales tax", "percentage": "9", "scope": "ORDER"}],
        "line_items": [{"name": "Catering fee", "quantity": "1",
                        "base_price_money": {"amount": 1599, "currency": "USD"}}]}})
    order = response.json()["order"]
    assert order["total_tax_money"]["amount"] == 144  # 9% of 15.99, rounded half up
    assert order["total_money"]["amount"] == 1743


def test_retrieve_batch_retrieve_and_search_orders(square):
    early = create_order(square, key="a").json()["order"]
    late = create_order(square, key="b").json()["order"]
    assert call(square, "GET", f"/v2/orders/{early['id']}").json()["order"] == early
    assert_square_error(call(square, "GET", "/v2/orders/nope"), 404, "NOT_FOUND")
    found = call(square, "POST", "/v2/orders/batch-retrieve", {"order_ids": [early["id"], "nope"]}).json()
    assert [o["id"] for o in found["orders"]] == [early["id"]]
    query = {"filter": {"date_time_filter": {"updated_at": {"start_at": early["updated_at"]}}},
             "sort": {"sort_field": "UPDATED_AT", "sort_order": "ASC"}}
    page = call(square, "POST", "/v2/orders/search",
                {"location_ids": [OAK], "query": query, "limit": 1}).json()
    assert [o["id"] for o in page["orders"]] == [early["id"]]
    rest = call(square, "POST", "/v2/orders/search",
                {"location_ids": [OAK], "query": query, "cursor": page["cursor"]}).json()
    assert [o["id"] for o in rest["orders"]] == [late["id"]]
    mismatched = {**query, "sort": {"sort_field": "CREATED_AT"}}
    refused = call(square, "POST", "/v2/orders/search", {"location_ids": [OAK], "query": mismatched})
    assert_square_error(refused, 400, "INVALID_VALUE")


# -- inventory ----------------------------------------------------------------------------------------


def test_physical_count_sets_stock_and_an_older_count_does_not_overwrite(square, receiver):
    now = datetime.now(UTC)
    assert change_inventory(square, "c1", physical_count(40, now)).json()["counts"][0]["quantity"] == "40"
    older = change_inventory(square, "c2", physical_count(99, now - timedelta(minutes=5)))
    assert older.status_code == 200
    assert count_of(square) == 40
    assert [e["type"] for e in events(receiver, 1)] == ["inventory.count.updated"]


def test_sale_after_a_count_still_applies_when_the_count_arrives_late(square):
    now = datetime.now(UTC)
    sale = {"type": "ADJUSTMENT", "adjustment": {
        "catalog_object_id": BURRITO, "location_id": OAK, "from_state": "IN_STOCK", "to_state": "SOLD",
        "quantity": "3", "occurred_at": rfc3339(now)}}
    change_inventory(square, "sale", sale)
    change_inventory(square, "late-count", physical_count(20, now - timedelta(seconds=30)))
    assert count_of(square) == 17  # the count as of 30 s ago, minus the later sale


def test_unchanged_counts_are_ignored_by_default(square, receiver):
    current = count_of(square)
    change_inventory(square, "same", physical_count(current, datetime.now(UTC)))
    assert square.emulator.flush_webhooks(2)
    assert receiver.received == []


def test_inventory_change_replays_without_applying_twice(square):
    sale = {"type": "ADJUSTMENT", "adjustment": {
        "catalog_object_id": BURRITO, "location_id": OAK, "from_state": "IN_STOCK", "to_state": "SOLD",
        "quantity": "2"}}
    before = count_of(square)
    first = change_inventory(square, "adj-1", sale)
    assert change_inventory(square, "adj-1", sale).json() == first.json()
    assert count_of(square) == before - 2
    assert_square_error(change_inventory(square, "adj-1", physical_count(1, datetime.now(UTC))),
                        400, "IDEMPOTENCY_KEY_REUSED")


def test_a_bad_change_rejects_the_whole_batch(square):
    before = count_of(square)
    stale = physical_count(5, datetime.now(UTC) - timedelta(days=2))
    response = change_inventory(square, "mixed", physical_count(7, datetime.now(UTC)), stale)
    assert_square_error(response, 400, "INVALID_VALUE", "changes[1].physical_count.occurred_at")
    assert count_of(square) == before


def test_inventory_change_needs_an_idempotency_key(square):
    response = call(square, "POST", "/v2/inventory/changes/batch-create",
                    {"changes": [physical_count(1, datetime.now(UTC))]})
    assert_square_error(response, 400, "MISSING_REQUIRED_PARAMETER", "idempotency_key")


# -- register, stock and refunds through the control API ----------------------------------------------


def control(square, action, body):
    return requests.post(f"{square.url}/__emulator/{action}", json=body, timeout=5)


def test_register_sale_is_always_accepted_and_may_oversell(square, receiver):
    answer = control(square, "sale", {"location": "OAK", "lines": [{"sku": "MOLCAJETE", "quantity": 5}],
                                      "tender": {"type": "card"}, "customer": {"name": "Ana Ruiz"}})
    assert answer.json()["accepted"] is True
    order = call(square, "GET", f"/v2/orders/{answer.json()['order_id']}").json()["order"]
    assert order["state"] == "COMPLETED"
    assert order["source"] == {"name": "Square Point of Sale"}
    assert order["tenders"][0]["type"] == "CARD"
    assert order["net_amount_due_money"]["amount"] == 0
    assert count_of(square, catalog_id("variation", "MOLCAJETE")) == -2
    state = requests.get(square.url + "/__emulator/state").json()
    assert state["stock"]["OAK"]["MOLCAJETE"] == {"quantity": -2, "available": False}
    assert state["orders"][0]["lines"] == [{"sku": "MOLCAJETE", "quantity": 5}]
    assert [e["type"] for e in events(receiver, 2)] == ["order.created", "inventory.count.updated"]


def test_staff_86_marks_the_variation_sold_out(square, receiver):
    control(square, "stock", {"location": OAK, "sku": "BURRITO", "quantity": None, "available": False})
    variation = call(square, "GET", f"/v2/catalog/object/{BURRITO}").json()["object"]
    assert variation["item_variation_data"]["location_overrides"][0]["sold_out"] is True
    assert [e["type"] for e in events(receiver, 1)] == ["catalog.version.updated"]
    control(square, "stock", {"location": "OAK", "sku": "BURRITO", "quantity": 0})
    control(square, "stock", {"location": "OAK", "sku": "BURRITO", "quantity": None, "available": True})
    variation = call(square, "GET", f"/v2/catalog/object/{BURRITO}").json()["object"]
    assert variation["item_variation_data"]["location_overrides"][0]["sold_out"] is True  # zero stock


def test_refund_goes_pending_then_completed_and_cannot_exceed_the_payment(square, receiver):
    sale = control(square, "sale", {"location": "OAK", "lines": [{"sku": "BURRITO", "quantity": 1}]}).json()
    receiver.wait_for(2)
    receiver.clear()
    body = {"idempotency_key": "r-1", "payment_id": sale["payment_id"],
            "amount_money": {"amount": 500, "currency": "USD"}, "reason": "cold"}
    refund = call(square, "POST", "/v2/refunds", body).json()["refund"]
    assert (refund["status"], refund["order_id"]) == ("PENDING", sale["order_id"])
    assert call(square, "POST", "/v2/refunds", body).json()["refund"]["id"] == refund["id"]
    created, updated, order_updated = events(receiver, 3)
    assert (created["type"], created["data"]["object"]["refund"]["status"]) == ("refund.created", "PENDING")
    assert (updated["type"], updated["data"]["object"]["refund"]["status"]) == ("refund.updated", "COMPLETED")
    assert order_updated["data"]["object"]["order_updated"]["version"] == 2
    too_much = {**body, "idempotency_key": "r-2", "amount_money": {"amount": 451, "currency": "USD"}}
    assert_square_error(call(square, "POST", "/v2/refunds", too_much), 400, "REFUND_AMOUNT_INVALID")
    assert control(square, "refund", {"order_id": sale["order_id"]}).json()["amount"] == 450


# -- faults, limits, client ---------------------------------------------------------------------------


def test_retry_after_a_dropped_create_makes_exactly_one_order(square):
    square.emulator.set_faults({"drop_rate": 1.0})
    with pytest.raises(requests.ConnectionError):
        create_order(square, key="flaky")
    square.emulator.clear_faults()
    assert create_order(square, key="flaky").status_code == 200
    assert len(square.emulator.orders) == 1


def test_rate_limit_answers_rate_limited_with_retry_after(square):
    square.emulator.rate_limits = True
    square.emulator.bucket = TokenBucket(rate=1, capacity=1)
    assert call(square, "GET", "/v2/locations").status_code == 200
    limited = call(square, "GET", "/v2/locations")
    assert_square_error(limited, 429, "RATE_LIMITED")
    assert float(limited.headers["Retry-After"]) > 0


def test_client_round_trip(square):
    client = SquareClient(square.url, access_token=SECRETS["SQUARE_ACCESS_TOKEN"])
    assert client.list_locations()[0]["id"] == OAK
    assert len(list(client.iter_catalog(types="ITEM_VARIATION"))) == len(demo_data.variant_skus())
    order = client.create_order(idempotency_key="c-1", order={
        "location_id": OAK, "line_items": [{"catalog_object_id": BURRITO, "quantity": "1"}]})
    assert client.retrieve_order(order["id"])["total_money"]["amount"] == 950
    counts = client.batch_change_inventory(idempotency_key="c-2",
                                           changes=[physical_count(9, datetime.now(UTC))])
    assert counts[0]["quantity"] == "9"
    with pytest.raises(PlatformError) as caught:
        client.create_order(idempotency_key="c-1", order={"location_id": OAK})
    assert (caught.value.code, caught.value.retryable) == ("IDEMPOTENCY_KEY_REUSED", False)
