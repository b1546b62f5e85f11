"""CloverClient against the Clover emulator over real HTTP (no database)."""

import pytest

from apps.connectors.clover.client import CloverClient
from apps.connectors.http import PlatformError
from apps.demo import demo_data
from apps.demo.dev_credentials import SECRETS, platform_location_id
from apps.emulators.clover.emulator import CloverEmulator
from tests.emulators.support import WebhookReceiver, serve

MERCHANT = platform_location_id("clover", "CHI")


@pytest.fixture
def running():
    receiver = WebhookReceiver()
    with serve(CloverEmulator(concord_url=receiver.url, rate_limits=False)) as running:
        yield running
    receiver.close()


@pytest.fixture
def client(running):
    return CloverClient(running.url, access_token=SECRETS["CLOVER_ACCESS_TOKEN"],
                        merchant_id=MERCHANT)


def items_by_sku(client):
    return {i["sku"]: i for i in client.iter_items()}


def test_iter_items_pages_through_the_whole_catalog(client):
    skus = [i["sku"] for i in client.iter_items(limit=10)]

    assert sorted(skus) == sorted(demo_data.variant_skus())
    assert client.list_items(modified_since=99_999_999_999_999) == []


def test_item_stock_and_item_updates(client):
    flan = items_by_sku(client)["FLAN"]

    stock = client.set_item_stock(flan["id"], 7)
    item = client.update_item(flan["id"], {"available": False})

    assert stock == {"item": {"id": flan["id"]}, "stockCount": 7, "quantity": 7}
    assert client.get_item_stock(flan["id"]) == stock
    assert item["available"] is False
    assert client.get_item(flan["id"])["itemStock"]["quantity"] == 7


def test_atomic_order_is_found_again_by_its_title(client):
    items = items_by_sku(client)
    guac = next(m for g in client.list_modifier_groups() for m in g["modifiers"]["elements"]
                if m["name"] == "Extra guacamole")
    pickup = next(t for t in client.list_order_types() if t["label"] == "Concord Pickup")

    order = client.create_atomic_order({
        "title": "concord:phone:77", "orderType": {"id": pickup["id"]},
        "lineItems": [{"item": {"id": items["BURRITO"]["id"]},
                       "modifications": [{"modifier": {"id": guac["id"]}}]}],
    })
    [found] = client.find_orders_by_title("concord:phone:77")

    assert order["total"] == 1150
    assert found["id"] == order["id"]
    assert found["lineItems"]["elements"][0]["modifications"]["elements"][0]["amount"] == 200
    assert client.get_order(order["id"])["total"] == 1150


def test_custom_order_flow(client):
    flan = items_by_sku(client)["FLAN"]

    shell = client.create_order({"title": "concord:phone:78", "state": "open", "total": 600})
    line = client.add_line_item(shell["id"], {"item": {"id": flan["id"]}})

    assert line["price"] == 600
    assert len(client.get_order(shell["id"])["lineItems"]["elements"]) == 1
    assert [o["id"] for o in client.list_orders(modified_since=shell["modifiedTime"])] == [
        shell["id"]]


def test_errors_become_platform_errors(running, client):
    with pytest.raises(PlatformError) as bad:
        client.create_atomic_order({"lineItems": [{"item": {"id": "NOSUCHITEM000"}}]})
    wrong_token = CloverClient(running.url, access_token="nope", merchant_id=MERCHANT)
    with pytest.raises(PlatformError) as denied:
        wrong_token.list_order_types()

    assert bad.value.status == 400 and not bad.value.retryable
    assert "NOSUCHITEM000" in bad.value.detail
    assert denied.value.status == 401 and not denied.value.retryable


def test_a_token_limit_429_waits_a_second_and_names_the_limit(running, client):
    running.emulator.rate_limits = True
    with pytest.raises(PlatformError) as caught:
        for _ in range(40):
            client.list_order_types()

    assert caught.value.status == 429 and caught.value.retryable
    assert caught.value.retry_after == 1.0
    assert (caught.value.code, caught.value.detail) == ("rate_limited",
                                                        "limit X-RateLimit-tokenLimit")
