"""The Clover connector end to end: Concord (live_server, real Postgres) and the Clover
emulator talk over real HTTP both ways, driven through the engine (catalog pull, the
sync pass, webhooks, the poller), as in production."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import requests
from django.utils import timezone

from apps.connectors.adapters import StockPush
from apps.connectors.clover import poller
from apps.connectors.clover.adapter import clover_client
from apps.connectors.enums import DeliveryKind
from apps.connectors.models import Delivery, ExternalMapping, InboundEvent
from apps.connectors.platforms import adapter_for
from apps.connectors.selectors import item_refs
from apps.connectors.services.catalog_sync import run_catalog_pull, start_catalog_pull
from apps.connectors.tasks import sync_once
from apps.core.models import OutboxEvent
from apps.emulators.base import Emulator
from apps.inventory.models import StockLevel
from apps.inventory.selectors import list_ledger_mismatches
from apps.inventory.services import adjust_stock
from apps.orders.models import Order
from tests.helpers import post_order

from .connector_support import control, drain, phone_order, send_order_again

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def clover(demo_merchant, start_emulator, connect):
    emulator = start_emulator("clover")
    emulator.webhook_retry_base_s = 0.05
    link = connect("clover", "CHI", receives_orders=True)
    OutboxEvent.objects.update(dispatched_at=timezone.now())  # the opening stock is at Clover already
    job = run_catalog_pull(start_catalog_pull(platform="clover").pk)
    assert (job.status, job.summary["unmapped"]) == ("done", 0), job.error
    return SimpleNamespace(emulator=emulator, link=link, client=clover_client(link.external_location_id))


def clover_orders(clover, reference):
    return [o for o in control(clover.emulator, "GET", "state")["orders"] if o["title"] == reference]


def available(sku, code="CHI"):
    return StockLevel.objects.get(variant__sku=sku, location__code=code).available


def clover_stock(clover, sku):
    return control(clover.emulator, "GET", "state")["stock"]["CHI"][sku]


def test_catalog_pull_maps_items_by_sku_and_modifiers_by_name(clover):
    merchant = clover.emulator.merchants[clover.link.external_location_id]
    guac = next(m for m in merchant.modifiers.values() if m.sku == "EXTRA-GUAC")

    burrito = ExternalMapping.objects.get(platform="clover", variant__sku="BURRITO")
    mapped_guac = ExternalMapping.objects.get(platform="clover", modifier__sku="EXTRA-GUAC")

    assert (burrito.external_id, burrito.location.code) == (merchant.item_by_sku("BURRITO").id, "CHI")
    assert (mapped_guac.external_id, mapped_guac.data["modifierGroupId"]) == (guac.id, guac.group_id)


def test_a_phone_order_reaches_clover_once_tagged_with_its_channel(clover, phone):
    order = post_order(phone, phone_order(location="CHI")).json()
    reference = f"concord:phone:{order['id']}"

    drain(clover.emulator)

    [summary] = clover_orders(clover, reference)
    sent = clover.client.get_order(summary["id"])
    types = {t["id"]: t["label"] for t in clover.client.list_order_types()}
    guac = ExternalMapping.objects.get(platform="clover", modifier__sku="EXTRA-GUAC")
    lines = sent["lineItems"]["elements"]
    assert summary["lines"] == [{"sku": "BURRITO", "quantity": 2}]
    assert types[sent["orderType"]["id"]] == "Concord Pickup"
    assert sent["note"] == f"PHONE #{order['id']} Ana Ruiz · +15105550123 · pickup asap · {reference}"
    assert [[m["modifier"]["id"] for m in line["modifications"]["elements"]] for line in lines] == [
        [guac.external_id], [guac.external_id]]
    assert sent["total"] == 2 * (950 + 200)
    injection = Delivery.objects.get(kind=DeliveryKind.INJECT_ORDER)
    assert (injection.status, injection.external_ref) == ("done", summary["id"])

    again = send_order_again(clover.link, injection)  # as a retry after an unanswered call would

    assert again.external_id == summary["id"]
    assert len(clover_orders(clover, reference)) == 1


def lose_order_answers(emulator):
    """Every atomic order POST is applied at Clover, but its answer never reaches Concord."""
    emulator.DROP_APPLIED_CHANCE = 1.0

    def fault(request):
        if request.method == "POST" and request.path.endswith("/atomic_order/orders"):
            return Emulator._injected_fault(emulator, request)
        return None

    emulator._injected_fault = fault


def test_an_order_whose_answer_was_lost_is_found_not_made_again(clover, phone):
    control(clover.emulator, "POST", "faults", {"drop_rate": 1})
    order = post_order(phone, phone_order("FLAN", 1, modifiers=(), location="CHI")).json()
    reference = f"concord:phone:{order['id']}"
    drain(clover.emulator, rounds=2, quiet=False)
    assert clover_orders(clover, reference) == []  # Clover unreachable: nothing sent yet

    lose_order_answers(clover.emulator)
    drain(clover.emulator, rounds=2, quiet=False)
    [made] = clover_orders(clover, reference)  # the POST landed; Concord did not hear back

    control(clover.emulator, "DELETE", "faults")
    drain(clover.emulator)

    assert [o["id"] for o in clover_orders(clover, reference)] == [made["id"]]
    injection = Delivery.objects.get(kind=DeliveryKind.INJECT_ORDER)
    assert (injection.status, injection.external_ref) == ("done", made["id"])
    assert injection.attempts >= 3


def test_a_register_sale_arrives_by_webhook_once_even_delivered_twice_and_takes_stock(clover):
    before = StockLevel.objects.get(variant__sku="TACO-ASADA", location__code="CHI").on_hand
    control(clover.emulator, "POST", "faults", {"duplicate_webhooks": 1})
    sale = control(clover.emulator, "POST", "sale", {
        "location": "CHI", "tender": {"type": "card"},
        "lines": [{"sku": "TACO-ASADA", "quantity": 3, "modifiers": [{"sku": "SALSA-VERDE"}]}]})
    clover.emulator.flush_webhooks()

    [created] = InboundEvent.objects.filter(platform="clover", topic="O.CREATE")
    assert created.deliveries == 2
    drain(clover.emulator)
    assert poller.poll(clover.link) == 1  # the backstop finds it too ...
    drain(clover.emulator)

    [order] = Order.objects.filter(channel="register")  # ... and it is still one order
    assert (order.source_name, order.external_id, order.status) == ("Clover", sale["order_id"], "fulfilled")
    [line] = order.lines.all()
    assert (line.sku, line.quantity, line.unit_price) == ("TACO-ASADA", 3, 375)
    assert [m["sku"] for m in line.modifiers] == ["SALSA-VERDE"]
    level = StockLevel.objects.get(variant__sku="TACO-ASADA", location__code="CHI")
    assert level.on_hand == before - 3
    assert list_ledger_mismatches() == []
    assert clover_stock(clover, "TACO-ASADA")["quantity"] == level.available
    assert poller.poll(clover.link) == 0


def clover_calls(clover, route_part: str) -> int:
    return sum(n for route, n in clover.emulator.request_counts()["by_route"].items()
               if route.startswith("GET") and route.endswith(route_part))


def test_the_events_waiting_for_one_merchant_are_fetched_together(clover):
    """Clover's events carry ids only and its limit is 16 requests/s: one call fetches the
    orders (`id in (...)`) and one the items of every event waiting, not one call each."""
    skus = ["TACO-ASADA", "FLAN", "CHURROS"]
    for sku in skus:
        control(clover.emulator, "POST", "sale", {"location": "CHI", "lines": [{"sku": sku, "quantity": 1}],
                                                  "tender": {"type": "card"}})
    assert clover.emulator.flush_webhooks()
    items_before, orders_before = clover_calls(clover, "/items"), clover_calls(clover, "/orders")
    singles_before = clover_calls(clover, "/(?P<id>[^/]+)")
    assert InboundEvent.objects.filter(platform="clover", topic="O.CREATE").count() == 3

    sync_once()

    assert clover_calls(clover, "/orders") - orders_before == 1
    assert clover_calls(clover, "/items") - items_before == 1
    assert clover_calls(clover, "/(?P<id>[^/]+)") == singles_before  # nothing fetched one by one
    assert sorted(line.sku for order in Order.objects.filter(channel="register")
                  for line in order.lines.all()) == sorted(skus)


def test_an_item_86d_at_clover_is_86d_in_concord_and_refused_to_phone_orders(clover, phone):
    control(clover.emulator, "POST", "stock", {"location": "CHI", "sku": "FLAN", "available": False})
    drain(clover.emulator)

    assert StockLevel.objects.get(variant__sku="FLAN", location__code="CHI").is_86d is True
    refused = post_order(phone, phone_order("FLAN", 1, modifiers=(), location="CHI"), key="flan")
    assert refused.status_code == 409
    assert refused.json()["errors"][0]["code"] == "item_unavailable"

    control(clover.emulator, "POST", "stock", {"location": "CHI", "sku": "FLAN", "available": True})
    drain(clover.emulator)
    assert StockLevel.objects.get(variant__sku="FLAN", location__code="CHI").is_86d is False


def test_an_item_that_sells_out_is_not_86d(clover, phone):
    """Clover's autoManage makes an item unavailable at 0: a count, not an 86."""
    post_order(phone, phone_order("MOLCAJETE", available("MOLCAJETE"), modifiers=(), location="CHI"))
    drain(clover.emulator)

    assert clover_stock(clover, "MOLCAJETE") == {"quantity": 0, "available": False}
    assert StockLevel.objects.get(variant__sku="MOLCAJETE", location__code="CHI").is_86d is False


def test_stock_pushes_keep_clover_showing_what_concord_has(clover, phone):
    post_order(phone, phone_order("BURRITO", 2, location="CHI"), key="one")
    drain(clover.emulator)
    assert clover_stock(clover, "BURRITO")["quantity"] == available("BURRITO")

    level = StockLevel.objects.get(variant__sku="BURRITO", location__code="CHI")
    adjust_stock(location_id=level.location_id, variant_id=level.variant_id, delta=7, actor="test")
    drain(clover.emulator)
    assert clover_stock(clover, "BURRITO")["quantity"] == available("BURRITO")


def test_a_resent_stock_push_that_already_landed_is_not_applied_twice(clover):
    variant_id = StockLevel.objects.get(variant__sku="CHURROS", location__code="CHI").variant_id
    adapter = adapter_for(clover.link)
    start = clover_stock(clover, "CHURROS")["quantity"]

    def push():
        [ref] = item_refs(platform="clover", location_id=clover.link.location_id,
                          variant_ids=[variant_id]).values()
        return StockPush(item=ref, delta=-2, target=start - 2, is_86d=False, flag_changed=False,
                         expected_quantity=start, idempotency_key="concord-clover-test-1")

    [first] = adapter.push_stock([push()])
    [again] = adapter.push_stock([push()])  # the engine re-sends after an unanswered call

    assert (first.ok, first.platform_quantity) == (True, start - 2)
    assert (again.ok, again.platform_quantity) == (True, start - 2)
    assert clover_stock(clover, "CHURROS")["quantity"] == start - 2


def test_a_push_does_not_undo_an_86_made_at_clover_that_concord_has_not_heard_of(clover):
    control(clover.emulator, "POST", "faults", {"webhook_delay_ms": [60_000, 60_000]})  # not heard yet
    control(clover.emulator, "POST", "stock", {"location": "CHI", "sku": "FLAN", "available": False})
    flan = StockLevel.objects.get(variant__sku="FLAN", location__code="CHI")
    [ref] = item_refs(platform="clover", location_id=clover.link.location_id,
                      variant_ids=[flan.variant_id]).values()
    start = clover_stock(clover, "FLAN")["quantity"]

    [result] = adapter_for(clover.link).push_stock([StockPush(
        item=ref, delta=1, target=start + 1, is_86d=False, flag_changed=False, expected_quantity=start,
        idempotency_key="concord-clover-test-2")])

    assert result.ok
    assert clover_stock(clover, "FLAN") == {"quantity": start + 1, "available": False}


def test_a_wrong_auth_code_is_refused_and_nothing_stored(clover, live_server):
    body = b'{"appId":"X","merchants":{"CHIMERCHANT00":[{"objectId":"O:1","type":"CREATE","ts":1}]}}'
    answer = requests.post(f"{live_server.url}/webhooks/clover/", data=body, timeout=5,
                           headers={"Content-Type": "application/json", "X-Clover-Auth": "guess"})

    assert answer.status_code == 401
    assert InboundEvent.objects.count() == 0


def test_the_verification_post_is_answered_and_nothing_stored(clover, live_server):
    answer = requests.post(f"{live_server.url}/webhooks/clover/", json={"verificationCode": "abc-123"},
                           timeout=5)

    assert answer.status_code == 200
    assert InboundEvent.objects.count() == 0


def test_an_event_for_a_merchant_without_a_connection_is_ignored(clover, live_server, settings):
    body = b'{"appId":"X","merchants":{"NOSUCHMERCHNT":[{"objectId":"I:ABC","type":"UPDATE","ts":5}]}}'
    answer = requests.post(f"{live_server.url}/webhooks/clover/", data=body, timeout=5,
                           headers={"X-Clover-Auth": settings.CLOVER_AUTH_CODE})
    drain(clover.emulator)

    assert answer.status_code == 200
    event = InboundEvent.objects.get(event_id="NOSUCHMERCHNT:I:ABC:UPDATE:5")
    assert (event.status, event.topic) == ("ignored", "I.UPDATE")
