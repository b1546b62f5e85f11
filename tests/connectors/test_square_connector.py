"""The Square connector end to end: Concord (live_server, real Postgres) and the Square
emulator talk real HTTP both ways; everything is driven through the engine."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import requests
from django.utils import timezone

from apps.catalog.models import Modifier, Variant
from apps.connectors.enums import DeliveryKind, DeliveryStatus, JobStatus
from apps.connectors.models import Delivery, ExternalMapping, InboundEvent
from apps.connectors.services.catalog_sync import run_catalog_pull, start_catalog_pull
from apps.connectors.square import poller, signatures
from apps.connectors.square.adapter import square_client
from apps.connectors.tasks import sync_once
from apps.core.models import OutboxEvent
from apps.demo import demo_data
from apps.inventory.models import StockLevel
from apps.orders.models import Order
from tests.helpers import post_order

DEAD_URL = "http://127.0.0.1:9"  # nothing listens on the discard port


# -- helpers the Shopify tests share ----------------------------------------------------------


def pull(platform: str):
    return run_catalog_pull(start_catalog_pull(platform=platform).pk)


def settle(*emulators, rounds: int = 30) -> None:
    """Run the engine until nothing is left to do: webhooks delivered, events applied,
    deliveries sent (backoff skipped: the test does not wait for wall-clock retries)."""
    for _ in range(rounds):
        for emulator in emulators:
            assert emulator.flush_webhooks(10), f"{emulator.platform} webhooks did not drain"
        Delivery.objects.filter(status=DeliveryStatus.PENDING).update(next_attempt_at=timezone.now())
        if not any(sync_once().values()):
            return
    raise AssertionError("the engine did not settle")


def control(emulator, action: str, body: dict | None = None) -> dict:
    answer = requests.post(f"{emulator.url}/__emulator/{action}", json=body or {}, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def emulator_state(emulator) -> dict:
    return requests.get(f"{emulator.url}/__emulator/state", timeout=10).json()


def platform_count(emulator, sku: str, location: str = "OAK") -> int:
    return emulator_state(emulator)["stock"][location][sku]["quantity"]


def available(sku: str, location: str = "OAK") -> int:
    return StockLevel.objects.get(variant__sku=sku, location__code=location).available


def opening_stock_is_already_there() -> None:
    """The seed's receipts match the emulators' own seed: nothing to push for them."""
    OutboxEvent.objects.update(dispatched_at=timezone.now())


def phone_order(make_client, sku: str, quantity: int, *, key: str, **line) -> dict:
    body = {"location": "OAK", "fulfillment": {"type": "pickup", "pickup_at": "2030-11-25T18:30:00Z"},
            "customer": {"name": "Ana Ruiz", "phone": "+15105550123", "email": "ana@example.com"},
            "lines": [{"sku": sku, "quantity": quantity, **line}], "note": "call on arrival"}
    answer = post_order(make_client("phone"), body, key=key)
    assert answer.status_code == 201, answer.content
    return answer.json()


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def square(demo_merchant, start_emulator, connect):
    emulator = start_emulator("square")
    emulator.webhook_retry_base_s = 0.05
    link = connect("square", "OAK", receives_orders=True)
    opening_stock_is_already_there()
    job = pull("square")
    return SimpleNamespace(emulator=emulator, link=link, job=job)


# -- catalog -----------------------------------------------------------------------------------


def test_the_catalog_pull_maps_every_variant_and_modifier_and_reports_progress(square):
    job = square.job
    expected = len(demo_data.variant_skus()) + Modifier.objects.count()
    assert (job.status, job.done, job.total) == (JobStatus.DONE, expected, expected)
    assert (job.summary["mapped"], job.summary["unmapped"], job.summary["ambiguous"]) == (expected, 0, 0)
    mapped = ExternalMapping.objects.filter(platform="square")
    assert set(mapped.filter(kind="variant").values_list("variant__sku", flat=True)) == set(
        Variant.objects.values_list("sku", flat=True))
    assert set(mapped.filter(kind="modifier").values_list("modifier__sku", flat=True)) == set(
        Modifier.objects.values_list("sku", flat=True))


# -- orders out --------------------------------------------------------------------------------


def test_a_phone_order_is_injected_once_tagged_with_its_modifiers_and_stock_agrees(square, make_client):
    order = phone_order(make_client, "BURRITO", 2, key="call-1", modifiers=[{"sku": "EXTRA-GUAC"}],
                        note="no beans")
    settle(square.emulator)

    placed = emulator_state(square.emulator)["orders"]
    assert [(o["source"], o["idempotency_key"], o["lines"]) for o in placed] == [
        ("Concord phone", f"concord:phone:{order['id']}", [{"sku": "BURRITO", "quantity": 2}])]
    at_square = square_client().retrieve_order(placed[0]["id"])
    guac = ExternalMapping.objects.get(platform="square", modifier__sku="EXTRA-GUAC").external_id
    line = at_square["line_items"][0]
    assert ([m["catalog_object_id"] for m in line["modifiers"]], line["note"]) == ([guac], "no beans")
    assert at_square["total_money"]["amount"] == order["total"]["amount"]  # the price we quoted
    pickup = at_square["fulfillments"][0]["pickup_details"]
    assert (pickup["recipient"]["display_name"], pickup["pickup_at"]) == (
        "Ana Ruiz", "2030-11-25T18:30:00+00:00")
    injection = Delivery.objects.get(kind=DeliveryKind.INJECT_ORDER)
    assert (injection.status, injection.external_ref) == (DeliveryStatus.DONE, placed[0]["id"])
    assert platform_count(square.emulator, "BURRITO") == available("BURRITO") == \
        demo_data.opening_stock("OAK", "BURRITO") - 2


def test_an_order_sent_while_connections_drop_is_created_once(square, make_client):
    square.emulator.DROP_APPLIED_CHANCE = 1.0  # every dropped call took effect: the hard case
    control(square.emulator, "faults", {"drop_rate": 1})
    order = phone_order(make_client, "TACO-FISH", 3, key="call-2")
    for _ in range(2):
        Delivery.objects.filter(status=DeliveryStatus.PENDING).update(next_attempt_at=timezone.now())
        sync_once()
    assert Delivery.objects.get(kind=DeliveryKind.INJECT_ORDER).status == DeliveryStatus.PENDING

    requests.delete(f"{square.emulator.url}/__emulator/faults", timeout=10)
    settle(square.emulator)

    placed = emulator_state(square.emulator)["orders"]
    assert [o["idempotency_key"] for o in placed] == [f"concord:phone:{order['id']}"]
    assert platform_count(square.emulator, "TACO-FISH") == available("TACO-FISH") == \
        demo_data.opening_stock("OAK", "TACO-FISH") - 3


# -- sales in ----------------------------------------------------------------------------------


def test_a_register_sale_arrives_by_webhook_and_is_counted_once(square):
    opening = demo_data.opening_stock("OAK", "TACO-ASADA")
    sale = control(square.emulator, "sale", {"location": "OAK",
                                             "lines": [{"sku": "TACO-ASADA", "quantity": 3}]})
    settle(square.emulator)

    order = Order.objects.get()
    assert (order.channel, order.source_name, order.external_id) == ("register", "Square", sale["order_id"])
    assert [(line.sku, line.quantity) for line in order.lines.all()] == [("TACO-ASADA", 3)]
    assert available("TACO-ASADA") == opening - 3
    assert platform_count(square.emulator, "TACO-ASADA") == opening - 3  # not pushed down again


def test_the_poller_records_a_sale_whose_webhooks_were_lost(square):
    square.emulator.webhook_max_attempts = 1
    square.emulator.concord_url = DEAD_URL
    sale = control(square.emulator, "sale", {"location": "OAK", "lines": [{"sku": "ELOTE", "quantity": 2}]})
    square.emulator.flush_webhooks(10)
    assert not InboundEvent.objects.exists()

    assert poller.poll(square.link) == 1
    settle(square.emulator)
    assert poller.poll(square.link) == 0
    settle(square.emulator)

    assert list(Order.objects.values_list("external_id", "channel")) == [(sale["order_id"], "register")]
    assert available("ELOTE") == demo_data.opening_stock("OAK", "ELOTE") - 2


def test_a_duplicated_webhook_is_stored_once_and_records_one_order(square):
    control(square.emulator, "faults", {"duplicate_webhooks": 1})
    control(square.emulator, "sale", {"location": "OAK", "lines": [{"sku": "FLAN", "quantity": 1}]})
    settle(square.emulator)

    created = InboundEvent.objects.get(topic="order.created")
    assert created.deliveries == 2
    assert Order.objects.count() == 1


def test_a_tampered_signature_is_refused_and_nothing_is_stored(square, live_server):
    body = json.dumps({"event_id": "evt-1", "type": "order.created", "created_at": "2030-01-01T00:00:00Z",
                       "data": {"type": "order_created", "id": "X", "object": {}}}).encode()
    signature = signatures.sign(square.emulator.signature_key, f"{live_server.url}/webhooks/square/", body)
    tampered = body.replace(b"evt-1", b"evt-2")
    answer = requests.post(f"{live_server.url}/webhooks/square/", data=tampered, timeout=10,
                           headers={signatures.HEADER: signature, "Content-Type": "application/json"})
    assert answer.status_code == 401
    assert not InboundEvent.objects.exists()


def test_an_item_86d_at_the_register_is_86d_in_concord_and_back(square):
    control(square.emulator, "stock", {"location": "OAK", "sku": "CHURROS", "available": False})
    settle(square.emulator)
    assert StockLevel.objects.get(variant__sku="CHURROS", location__code="OAK").is_86d

    control(square.emulator, "stock", {"location": "OAK", "sku": "CHURROS", "quantity": 5,
                                       "available": True})
    settle(square.emulator)
    assert not StockLevel.objects.get(variant__sku="CHURROS", location__code="OAK").is_86d
