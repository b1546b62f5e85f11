"""The Shopify emulator over real HTTP: GraphQL and REST reads, the inventory mutations'
compare-and-set and idempotency per API version, cost throttling, storefront checkout,
refunds and signed webhooks. No database."""

import json

import pytest
import requests

from apps.connectors.http import PlatformError
from apps.connectors.shopify import signatures
from apps.connectors.shopify.client import ShopifyClient
from apps.demo import demo_data
from apps.demo.dev_credentials import SECRETS, platform_location_id
from apps.emulators.base import TokenBucket
from apps.emulators.shopify.emulator import ShopifyEmulator
from tests.emulators.support import WebhookReceiver, serve

OAK = int(platform_location_id("shopify", "OAK"))
OAK_GID = f"gid://shopify/Location/{OAK}"

SET = """mutation Set($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) DIRECTIVE {
    inventoryAdjustmentGroup { reason changes { name delta quantityAfterChange } }
    userErrors { code field message }
  }
}"""

ADJUST = """mutation Adjust($input: InventoryAdjustQuantitiesInput!) {
  inventoryAdjustQuantities(input: $input) @idempotent(key: "KEY") {
    inventoryAdjustmentGroup { changes(quantityNames: ["available"]) { name delta quantityAfterChange } }
    userErrors { code field message }
  }
}"""


@pytest.fixture
def receiver():
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def shopify(receiver):
    emulator = ShopifyEmulator(concord_url=receiver.url)
    with serve(emulator) as running:
        session = requests.Session()
        session.headers["X-Shopify-Access-Token"] = SECRETS["SHOPIFY_ACCESS_TOKEN"]
        running.session = session
        yield running


def graphql(shopify, query, variables=None, version="2026-04"):
    response = shopify.session.post(f"{shopify.url}/admin/api/{version}/graphql.json",
                                    json={"query": query, "variables": variables or {}})
    assert response.status_code == 200, response.text
    return response.json()


def rest(shopify, method, resource, version="2026-04", **kwargs):
    return shopify.session.request(method, f"{shopify.url}/admin/api/{version}/{resource}", **kwargs)


def item_gid(shopify, sku="BURRITO"):
    return f"gid://shopify/InventoryItem/{shopify.emulator.store.variant_by_sku[sku]['inventory_item_id']}"


def available(shopify, sku="BURRITO", location=OAK):
    item = shopify.emulator.store.variant_by_sku[sku]["inventory_item_id"]
    return shopify.emulator.store.levels[(location, item)].available


def set_input(shopify, quantity, **extra):
    return {"input": {"name": "available", "reason": "correction", "quantities": [
        {"inventoryItemId": item_gid(shopify), "locationId": OAK_GID, "quantity": quantity, **extra}]}}


def set_mutation(key="set-1"):
    return SET.replace("DIRECTIVE", f'@idempotent(key: "{key}")' if key else "")


def webhooks(receiver, count):
    return [(d["headers"], json.loads(d["body"])) for d in receiver.wait_for(count)]


def control(shopify, action, body):
    return requests.post(f"{shopify.url}/__emulator/{action}", json=body, timeout=5)


# -- auth, versions, reads ----------------------------------------------------------------------------


def test_wrong_token_is_refused_with_shopify_message(shopify):
    response = requests.get(f"{shopify.url}/admin/api/2026-04/products.json",
                            headers={"X-Shopify-Access-Token": "nope"})
    assert response.status_code == 401
    assert response.json() == {"errors": "[API] Invalid API key or access token (unrecognized login or "
                                         "wrong password)"}


def test_unsupported_version_is_not_found(shopify):
    assert rest(shopify, "GET", "products.json", version="2023-01").status_code == 404
    assert shopify.session.post(f"{shopify.url}/admin/api/2019-04/graphql.json",
                                json={"query": "{ shop { id } }"}).status_code == 404


def test_products_locations_and_levels_match_the_demo_seed(shopify):
    data = graphql(shopify, """{
      products(first: 5, query: "sku:BURRITO") {
        nodes { title variants(first: 5) { nodes { sku price inventoryItem { id } } } }
      }
      locations(first: 5) { nodes { id name } }
    }""")["data"]
    [product] = data["products"]["nodes"]
    assert product["variants"]["nodes"] == [{"sku": "BURRITO", "price": "9.50",
                                              "inventoryItem": {"id": item_gid(shopify)}}]
    assert [loc["name"] for loc in data["locations"]["nodes"]] == ["OAK", "BKN", "CHI"]
    levels = graphql(shopify, """query($id: ID!) { inventoryItem(id: $id) {
        inventoryLevels(first: 5) { nodes { location { name } quantities(names: ["available", "on_hand"]) {
          name quantity } } } } }""", {"id": item_gid(shopify)})["data"]["inventoryItem"]["inventoryLevels"]
    expected = demo_data.opening_stock("BKN", "BURRITO")
    bkn = next(n for n in levels["nodes"] if n["location"]["name"] == "BKN")
    assert bkn["quantities"] == [{"name": "available", "quantity": expected},
                                 {"name": "on_hand", "quantity": expected}]


def test_products_page_through_every_variant(shopify):
    skus, after = [], None
    while True:
        page = graphql(shopify, """query($after: String) { products(first: 10, after: $after) {
            nodes { variants(first: 10) { nodes { sku } } } pageInfo { hasNextPage endCursor } } }""",
                       {"after": after})["data"]["products"]
        skus += [v["sku"] for p in page["nodes"] for v in p["variants"]["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert sorted(skus) == sorted(demo_data.variant_skus())


def test_invalid_query_is_answered_with_errors_and_cost(shopify):
    answer = graphql(shopify, "{ products(first: 1) { nodes { noSuchField } } }")
    assert "noSuchField" in answer["errors"][0]["message"]
    assert answer["extensions"]["cost"]["requestedQueryCost"] == 0


def test_connections_need_first_or_last(shopify):
    answer = graphql(shopify, "{ products { nodes { id } } }")
    assert "you must provide one of first or last" in answer["errors"][0]["message"]


def test_rest_inventory_levels_carry_the_call_limit_header(shopify):
    item = shopify.emulator.store.variant_by_sku["BURRITO"]["inventory_item_id"]
    response = rest(shopify, "GET", "inventory_levels.json", params={"inventory_item_ids": item,
                                                                     "location_ids": OAK})
    assert response.headers["X-Shopify-Shop-Api-Call-Limit"] == "1/40"
    assert response.json()["inventory_levels"] == [{
        "inventory_item_id": item, "location_id": OAK, "available": available(shopify),
        "updated_at": response.json()["inventory_levels"][0]["updated_at"],
        "admin_graphql_api_id": f"gid://shopify/InventoryLevel/{OAK}?inventory_item_id={item}"}]


# -- inventorySetQuantities at 2026-04 ------------------------------------------------------------------


def test_set_quantities_compares_and_sets_and_tells_concord(shopify, receiver):
    current = available(shopify)
    answer = graphql(shopify, set_mutation(), set_input(shopify, current + 5, changeFromQuantity=current))
    payload = answer["data"]["inventorySetQuantities"]
    assert payload["userErrors"] == []
    assert payload["inventoryAdjustmentGroup"]["changes"] == [
        {"name": "available", "delta": 5, "quantityAfterChange": current + 5},
        {"name": "on_hand", "delta": 5, "quantityAfterChange": current + 5}]
    assert available(shopify) == current + 5
    [(headers, body)] = webhooks(receiver, 1)
    assert headers["X-Shopify-Topic"] == "inventory_levels/update"
    assert body["available"] == current + 5
    assert answer["extensions"]["cost"]["throttleStatus"]["maximumAvailable"] == 1000


def test_stale_change_from_quantity_changes_nothing(shopify):
    current = available(shopify)
    payload = graphql(shopify, set_mutation(), set_input(shopify, 1, changeFromQuantity=current - 1))[
        "data"]["inventorySetQuantities"]
    assert payload["inventoryAdjustmentGroup"] is None
    assert [e["code"] for e in payload["userErrors"]] == ["CHANGE_FROM_QUANTITY_STALE"]
    assert payload["userErrors"][0]["field"] == ["input", "quantities", "0", "changeFromQuantity"]
    assert available(shopify) == current


def test_change_from_quantity_must_be_given_but_may_be_null(shopify):
    current = available(shopify)
    omitted = graphql(shopify, set_mutation("a"), set_input(shopify, 7))
    assert omitted["data"]["inventorySetQuantities"] is None
    assert "changeFromQuantity" in omitted["errors"][0]["message"]
    assert available(shopify) == current
    opted_out = graphql(shopify, set_mutation("b"), set_input(shopify, 7, changeFromQuantity=None))
    assert opted_out["data"]["inventorySetQuantities"]["userErrors"] == []
    assert available(shopify) == 7


def test_idempotent_directive_is_mandatory_at_2026_04(shopify):
    current = available(shopify)
    answer = graphql(shopify, set_mutation(key=None), set_input(shopify, 3, changeFromQuantity=current))
    assert "@idempotent" in answer["errors"][0]["message"]
    assert available(shopify) == current


def test_same_key_replays_without_applying_twice_and_other_arguments_are_refused(shopify, receiver):
    current = available(shopify)
    first = graphql(shopify, set_mutation("k"), set_input(shopify, current + 1, changeFromQuantity=current))
    again = graphql(shopify, set_mutation("k"), set_input(shopify, current + 1, changeFromQuantity=current))
    assert again["data"] == first["data"]
    assert available(shopify) == current + 1
    other = graphql(shopify, set_mutation("k"), set_input(shopify, 0, changeFromQuantity=None))
    assert other["data"]["inventorySetQuantities"]["userErrors"][0]["code"] == \
        "IDEMPOTENCY_KEY_PARAMETER_MISMATCH"
    assert shopify.emulator.flush_webhooks(5)
    assert len(receiver.received) == 1


def test_invalid_inputs_are_user_errors(shopify):
    variables = set_input(shopify, -1, changeFromQuantity=None)
    variables["input"]["reason"] = "because"
    variables["input"]["quantities"].append({
        "inventoryItemId": "gid://shopify/InventoryItem/1", "locationId": OAK_GID, "quantity": 1,
        "changeFromQuantity": None})
    errors = graphql(shopify, set_mutation(), variables)["data"]["inventorySetQuantities"]["userErrors"]
    assert sorted(e["code"] for e in errors) == ["INVALID_INVENTORY_ITEM", "INVALID_QUANTITY_NEGATIVE",
                                                  "INVALID_REASON"]


def test_adjust_quantities_replays_by_key(shopify):
    current = available(shopify)
    variables = {"input": {"name": "available", "reason": "correction", "changes": [
        {"inventoryItemId": item_gid(shopify), "locationId": OAK_GID, "delta": -2,
         "changeFromQuantity": None}]}}
    first = graphql(shopify, ADJUST, variables)
    assert graphql(shopify, ADJUST, variables)["data"] == first["data"]
    assert first["data"]["inventoryAdjustQuantities"]["inventoryAdjustmentGroup"]["changes"] == [
        {"name": "available", "delta": -2, "quantityAfterChange": current - 2}]
    assert available(shopify) == current - 2


# -- older API versions ---------------------------------------------------------------------------------


def test_before_2026_compare_quantity_is_required_unless_ignored(shopify):
    current = available(shopify)
    missing = graphql(shopify, set_mutation(None), set_input(shopify, 4), version="2025-10")
    assert missing["data"]["inventorySetQuantities"]["userErrors"][0]["code"] == "COMPARE_QUANTITY_REQUIRED"
    stale = graphql(shopify, set_mutation(None), set_input(shopify, 4, compareQuantity=current + 1),
                    version="2025-10")
    assert stale["data"]["inventorySetQuantities"]["userErrors"][0]["code"] == "COMPARE_QUANTITY_STALE"
    ok = graphql(shopify, set_mutation(None), set_input(shopify, 4, compareQuantity=current),
                 version="2025-10")
    assert ok["data"]["inventorySetQuantities"]["userErrors"] == []
    assert available(shopify) == 4


def test_schema_follows_the_version(shopify):
    old = graphql(shopify, set_mutation(None), set_input(shopify, 4, changeFromQuantity=1), version="2025-10")
    assert "changeFromQuantity" in old["errors"][0]["message"]
    new = graphql(shopify, set_mutation("x"), set_input(shopify, 4, compareQuantity=1))
    assert "compareQuantity" in new["errors"][0]["message"]


# -- cost ---------------------------------------------------------------------------------------------


def test_query_cost_is_reported_and_refunded_to_actual(shopify):
    cost = graphql(shopify, "{ products(first: 50) { nodes { id } } }")["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 52
    assert cost["actualQueryCost"] == 2 + len(demo_data.PRODUCTS)
    assert cost["throttleStatus"]["restoreRate"] == 100


def test_throttled_answers_200_with_the_throttled_code(shopify):
    shopify.emulator.graphql_bucket = TokenBucket(rate=1, capacity=60)
    assert "data" in graphql(shopify, "{ products(first: 50) { nodes { id } } }")
    answer = graphql(shopify, "{ products(first: 50) { nodes { id } } }")
    assert answer["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert answer["extensions"]["cost"]["actualQueryCost"] is None
    client = ShopifyClient(shopify.url, access_token=SECRETS["SHOPIFY_ACCESS_TOKEN"])
    with pytest.raises(PlatformError) as caught:
        client.products_page(first=20)
    assert (caught.value.code, caught.value.retryable) == ("THROTTLED", True)
    assert caught.value.retry_after > 0


def test_a_query_over_the_max_cost_is_refused(shopify):
    answer = graphql(shopify, "{ products(first: 250) { nodes { variants(first: 250) { nodes { id } } } } }")
    assert answer["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"


def test_rest_leaky_bucket_answers_429_with_retry_after(shopify):
    shopify.emulator.rest_bucket = TokenBucket(rate=0.5, capacity=2)
    statuses = [rest(shopify, "GET", "locations.json").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    limited = rest(shopify, "GET", "locations.json")
    assert float(limited.headers["Retry-After"]) > 0
    assert limited.headers["X-Shopify-Shop-Api-Call-Limit"] == "40/40"


# -- storefront checkout, stock, refunds -----------------------------------------------------------------


def test_checkout_creates_a_paid_order_and_sends_signed_webhooks(shopify, receiver):
    before = available(shopify)
    answer = control(shopify, "sale", {"location": "OAK", "lines": [{"sku": "BURRITO", "quantity": 2}],
                                       "customer": {"name": "Ana Ruiz", "email": "ana@example.com"}}).json()
    assert answer["accepted"] is True
    order = rest(shopify, "GET", f"orders/{answer['order_id']}.json").json()["order"]
    assert (order["name"], order["total_price"], order["financial_status"]) == ("#1001", "19.00", "paid")
    assert order["admin_graphql_api_id"] == f"gid://shopify/Order/{order['id']}"
    assert order["line_items"][0]["sku"] == "BURRITO"
    assert order["customer"]["first_name"] == "Ana"
    assert available(shopify) == before - 2
    delivered = webhooks(receiver, 3)
    assert [h["X-Shopify-Topic"] for h, _ in delivered] == ["orders/create", "orders/paid",
                                                           "inventory_levels/update"]
    raw = receiver.received
    for delivery in raw:
        headers = delivery["headers"]
        assert signatures.verify(SECRETS["SHOPIFY_API_SECRET"], delivery["body"],
                                 headers["X-Shopify-Hmac-Sha256"])
        assert headers["X-Shopify-Shop-Domain"] == SECRETS["SHOPIFY_SHOP_DOMAIN"]
        assert headers["X-Shopify-API-Version"] == "2026-04"
        assert headers["X-Shopify-Triggered-At"]
    assert len({d["headers"]["X-Shopify-Webhook-Id"] for d in raw}) == 3
    assert len({d["headers"]["X-Shopify-Event-Id"] for d in raw}) == 1
    assert delivered[0][1]["id"] == order["id"]


def test_checkout_refuses_when_stock_is_short_and_changes_nothing(shopify, receiver):
    answer = control(shopify, "sale", {"location": "OAK", "lines": [{"sku": "MOLCAJETE", "quantity": 4}]})
    assert answer.json()["accepted"] is False
    assert answer.json()["order_id"] is None
    assert available(shopify, "MOLCAJETE") == 3
    assert shopify.emulator.store.orders == {}
    assert shopify.emulator.flush_webhooks(2)
    assert receiver.received == []


def test_taking_an_item_off_sale_sets_zero_and_is_recorded(shopify, receiver):
    control(shopify, "stock", {"location": "OAK", "sku": "BURRITO", "quantity": None, "available": False})
    assert available(shopify) == 0
    state = requests.get(shopify.url + "/__emulator/state").json()
    assert state["stock"]["OAK"]["BURRITO"] == {"quantity": 0, "available": False}
    [(headers, body)] = webhooks(receiver, 1)
    assert (headers["X-Shopify-Topic"], body["available"]) == ("inventory_levels/update", 0)
    refused = control(shopify, "sale", {"location": "OAK", "lines": [{"sku": "BURRITO", "quantity": 1}]})
    assert refused.json()["accepted"] is False


def test_rest_refund_restocks_and_cannot_exceed_what_was_bought(shopify, receiver):
    sale = control(shopify, "sale", {"location": "OAK", "lines": [{"sku": "BURRITO", "quantity": 2}]}).json()
    receiver.wait_for(3)
    receiver.clear()
    order = shopify.emulator.store.orders[sale["order_id"]]
    parent = shopify.emulator.store.transactions[order["id"]][0]["id"]
    line = order["line_items"][0]
    before = available(shopify)
    refund = {"refund_line_items": [{"line_item_id": line["id"], "quantity": 1, "restock_type": "return",
                                     "location_id": OAK}],
              "transactions": [{"parent_id": parent, "amount": "9.50", "kind": "refund",
                                "gateway": "shopify_payments"}]}
    response = rest(shopify, "POST", f"orders/{order['id']}/refunds.json", json={"refund": refund})
    assert response.status_code == 201
    body = response.json()["refund"]
    assert body["refund_line_items"][0]["line_item"]["sku"] == "BURRITO"
    assert body["transactions"][0]["amount"] == "9.50"
    assert available(shopify) == before + 1
    topics = [h["X-Shopify-Topic"] for h, _ in webhooks(receiver, 2)]
    assert sorted(topics) == ["inventory_levels/update", "refunds/create"]
    refund["refund_line_items"][0]["quantity"] = 2
    too_many = rest(shopify, "POST", f"orders/{order['id']}/refunds.json", json={"refund": refund})
    assert too_many.status_code == 422
    assert rest(shopify, "GET", f"orders/{order['id']}.json").json()["order"]["financial_status"] == \
        "partially_refunded"


def test_admin_refund_through_the_control_api(shopify, receiver):
    sale = control(shopify, "sale", {"location": "OAK", "lines": [{"sku": "BURRITO", "quantity": 1}]}).json()
    answer = control(shopify, "refund", {"order_id": sale["order_id"], "amount": 950}).json()
    assert answer["accepted"] is True
    state = requests.get(shopify.url + "/__emulator/state").json()
    assert state["refunds"] == [{"id": answer["refund_id"], "order_id": sale["order_id"],
                                 "idempotency_key": None, "amount": 950}]
    assert state["orders"][0]["state"] == "refunded"
    topics = [h["X-Shopify-Topic"] for h, _ in webhooks(receiver, 4)]
    assert topics[-1] == "refunds/create"


def test_duplicated_webhooks_reuse_the_webhook_id(shopify, receiver):
    shopify.emulator.set_faults({"duplicate_webhooks": 1.0})
    control(shopify, "stock", {"location": "OAK", "sku": "BURRITO", "quantity": 5})
    first, second = receiver.wait_for(2)
    assert first["headers"]["X-Shopify-Webhook-Id"] == second["headers"]["X-Shopify-Webhook-Id"]
    assert first["body"] == second["body"]


def test_orders_query_filters_by_updated_at(shopify):
    control(shopify, "sale", {"location": "OAK", "lines": [{"sku": "TACO-ASADA", "quantity": 1}]})
    found = graphql(shopify, """{ orders(first: 5, query: "updated_at:>'2020-01-01T00:00:00Z'") {
        nodes { name displayFinancialStatus lineItems(first: 5) { nodes { sku quantity } } } } }""")
    assert found["data"]["orders"]["nodes"] == [{
        "name": "#1001", "displayFinancialStatus": "PAID",
        "lineItems": {"nodes": [{"sku": "TACO-ASADA", "quantity": 1}]}}]
    none = graphql(shopify, """{ orders(first: 5, query: "updated_at:>'2999-01-01'") { nodes { id } } }""")
    assert none["data"]["orders"]["nodes"] == []


def test_client_set_quantities_speaks_each_version(shopify):
    for version, expected in (("2026-04", 11), ("2025-10", 12)):
        client = ShopifyClient(shopify.url, access_token=SECRETS["SHOPIFY_ACCESS_TOKEN"], api_version=version)
        payload = client.set_quantities(
            [{"inventory_item_id": item_gid(shopify), "location_id": OAK_GID, "quantity": expected,
              "change_from": available(shopify)}], idempotency_key=f"client-{version}")
        assert payload["userErrors"] == []
        assert available(shopify) == expected
    stale = client.set_quantities([{"inventory_item_id": item_gid(shopify), "location_id": OAK_GID,
                                    "quantity": 1, "change_from": 0}], idempotency_key="client-stale")
    assert stale["userErrors"][0]["code"] == "COMPARE_QUANTITY_STALE"
