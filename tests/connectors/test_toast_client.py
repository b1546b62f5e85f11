"""ToastClient against the Toast emulator over real HTTP (no database)."""

from datetime import UTC, datetime, timedelta

import pytest

from apps.connectors.http import PlatformError
from apps.connectors.toast.client import ToastClient, toast_datetime
from apps.demo.dev_credentials import SECRETS, platform_location_id
from apps.emulators.toast.emulator import ToastEmulator
from tests.emulators.support import WebhookReceiver, serve

RESTAURANT = platform_location_id("toast", "BKN")


@pytest.fixture
def running():
    receiver = WebhookReceiver()
    with serve(ToastEmulator(concord_url=receiver.url, rate_limits=False)) as running:
        yield running
    receiver.close()


def make_client(running, **overrides) -> ToastClient:
    options = {"client_id": SECRETS["TOAST_CLIENT_ID"],
               "client_secret": SECRETS["TOAST_CLIENT_SECRET"], "restaurant_guid": RESTAURANT}
    return ToastClient(running.url, **{**options, **overrides})


@pytest.fixture
def client(running):
    return make_client(running)


def pickup_order(client, external_id, sku="BURRITO", quantity=1):
    menu = client.get_menus()
    group, item = next((g, i) for g in menu["menus"][0]["menuGroups"]
                       for i in g["menuItems"] if i["sku"] == sku)
    dining = next(d for d in client.list_dining_options() if d["name"] == "Concord Pickup")
    return {
        "externalId": external_id, "diningOption": {"guid": dining["guid"]},
        "checks": [{"externalId": f"{external_id}:check", "tabName": "PHONE Ana", "selections": [
            {"item": {"guid": item["guid"]}, "itemGroup": {"guid": group["guid"]},
             "quantity": quantity, "externalId": f"{external_id}:line:0"}],
            "customer": {"firstName": "Ana", "lastName": "Ruiz", "email": "ana@example.com",
                         "phone": "5105550123"}}],
    }


def test_one_login_serves_many_calls(running, client):
    client.get_menu_metadata()
    client.list_dining_options()
    client.list_inventory()

    assert running.emulator.logins == 1


def test_create_find_and_void_an_order(client):
    order = client.create_order(pickup_order(client, "concord:phone:41", quantity=2))

    found = client.find_order_by_external_id("concord:phone:41")
    voided = client.void_order(order["guid"])

    assert order["checks"][0]["totalAmount"] == 19
    assert found["guid"] == order["guid"] and client.get_order(order["guid"])["guid"] == order[
        "guid"]
    assert client.find_order_by_external_id("concord:phone:404") is None
    assert voided["voided"] is True


def test_a_duplicate_external_id_is_recognised(client):
    body = pickup_order(client, "concord:phone:42")
    client.create_order(body)

    with pytest.raises(PlatformError) as caught:
        client.create_order(body)

    assert caught.value.status == 409 and not caught.value.retryable
    assert client.is_duplicate_external_id(caught.value)


def test_orders_are_paged_by_business_date_and_by_range(client):
    made = [client.create_order(pickup_order(client, f"concord:web:{n}")) for n in range(3)]
    day = made[0]["businessDate"]
    now = datetime.now(UTC)

    by_day = list(client.iter_orders(business_date=day, page_size=2))
    in_range = client.list_orders(start=now - timedelta(minutes=5), end=now + timedelta(minutes=5))

    assert [o["guid"] for o in by_day] == [o["guid"] for o in made]
    assert len(in_range) == 3
    with pytest.raises(ValueError):
        client.list_orders()


def test_toast_datetime_is_the_format_toast_takes():
    moment = datetime(2026, 11, 25, 18, 30, 5, 123456, tzinfo=UTC)

    assert toast_datetime(moment) == "2026-11-25T18:30:05.123+0000"


def test_stock_update_search_and_list(client):
    menu = client.get_menus()
    flan = next(i for g in menu["menus"][0]["menuGroups"] for i in g["menuItems"]
                if i["sku"] == "FLAN")

    updated = client.update_inventory([{"guid": flan["guid"], "status": "OUT_OF_STOCK"}])

    assert updated[0]["status"] == "OUT_OF_STOCK"
    assert [e["guid"] for e in client.list_inventory(status="OUT_OF_STOCK")] == [flan["guid"]]
    assert client.search_inventory(guids=[flan["guid"]])[0]["status"] == "OUT_OF_STOCK"
    with pytest.raises(PlatformError) as caught:
        client.update_inventory([{"guid": flan["guid"], "status": "QUANTITY", "quantity": -1}])
    assert caught.value.status == 400 and not caught.value.retryable
    assert "quantity" in caught.value.detail


def test_an_old_token_the_platform_forgot_is_replaced_once(running, client):
    client.fresh_token_s = 0
    client.get_menu_metadata()
    running.emulator.tokens.clear()

    assert client.get_menu_metadata()["restaurantGuid"] == RESTAURANT
    assert running.emulator.logins == 2


def test_a_fresh_token_refused_is_not_retried_with_more_logins(running, client):
    client.get_menu_metadata()
    running.emulator.tokens.clear()

    with pytest.raises(PlatformError) as caught:
        client.get_menu_metadata()

    assert caught.value.status == 401 and running.emulator.logins == 1


def test_bad_credentials_raise_a_platform_error(running):
    client = make_client(running, client_secret="wrong")

    with pytest.raises(PlatformError) as caught:
        client.get_menus()

    assert caught.value.status == 401
    assert caught.value.code == "error.authentication.invalid"


def test_429_and_500_are_retryable_with_retry_after(running, client):
    running.emulator.rate_limits = True
    client.get_menus()
    with pytest.raises(PlatformError) as throttled:
        client.get_menus()
    running.emulator.set_faults({"error_rate": 1.0})
    with pytest.raises(PlatformError) as failed:
        client.get_menu_metadata()

    assert throttled.value.status == 429 and throttled.value.retryable
    assert throttled.value.retry_after >= 1
    assert failed.value.status == 500 and failed.value.retryable
