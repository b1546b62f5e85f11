"""The incident Concord exists to end, and convergence under platform faults, end to end
over HTTP: Concord on live_server, the emulators on loopback, the engine as the worker."""

from __future__ import annotations

import json
import time

import pytest
import requests

from apps.connectors.models import InboundEvent
from apps.connectors.services.catalog_sync import run_catalog_pull, start_catalog_pull
from apps.core.models import ExceptionItem
from apps.core.services import create_api_client
from apps.inventory.models import StockLevel
from apps.inventory.selectors import list_ledger_mismatches
from apps.orders.models import Order
from tests.connectors.sync_helpers import BackgroundSync, stock_at, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def pull(platform):
    job = run_catalog_pull(start_catalog_pull(platform=platform).pk)
    assert job.status == "done", job.error
    return job


def phone_order(live_server, key, sku, quantity, location="OAK", idem="p1"):
    body = {"location": location, "source_name": "PieLine", "fulfillment": {"type": "pickup"},
            "lines": [{"sku": sku, "quantity": quantity}]}
    return requests.post(f"{live_server.url}/api/v1/orders", data=json.dumps(body), timeout=10,
                         headers={"Authorization": f"Bearer {key}", "Idempotency-Key": idem,
                                  "Content-Type": "application/json"})


def storefront_sale(shopify, sku, quantity=1, location="OAK"):
    body = {"location": location, "lines": [{"sku": sku, "quantity": quantity}], "tender": {"type": "card"}}
    return requests.post(f"{shopify.url}/__emulator/sale", json=body, timeout=10).json()


def test_a_phone_order_for_the_last_units_reaches_the_web_store_and_races_are_flagged(
        demo_merchant, start_emulator, connect, live_server):
    shopify, square = start_emulator("shopify"), start_emulator("square")  # noqa: F841
    connect("shopify", "OAK")
    connect("square", "OAK", receives_orders=True)
    pull("shopify")
    pull("square")
    _, key = create_api_client(name="PieLine", channel="phone")
    assert stock_at(shopify, "OAK", "MOLCAJETE")["quantity"] == 3

    # The phone takes the last 3 units. Before Concord's push lands, one web checkout
    # races in: Shopify still shows 3, so its storefront sells one.
    assert phone_order(live_server, key, "MOLCAJETE", 3).status_code == 201
    raced = storefront_sale(shopify, "MOLCAJETE")
    assert raced["accepted"] is True

    with BackgroundSync():
        committed = time.monotonic()
        wait_until(lambda: stock_at(shopify, "OAK", "MOLCAJETE").get("quantity") == 0,
                   message="Shopify shows 0")
        lag = time.monotonic() - committed
        refused = storefront_sale(shopify, "MOLCAJETE")
        wait_until(lambda: Order.objects.filter(channel="web").exists(), message="raced order recorded")
        wait_until(lambda: ExceptionItem.objects.filter(kind="oversold").exists(), message="flagged")
    print(f"phone order -> Shopify shows 0 in {lag * 1000:.0f} ms")

    assert refused["accepted"] is False  # web orders after the push are refused by the storefront
    web = Order.objects.get(channel="web")
    assert (web.source_name, web.external_id) == ("Shopify", str(raced["order_id"]))
    oversold = ExceptionItem.objects.get(kind="oversold")
    assert (oversold.units, oversold.data["order_id"]) == (1, web.pk)
    level = StockLevel.objects.get(location__code="OAK", variant__sku="MOLCAJETE")
    assert (level.on_hand, level.committed) == (3, 4)
    assert stock_at(shopify, "OAK", "MOLCAJETE")["quantity"] == 0
    assert list_ledger_mismatches() == []
    assert InboundEvent.objects.filter(status="failed").count() == 0


FAULTS = {"error_rate": 0.1, "rate_limit_rate": 0.08, "retry_after_s": 0.2, "timeout_rate": 0.05,
          "timeout_hold_s": 0.5, "drop_rate": 0.07, "duplicate_webhooks": True, "shuffle_webhooks": True,
          "webhook_delay_ms": [0, 200]}
STORES = {"OAK": "square", "BKN": "toast", "CHI": "clover"}
SKUS = ["BURRITO", "TACO-ASADA", "HORCHATA-L", "CHURROS", "NACHOS"]


def expected_targets(emulators):
    """(platform, location, sku) -> the count Concord means that platform to show."""
    from apps.connectors.selectors import push_target

    targets = {}
    for level in StockLevel.objects.select_related("location", "variant"):
        for platform in ("shopify", STORES[level.location.code]):
            targets[(platform, level.location.code, level.variant.sku)] = push_target(level, 0)
    return targets


def test_a_burst_under_faults_converges_once_faults_stop(demo_merchant, start_emulator, connect,
                                                         live_server):
    emulators = {platform: start_emulator(platform) for platform in ("shopify", "square", "toast", "clover")}
    for code, pos in STORES.items():
        connect(pos, code, receives_orders=True)
        connect("shopify", code)
    for platform in emulators:
        pull(platform)
    _, key = create_api_client(name="PieLine", channel="phone")
    for emulator in emulators.values():
        requests.post(f"{emulator.url}/__emulator/faults", json=FAULTS, timeout=5).raise_for_status()

    phone_ids, register_sales, web_sales = [], 0, 0
    with BackgroundSync(poll_every=1.0):
        for n in range(12):
            code = list(STORES)[n % 3]
            sku = SKUS[n % len(SKUS)]
            response = phone_order(live_server, key, sku, 1 + n % 2, location=code, idem=f"chaos-{n}")
            assert response.status_code == 201
            phone_ids.append(response.json()["id"])
            sale = {"location": code, "lines": [{"sku": SKUS[(n + 1) % len(SKUS)], "quantity": 1}],
                    "tender": {"type": "card"}}
            register_sales += _control(emulators[STORES[code]], "sale", sale)["accepted"]
            web_sales += _control(emulators["shopify"], "sale", sale)["accepted"]
        time.sleep(3)  # let the engine fight the faults for a while
        for emulator in emulators.values():
            requests.delete(f"{emulator.url}/__emulator/faults", timeout=5).raise_for_status()
        wait_until(lambda: Order.objects.filter(channel="register").count() == register_sales
                   and Order.objects.filter(channel="web").count() == web_sales,
                   timeout=90, interval=0.5, message="every platform sale recorded")
        wait_until(lambda: _converged(emulators), timeout=120, interval=0.5,
                   message=lambda: f"platforms converge: {LAST_DIFFERENCES}")

    for code, pos in STORES.items():
        injected = [o for o in _state(emulators[pos])["orders"]
                    if "concord" in json.dumps(o).lower()]
        references = {order_id for order_id in phone_ids
                      if Order.objects.get(pk=order_id).location.code == code}
        web_here = Order.objects.filter(channel="web", location__code=code).count()
        assert len(injected) == len(references) + web_here, (pos, injected)
    assert list_ledger_mismatches() == []
    assert not ExceptionItem.objects.filter(kind="delivery_failed", status="open").exists()


def _control(emulator, action, body):
    for _ in range(20):  # the control API is never faulted, but be explicit about it
        response = requests.post(f"{emulator.url}/__emulator/{action}", json=body, timeout=10)
        if response.ok:
            return response.json()
    raise AssertionError(response.text)


def _state(emulator):
    return requests.get(f"{emulator.url}/__emulator/state", timeout=10).json()


LAST_DIFFERENCES: list = []


def _converged(emulators) -> bool:
    from tests.connectors.sync_helpers import quiescent

    if not quiescent():
        LAST_DIFFERENCES[:] = ["engine still busy"]
        return False
    targets = expected_targets(emulators)
    stock = {platform: _state(emulator)["stock"] for platform, emulator in emulators.items()}
    LAST_DIFFERENCES[:] = [
        (platform, code, sku, shown, target) for (platform, code, sku), target in targets.items()
        if (shown := stock[platform].get(code, {}).get(sku, {}).get("quantity")) is not None
        and shown != target]
    return not LAST_DIFFERENCES


def test_an_item_86d_at_a_pos_is_refused_by_phone_and_zero_on_shopify_until_un86d(
        demo_merchant, start_emulator, connect, live_server):
    shopify, clover = start_emulator("shopify"), start_emulator("clover")
    connect("shopify", "CHI")
    connect("clover", "CHI", receives_orders=True)
    pull("shopify")
    pull("clover")
    _, key = create_api_client(name="PieLine", channel="phone")
    before = stock_at(shopify, "CHI", "CHURROS")["quantity"]
    assert before > 0

    with BackgroundSync():
        _control(clover, "stock", {"location": "CHI", "sku": "CHURROS", "available": False})
        wait_until(lambda: StockLevel.objects.get(location__code="CHI", variant__sku="CHURROS").is_86d,
                   message="86'd in Concord")
        refused = phone_order(live_server, key, "CHURROS", 1, location="CHI")
        wait_until(lambda: stock_at(shopify, "CHI", "CHURROS").get("quantity") == 0, message="0 on Shopify")

        _control(clover, "stock", {"location": "CHI", "sku": "CHURROS", "available": True})
        wait_until(lambda: not StockLevel.objects.get(location__code="CHI", variant__sku="CHURROS").is_86d,
                   message="back in Concord")
        wait_until(lambda: stock_at(shopify, "CHI", "CHURROS").get("quantity") == before,
                   message="back on Shopify")
    assert refused.status_code == 409
    assert refused.json()["errors"][0]["code"] == "item_unavailable"
    assert phone_order(live_server, key, "CHURROS", 1, location="CHI", idem="after").status_code == 201


def test_an_86_and_un86_at_toast_reach_concord_and_shopify(demo_merchant, start_emulator, connect,
                                                          live_server):
    shopify, toast = start_emulator("shopify"), start_emulator("toast")
    connect("shopify", "BKN")
    connect("toast", "BKN", receives_orders=True)
    pull("shopify")
    pull("toast")
    before = stock_at(shopify, "BKN", "CHURROS")["quantity"]

    def is_86d():
        return StockLevel.objects.get(location__code="BKN", variant__sku="CHURROS").is_86d

    with BackgroundSync(poll_every=1.0):
        _control(toast, "stock", {"location": "BKN", "sku": "CHURROS", "available": False})
        wait_until(is_86d, message="86'd in Concord")
        wait_until(lambda: stock_at(shopify, "BKN", "CHURROS").get("quantity") == 0, message="0 on Shopify")
        _control(toast, "stock", {"location": "BKN", "sku": "CHURROS", "available": True})
        wait_until(lambda: not is_86d(), message="back in Concord")
        wait_until(lambda: stock_at(shopify, "BKN", "CHURROS").get("quantity") == before,
                   message="back on Shopify")
        wait_until(lambda: stock_at(toast, "BKN", "CHURROS").get("available"), message="still on at Toast")
    assert not is_86d()
