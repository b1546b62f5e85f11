"""The Shopify connector end to end: Concord (live_server, real Postgres), the Shopify
emulator and, where an order goes to the store's register, the Square emulator; real
HTTP both ways, everything driven through the engine."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from types import SimpleNamespace

import pytest
import requests
from django.core.management import call_command
from django.utils import timezone

from apps.catalog.models import Variant
from apps.connectors.enums import JobStatus
from apps.connectors.models import ChannelBuffer, Delivery, ExternalMapping, InboundEvent, StockSyncState
from apps.connectors.services.delivery import run_due_deliveries
from apps.connectors.services.routing import fan_out_outbox
from apps.connectors.shopify import signatures
from apps.connectors.tasks import sync_once
from apps.demo import demo_data
from apps.inventory.models import Location
from apps.orders.models import Order
from tests.connectors.test_square_connector import (
    available,
    control,
    emulator_state,
    opening_stock_is_already_there,
    phone_order,
    platform_count,
    pull,
    settle,
)


@pytest.fixture
def shopify(demo_merchant, start_emulator, connect):
    emulator = start_emulator("shopify")
    emulator.webhook_retry_base_s = 0.05
    link = connect("shopify", "OAK")
    opening_stock_is_already_there()
    job = pull("shopify")
    return SimpleNamespace(emulator=emulator, link=link, job=job)


@pytest.fixture
def square(shopify, start_emulator, connect):
    """OAK rings its sales on Square, which takes the store's web and phone orders."""
    emulator = start_emulator("square")
    emulator.webhook_retry_base_s = 0.05
    connect("square", "OAK", receives_orders=True)
    pull("square")
    return emulator


def test_the_catalog_pull_maps_every_variant_with_its_inventory_item(shopify):
    job = shopify.job
    expected = len(demo_data.variant_skus())
    assert (job.status, job.done, job.total) == (JobStatus.DONE, expected, expected)
    assert (job.summary["mapped"], job.summary["unmapped"]) == (expected, 0)
    mappings = ExternalMapping.objects.filter(platform="shopify", kind="variant")
    skus = set(mappings.values_list("variant__sku", flat=True))
    assert skus == set(Variant.objects.values_list("sku", flat=True))
    assert all(m.data["inventory_item_id"].isdigit() for m in mappings)


def test_a_connection_to_a_location_shopify_does_not_have_fails_the_pull(shopify, connect):
    shopify.link.external_location_id = "123"
    shopify.link.save()
    job = pull("shopify")
    assert job.status == JobStatus.FAILED
    assert "unknown_location" in job.error


def test_after_a_phone_order_every_platform_shows_what_concord_has(shopify, square, make_client):
    phone_order(make_client, "BURRITO-SUPER", 2, key="call-1")
    settle(shopify.emulator, square)

    left = demo_data.opening_stock("OAK", "BURRITO-SUPER") - 2
    assert available("BURRITO-SUPER") == left
    assert platform_count(shopify.emulator, "BURRITO-SUPER") == left
    assert platform_count(square, "BURRITO-SUPER") == left


def test_a_channel_buffer_holds_units_back_from_shopify_only(shopify, square, make_client):
    ChannelBuffer.objects.create(platform="shopify", location=Location.objects.get(code="OAK"), units=2)
    phone_order(make_client, "NACHOS", 1, key="call-2")
    settle(shopify.emulator, square)

    assert platform_count(shopify.emulator, "NACHOS") == available("NACHOS") - 2
    assert platform_count(square, "NACHOS") == available("NACHOS")


def test_a_register_sale_at_square_is_pushed_down_at_shopify_and_not_again_at_square(shopify, square):
    sale = control(square, "sale", {"location": "OAK", "lines": [{"sku": "CHIPS-GUAC", "quantity": 4}]})
    settle(shopify.emulator, square)

    order = Order.objects.get()
    assert (order.channel, order.source_name, order.external_id) == ("register", "Square", sale["order_id"])
    left = demo_data.opening_stock("OAK", "CHIPS-GUAC") - 4
    assert available("CHIPS-GUAC") == platform_count(shopify.emulator, "CHIPS-GUAC") == \
        platform_count(square, "CHIPS-GUAC") == left


def test_a_storefront_checkout_becomes_one_web_order_sent_to_the_store_register(shopify, square):
    sale = control(shopify.emulator, "sale", {
        "location": "OAK", "lines": [{"sku": "HOT-SAUCE", "quantity": 2}],
        "customer": {"name": "Li Wu", "email": "li@example.com"}})
    settle(shopify.emulator, square)

    order = Order.objects.get()
    assert (order.channel, order.source_name, order.external_id, order.fulfillment_type) == (
        "web", "Shopify", str(sale["order_id"]), "pickup")
    lines = [(line.sku, line.quantity, line.unit_price) for line in order.lines.all()]
    assert lines == [("HOT-SAUCE", 2, 1099)]
    assert (order.total_amount, order.customer_email) == (2198, "li@example.com")
    at_register = emulator_state(square)["orders"]
    assert [(o["source"], o["lines"]) for o in at_register] == [
        ("Concord web", [{"sku": "HOT-SAUCE", "quantity": 2}])]
    left = demo_data.opening_stock("OAK", "HOT-SAUCE") - 2
    assert available("HOT-SAUCE") == platform_count(shopify.emulator, "HOT-SAUCE") == \
        platform_count(square, "HOT-SAUCE") == left


def test_a_push_whose_compare_is_stale_rereads_instead_of_erasing_the_change(shopify, make_client):
    phone_order(make_client, "MUG", 1, key="call-3")
    settle(shopify.emulator)
    assert platform_count(shopify.emulator, "MUG") == available("MUG")

    # Staff recount at Shopify after Concord's last push; Concord has not heard yet.
    control(shopify.emulator, "stock", {"location": "OAK", "sku": "MUG", "quantity": 20})
    phone_order(make_client, "MUG", 2, key="call-4")
    fan_out_outbox()
    calls_before = graphql_calls(shopify.emulator)
    # The push goes out before the recount's webhook is applied: its compare fails, so
    # nothing is overwritten; the level is re-read and the next attempt, compared with
    # what Shopify shows now, goes out at once.
    run_due_deliveries()
    assert platform_count(shopify.emulator, "MUG") == 18  # Shopify's own 20, less our 2
    assert graphql_calls(shopify.emulator) - calls_before == 3  # push, re-read, push again
    state = StockSyncState.objects.get(platform="shopify", variant__sku="MUG")
    assert (state.platform_quantity, state.pending_key) == (18, "")
    settle(shopify.emulator)
    assert platform_count(shopify.emulator, "MUG") == 18


def graphql_calls(emulator) -> int:
    return sum(n for route, n in emulator.request_counts()["by_route"].items() if "graphql" in route)


def test_a_push_whose_answer_was_lost_is_applied_once(shopify, make_client):
    # The baseline was read a while ago, so the echo of the lost push is news when it comes.
    StockSyncState.objects.update(observed_at=timezone.now() - timedelta(minutes=1))
    shopify.emulator.DROP_APPLIED_CHANCE = 1.0  # every dropped call took effect
    control(shopify.emulator, "faults", {"drop_rate": 1})
    phone_order(make_client, "COMAL", 2, key="call-5")
    sync_once()  # applied at Shopify, the answer lost
    shopify.emulator.flush_webhooks(10)
    sync_once()  # the echo moves what Concord believes Shopify shows; the retry is lost too
    assert StockSyncState.objects.get(platform="shopify", variant__sku="COMAL").platform_quantity == \
        demo_data.opening_stock("OAK", "COMAL") - 2
    requests.delete(f"{shopify.emulator.url}/__emulator/faults", timeout=10)
    settle(shopify.emulator)

    assert platform_count(shopify.emulator, "COMAL") == available("COMAL") == \
        demo_data.opening_stock("OAK", "COMAL") - 2


# ---------------------------------------------------------------- pushes, one call per pass
# One `inventoryAdjustQuantities` of many changes under one `@idempotent` key, recorded
# with each push before it is sent: a retry re-sends the same pushes together and replays.
# Shopify applies a call whole or not at all, so a refused change sends the others again.

SKUS = ("MUG", "TOTE", "COMAL")


def order_each(make_client, prefix: str) -> None:
    for n, sku in enumerate(SKUS):
        phone_order(make_client, sku, 1, key=f"{prefix}-{n}")
    fan_out_outbox()


def push_of(sku: str) -> Delivery:
    variant_id = Variant.objects.get(sku=sku).pk
    return Delivery.objects.get(kind="push_stock", platform="shopify", variant_id=variant_id)


def test_the_pushes_of_one_pass_go_as_one_call_under_one_key(shopify, make_client):
    order_each(make_client, "call")
    calls_before = graphql_calls(shopify.emulator)
    run_due_deliveries()

    assert graphql_calls(shopify.emulator) - calls_before == 1
    keys = shopify.emulator.store.idempotent_results
    assert len(keys) == 1
    (name, arguments), = [json.loads(fingerprint) for fingerprint, _ in keys.values()]
    assert (name, len(arguments["changes"])) == ("inventoryAdjustQuantities", 3)
    for sku in SKUS:
        assert platform_count(shopify.emulator, sku) == available(sku)


def test_a_call_whose_answer_was_lost_is_sent_again_whole_and_applied_once(shopify, make_client):
    order_each(make_client, "lost")
    shopify.emulator.DROP_APPLIED_CHANCE = 1.0  # the call takes effect, its answer is lost
    control(shopify.emulator, "faults", {"drop_rate": 1})
    run_due_deliveries()
    requests.delete(f"{shopify.emulator.url}/__emulator/faults", timeout=10)
    assert {d.status for d in Delivery.objects.filter(platform="shopify")} == {"pending"}

    # Only the mug's push is due: the call is re-sent with all three, as it was first sent.
    later = timezone.now() + timedelta(hours=1)
    Delivery.objects.filter(platform="shopify").exclude(pk=push_of("MUG").pk).update(next_attempt_at=later)
    Delivery.objects.filter(pk=push_of("MUG").pk).update(next_attempt_at=timezone.now())
    run_due_deliveries()
    for sku in SKUS:
        assert platform_count(shopify.emulator, sku) == available(sku)  # applied once
        assert StockSyncState.objects.get(platform="shopify", variant__sku=sku).pending_key == ""

    Delivery.objects.filter(status="pending").update(next_attempt_at=timezone.now())
    run_due_deliveries()
    assert "already in step" in str(push_of("TOTE").history[-1])


def test_a_refused_change_does_not_hold_the_others_back(shopify, make_client, settings):
    settings.DELIVERY_MAX_ATTEMPTS = 1
    ExternalMapping.objects.filter(platform="shopify", variant__sku="TOTE").update(
        data={"inventory_item_id": "999999"})  # an item Shopify does not know
    order_each(make_client, "refused")
    calls_before = graphql_calls(shopify.emulator)
    run_due_deliveries()

    assert graphql_calls(shopify.emulator) - calls_before == 3  # the call, a re-read, the others again
    assert platform_count(shopify.emulator, "MUG") == available("MUG")
    assert platform_count(shopify.emulator, "COMAL") == available("COMAL")
    refused = push_of("TOTE")
    assert refused.status == "failed" and "INVALID_INVENTORY_ITEM" in refused.last_error


def test_a_platform_whose_counts_started_over_is_brought_back_in_step(shopify, make_client):
    """As the demo's emulators do at every `make run`: Concord remembers, the platform not."""
    phone_order(make_client, "MUG", 2, key="over-1")
    settle(shopify.emulator)
    control(shopify.emulator, "reset", {"seed": True})  # back to its seed: the 2 are there again
    assert platform_count(shopify.emulator, "MUG") == available("MUG") + 2

    out = io.StringIO()
    call_command("resync_stock", "shopify", stdout=out)
    settle(shopify.emulator)

    assert "items to push again" in out.getvalue()
    assert platform_count(shopify.emulator, "MUG") == available("MUG")


def test_duplicated_webhooks_are_stored_once_and_record_one_order(shopify):
    control(shopify.emulator, "faults", {"duplicate_webhooks": 1})
    control(shopify.emulator, "sale", {"location": "OAK", "lines": [{"sku": "TOTE", "quantity": 1}]})
    settle(shopify.emulator)

    for topic in ("orders/create", "orders/paid", "inventory_levels/update"):
        assert [e.deliveries for e in InboundEvent.objects.filter(topic=topic)] == [2]
    assert Order.objects.count() == 1


def test_a_tampered_signature_is_refused_and_nothing_is_stored(shopify, live_server):
    body = json.dumps({"id": 1, "line_items": []}).encode()
    headers = {signatures.HEADER: signatures.sign(shopify.emulator.api_secret, body),
               "X-Shopify-Topic": "orders/paid", "X-Shopify-Webhook-Id": "w-1",
               "Content-Type": "application/json"}
    answer = requests.post(f"{live_server.url}/webhooks/shopify/", data=body + b" ", headers=headers,
                           timeout=10)
    assert answer.status_code == 401
    assert not InboundEvent.objects.exists()
