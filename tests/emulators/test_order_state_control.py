"""`POST /__emulator/order-state` on the four emulators over real HTTP: staff close, void or
cancel an order as the platform's own UI does, the platform's webhooks follow (Toast's
poll sees it instead), and a state the platform does not allow is 409 and changes nothing.

No database: each emulator runs in-process on a free port and a local receiver plays
Concord's webhook endpoint.
"""

import json

import pytest
import requests

from apps.emulators.clover.emulator import CloverEmulator
from apps.emulators.shopify.emulator import ShopifyEmulator
from apps.emulators.square.emulator import SquareEmulator
from apps.emulators.toast.emulator import ToastEmulator
from tests.emulators.support import WebhookReceiver, serve
from tests.emulators.test_clover_emulator import MERCHANT, Clover, objects_in
from tests.emulators.test_square_emulator import call, count_of, create_order
from tests.emulators.test_toast_emulator import Toast, burrito_order


@pytest.fixture
def receiver():
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


def order_state(running_url: str, order_id, state: str) -> requests.Response:
    return requests.post(f"{running_url}/__emulator/order-state",
                         json={"order_id": order_id, "state": state})


def webhook_bodies(receiver: WebhookReceiver, count: int) -> list[dict]:
    return [json.loads(w["body"]) for w in receiver.wait_for(count)]


# -- Square ----------------------------------------------------------------------------------------


@pytest.fixture
def square(receiver):
    emulator = SquareEmulator(concord_url=receiver.url, rate_limits=False)
    with serve(emulator) as running:
        running.session = requests.Session()
        running.session.headers.update({"Authorization": "Bearer " + emulator.access_token,
                                        "Square-Version": "2025-08-20"})
        yield running


def test_square_voiding_an_open_order_cancels_it_restocks_and_sends_order_updated(square, receiver):
    order = create_order(square).json()["order"]
    before = count_of(square)
    receiver.wait_for(2)  # order.created, inventory.count.updated
    receiver.clear()

    answer = order_state(square.url, order["id"], "voided")

    assert (answer.status_code, answer.json()["state"], answer.json()["version"]) == (200, "CANCELED", 2)
    assert count_of(square) == before + 2
    updated = [b for b in webhook_bodies(receiver, 2) if b["type"] == "order.updated"]
    assert [(b["data"]["id"], b["data"]["object"]["order_updated"]["state"]) for b in updated] == [
        (order["id"], "CANCELED")]
    fetched = call(square, "GET", f"/v2/orders/{order['id']}").json()["order"]
    assert (fetched["state"], fetched["version"]) == ("CANCELED", 2)


def test_square_closing_an_open_order_completes_and_pays_it(square, receiver):
    order = create_order(square).json()["order"]
    before = count_of(square)
    receiver.wait_for(2)  # order.created, inventory.count.updated
    receiver.clear()

    answer = order_state(square.url, order["id"], "closed")

    assert (answer.status_code, answer.json()["state"]) == (200, "COMPLETED")
    fetched = call(square, "GET", f"/v2/orders/{order['id']}").json()["order"]
    assert fetched["tenders"][0]["amount_money"] == fetched["total_money"]
    assert count_of(square) == before  # the units left when the order was made
    [updated] = webhook_bodies(receiver, 1)
    assert updated["data"]["object"]["order_updated"]["state"] == "COMPLETED"


@pytest.mark.parametrize("first", ["closed", "voided"])
@pytest.mark.parametrize("then", ["closed", "voided", "cancelled"])
def test_square_a_completed_or_canceled_order_cannot_change_again(square, first, then):
    order = create_order(square).json()["order"]
    order_state(square.url, order["id"], first)
    before = call(square, "GET", f"/v2/orders/{order['id']}").json()["order"]

    answer = order_state(square.url, order["id"], then)

    assert answer.status_code == 409
    assert call(square, "GET", f"/v2/orders/{order['id']}").json()["order"] == before


def test_square_update_order_cancels_at_the_current_version_and_replays_its_key(square, receiver):
    order = create_order(square).json()["order"]
    before = count_of(square)
    cancel = {"idempotency_key": "void-1",
              "order": {"location_id": order["location_id"], "version": 1, "state": "CANCELED"}}

    stale = call(square, "PUT", f"/v2/orders/{order['id']}",
                 {**cancel, "order": {**cancel["order"], "version": 7}})
    first = call(square, "PUT", f"/v2/orders/{order['id']}", cancel)
    replay = call(square, "PUT", f"/v2/orders/{order['id']}", cancel)
    again = call(square, "PUT", f"/v2/orders/{order['id']}",
                 {**cancel, "idempotency_key": "void-2", "order": {**cancel["order"], "version": 2}})

    assert stale.status_code == 409 and stale.json()["errors"][0]["field"] == "order.version"
    assert (first.status_code, first.json()["order"]["state"]) == (200, "CANCELED")
    assert (replay.status_code, replay.json()) == (200, first.json())
    assert again.status_code == 400  # a CANCELED order cannot be updated
    assert count_of(square) == before + 2  # restocked once


def test_order_state_refuses_unknown_orders_and_states(square):
    order = create_order(square).json()["order"]

    assert order_state(square.url, "NOSUCHORDER", "closed").status_code == 404
    assert order_state(square.url, order["id"], "refunded").status_code == 400
    assert requests.post(f"{square.url}/__emulator/order-state", json={"state": "closed"}).status_code == 400
    assert call(square, "GET", f"/v2/orders/{order['id']}").json()["order"]["state"] == "OPEN"


# -- Toast -------------------------------------------------------------------------------------------


@pytest.fixture
def toast(receiver):
    emulator = ToastEmulator(concord_url=receiver.url, rate_limits=False)
    with serve(emulator) as running:
        yield Toast(running)


def test_toast_closing_an_api_order_pays_and_closes_it_for_the_next_poll(toast):
    order = toast.post("/orders/v2/orders", burrito_order(toast, external_id="concord:phone:5")).json()
    modified = order["modifiedDate"]

    answer = order_state(toast.url, order["guid"], "closed")

    assert answer.status_code == 200
    fetched = toast.get(f"/orders/v2/orders/{order['guid']}").json()
    assert fetched["closedDate"] and fetched["paidDate"] and not fetched["voided"]
    assert [p["type"] for p in fetched["checks"][0]["payments"]] == ["CREDIT"]
    assert fetched["modifiedDate"] >= modified
    assert order_state(toast.url, order["guid"], "closed").status_code == 409


def test_toast_voiding_a_register_sale_restocks_and_a_voided_order_cannot_change(toast, receiver):
    toast.emulator.call("POST", "/__emulator/stock", body={"location": "BKN", "sku": "BURRITO",
                                                           "quantity": 10})
    sale = requests.post(f"{toast.url}/__emulator/sale", json={
        "location": "BKN", "lines": [{"sku": "BURRITO", "quantity": 3}]}).json()
    assert toast.stock("BURRITO")["quantity"] == 7

    answer = order_state(toast.url, sale["order_id"], "voided")

    assert (answer.status_code, answer.json()["voided"]) == (200, True)
    assert toast.stock("BURRITO")["quantity"] == 10
    fetched = toast.get(f"/orders/v2/orders/{sale['order_id']}").json()
    assert fetched["voided"] and fetched["voidDate"]
    for state in ("closed", "voided", "cancelled"):
        assert order_state(toast.url, sale["order_id"], state).status_code == 409
    assert toast.stock("BURRITO")["quantity"] == 10


# -- Clover -----------------------------------------------------------------------------------------


@pytest.fixture
def clover(receiver):
    emulator = CloverEmulator(concord_url=receiver.url, rate_limits=False)
    with serve(emulator) as running:
        yield Clover(running)


def open_clover_order(clover) -> dict:
    cart = {"title": "concord:phone:9", "lineItems": [clover.line("BURRITO"), clover.line("BURRITO")]}
    return clover.post("/atomic_order/orders", {"orderCart": cart}).json()


def test_clover_closing_an_open_order_takes_payment_and_sends_an_order_update(clover, receiver):
    order = open_clover_order(clover)
    receiver.wait_for(1)
    receiver.clear()

    answer = order_state(clover.url, order["id"], "closed")

    assert answer.status_code == 200
    fetched = clover.get(f"/orders/{order['id']}", params={"expand": "payments"}).json()
    assert (fetched["state"], fetched["paymentState"]) == ("locked", "PAID")
    assert objects_in(receiver.wait_for(1)) == [(f"O:{order['id']}", "UPDATE")]
    assert order_state(clover.url, order["id"], "closed").status_code == 409


def test_clover_voiding_deletes_the_order_restocks_and_sends_a_delete(clover, receiver):
    order = open_clover_order(clover)
    before = clover.stock("BURRITO")["quantity"]
    receiver.wait_for(1)
    receiver.clear()

    answer = order_state(clover.url, order["id"], "voided")

    assert answer.status_code == 200
    assert clover.get(f"/orders/{order['id']}").status_code == 404
    assert clover.stock("BURRITO")["quantity"] == before + 2
    assert objects_in(receiver.wait_for(1)) == [(f"O:{order['id']}", "DELETE"),
                                                (f"I:{clover.items['BURRITO']['id']}", "UPDATE")]
    assert order_state(clover.url, order["id"], "voided").status_code == 404


def test_clover_api_deletes_an_open_order_but_not_a_paid_one(clover):
    open_order, paid = open_clover_order(clover), open_clover_order(clover)
    order_state(clover.url, paid["id"], "closed")

    deleted = clover.session.delete(f"{clover.base}/orders/{open_order['id']}")
    refused = clover.session.delete(f"{clover.base}/orders/{paid['id']}")

    assert (deleted.status_code, refused.status_code) == (200, 400)
    assert clover.get(f"/orders/{open_order['id']}").status_code == 404
    assert clover.get(f"/orders/{paid['id']}").json()["state"] == "locked"
    assert MERCHANT in clover.base


# -- Shopify ----------------------------------------------------------------------------------------


@pytest.fixture
def shopify(receiver):
    emulator = ShopifyEmulator(concord_url=receiver.url, rate_limits=False)
    with serve(emulator) as running:
        yield running


def shopify_level(running, sku: str) -> dict:
    return running.emulator.state_document()["stock"]["OAK"][sku]


def web_sale(running, quantity: int = 2) -> dict:
    return requests.post(f"{running.url}/__emulator/sale", json={
        "location": "OAK", "lines": [{"sku": "BURRITO", "quantity": quantity}]}).json()


def test_shopify_cancelling_an_order_restocks_and_sends_orders_cancelled(shopify, receiver):
    before = shopify_level(shopify, "BURRITO")["quantity"]
    sale = web_sale(shopify)
    receiver.wait_for(3)
    receiver.clear()

    answer = order_state(shopify.url, sale["order_id"], "cancelled")

    assert answer.status_code == 200 and answer.json()["cancelled_at"]
    assert shopify_level(shopify, "BURRITO")["quantity"] == before
    topics = [w["headers"]["X-Shopify-Topic"] for w in receiver.wait_for(2)]
    assert topics == ["orders/cancelled", "inventory_levels/update"]
    assert json.loads(receiver.received[0]["body"])["id"] == sale["order_id"]
    for state in ("closed", "cancelled", "voided"):
        assert order_state(shopify.url, sale["order_id"], state).status_code == 409


def test_shopify_fulfilling_an_order_sends_orders_fulfilled_and_keeps_available(shopify, receiver):
    sale = web_sale(shopify)
    available = shopify_level(shopify, "BURRITO")["quantity"]
    receiver.wait_for(3)
    receiver.clear()

    answer = order_state(shopify.url, sale["order_id"], "closed")

    assert (answer.status_code, answer.json()["fulfillment_status"]) == (200, "fulfilled")
    assert shopify_level(shopify, "BURRITO")["quantity"] == available
    [webhook] = receiver.wait_for(1)
    assert webhook["headers"]["X-Shopify-Topic"] == "orders/fulfilled"
    assert order_state(shopify.url, sale["order_id"], "cancelled").status_code == 409
