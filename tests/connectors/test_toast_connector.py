"""The Toast connector end to end: Concord (live_server, real Postgres) and the Toast
emulator talk over real HTTP both ways, driven through the engine (catalog pull, the
sync pass, the poller), as in production."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import requests
from django.utils import timezone

from apps.connectors.adapters import StockPush
from apps.connectors.enums import DeliveryKind
from apps.connectors.models import Delivery, ExternalMapping, InboundEvent
from apps.connectors.platforms import adapter_for
from apps.connectors.selectors import item_refs
from apps.connectors.services.catalog_sync import run_catalog_pull, start_catalog_pull
from apps.connectors.toast import poller
from apps.connectors.toast.adapter import toast_client
from apps.connectors.toast.signatures import sign
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
def toast(demo_merchant, start_emulator, connect):
    emulator = start_emulator("toast")
    emulator.webhook_retry_base_s = 0.05
    link = connect("toast", "BKN", receives_orders=True)
    OutboxEvent.objects.update(dispatched_at=timezone.now())  # the opening stock is at Toast already
    job = run_catalog_pull(start_catalog_pull(platform="toast").pk)
    assert (job.status, job.summary["unmapped"]) == ("done", 0), job.error
    return SimpleNamespace(emulator=emulator, link=link, client=toast_client(link.external_location_id))


def toast_orders(toast, reference):
    return [o for o in control(toast.emulator, "GET", "state")["orders"] if o["idempotency_key"] == reference]


def available(sku, code="BKN"):
    return StockLevel.objects.get(variant__sku=sku, location__code=code).available


def toast_count(toast, sku):
    return control(toast.emulator, "GET", "state")["stock"]["BKN"][sku]


def test_catalog_pull_maps_items_with_their_menu_group_and_options_with_their_group(toast):
    burrito = ExternalMapping.objects.get(platform="toast", variant__sku="BURRITO")
    guac = ExternalMapping.objects.get(platform="toast", modifier__sku="EXTRA-GUAC")
    restaurant = toast.emulator.restaurants[toast.link.external_location_id]
    option = next(o for o in restaurant.options.values() if o.sku == "EXTRA-GUAC")

    assert burrito.location.code == "BKN"
    assert (burrito.external_id, burrito.data["itemGroupGuid"]) == (
        restaurant.item_by_sku("BURRITO").guid, restaurant.item_by_sku("BURRITO").group_guid)
    assert (guac.external_id, guac.data["optionGroupGuid"]) == (
        option.guid, restaurant.modifier_groups[option.group_ref].guid)


def test_a_phone_order_reaches_toast_once_tagged_with_its_channel(toast, phone):
    order = post_order(phone, phone_order()).json()
    reference = f"concord:phone:{order['id']}"

    drain(toast.emulator)

    [summary] = toast_orders(toast, reference)
    sent = toast.client.get_order(summary["id"])
    check = sent["checks"][0]
    [selection] = check["selections"]
    dining = {d["guid"]: d["name"] for d in toast.client.list_dining_options()}
    guac = ExternalMapping.objects.get(platform="toast", modifier__sku="EXTRA-GUAC")
    assert (summary["source"], summary["lines"]) == ("API", [{"sku": "BURRITO", "quantity": 2}])
    assert dining[sent["diningOption"]["guid"]] == "Concord Pickup"
    assert check["tabName"] == f"PHONE #{order['id']} Ana Ruiz"
    assert (check["externalId"], selection["externalId"]) == (f"{reference}:check", f"{reference}:line1")
    assert (check["customer"]["firstName"], check["customer"]["lastName"]) == ("Ana", "Ruiz")
    assert [m["item"]["guid"] for m in selection["modifiers"]] == [guac.external_id]
    injection = Delivery.objects.get(kind=DeliveryKind.INJECT_ORDER)
    assert (injection.status, injection.external_ref) == ("done", summary["id"])

    again = send_order_again(toast.link, injection)  # as a retry after an unanswered call would

    assert again.external_id == summary["id"]
    assert len(toast_orders(toast, reference)) == 1


def test_a_delivery_order_carries_its_address_and_the_delivery_dining_option(toast, phone):
    body = phone_order("TAMALE", 1, modifiers=(), fulfillment="delivery")
    body["fulfillment"]["address"] = {"line1": "12 Atlantic Ave", "city": "Brooklyn", "state": "NY",
                                      "postal_code": "11201"}
    order = post_order(phone, body, key="delivery").json()

    drain(toast.emulator)

    [summary] = toast_orders(toast, f"concord:phone:{order['id']}")
    sent = toast.client.get_order(summary["id"])
    dining = {d["guid"]: d["name"] for d in toast.client.list_dining_options()}
    assert dining[sent["diningOption"]["guid"]] == "Concord Delivery"
    info = sent["deliveryInfo"]
    assert (info["address1"], info["city"], info["state"], info["zipCode"]) == (
        "12 Atlantic Ave", "Brooklyn", "NY", "11201")


def lose_order_answers(emulator):
    """Every order POST is applied at Toast, but its answer never reaches Concord."""
    emulator.DROP_APPLIED_CHANCE = 1.0

    def fault(request):
        if request.method == "POST" and request.path == "/orders/v2/orders":
            return Emulator._injected_fault(emulator, request)
        return None

    emulator._injected_fault = fault


def test_an_order_whose_answer_was_lost_is_found_not_made_again(toast, phone):
    control(toast.emulator, "POST", "faults", {"drop_rate": 1})
    order = post_order(phone, phone_order(quantity=1)).json()
    reference = f"concord:phone:{order['id']}"
    drain(toast.emulator, rounds=2, quiet=False)
    assert toast_orders(toast, reference) == []  # Toast unreachable: nothing sent yet

    lose_order_answers(toast.emulator)
    drain(toast.emulator, rounds=2, quiet=False)
    [made] = toast_orders(toast, reference)  # the POST landed; Concord did not hear back

    control(toast.emulator, "DELETE", "faults")
    drain(toast.emulator)

    assert [o["id"] for o in toast_orders(toast, reference)] == [made["id"]]
    injection = Delivery.objects.get(kind=DeliveryKind.INJECT_ORDER)
    assert (injection.status, injection.external_ref) == ("done", made["id"])
    assert injection.attempts >= 3


def test_a_register_sale_is_polled_recorded_once_and_takes_stock(toast):
    before = StockLevel.objects.get(variant__sku="TACO-ASADA", location__code="BKN").on_hand
    sale = control(toast.emulator, "POST", "sale", {"location": "BKN", "tender": {"type": "card"},
                                                    "lines": [{"sku": "TACO-ASADA", "quantity": 3}]})

    assert poller.poll(toast.link) == 1
    drain(toast.emulator)
    assert poller.poll(toast.link) == 0
    drain(toast.emulator)

    [order] = Order.objects.filter(channel="register")
    assert (order.source_name, order.external_id, order.status) == ("Toast", sale["order_id"], "fulfilled")
    lines = [(line.sku, line.quantity, line.unit_price) for line in order.lines.all()]
    assert lines == [("TACO-ASADA", 3, 375)]
    assert order.total_amount == 1125
    level = StockLevel.objects.get(variant__sku="TACO-ASADA", location__code="BKN")
    assert level.on_hand == before - 3
    assert list_ledger_mismatches() == []
    assert toast_count(toast, "TACO-ASADA")["quantity"] == level.available


def test_an_item_86d_at_toast_is_86d_in_concord_and_refused_to_phone_orders(toast, phone):
    control(toast.emulator, "POST", "stock", {"location": "BKN", "sku": "FLAN", "available": False})
    drain(toast.emulator)

    assert StockLevel.objects.get(variant__sku="FLAN", location__code="BKN").is_86d is True
    refused = post_order(phone, phone_order("FLAN", 1, modifiers=()), key="flan")
    assert refused.status_code == 409
    assert refused.json()["errors"][0]["code"] == "item_unavailable"

    control(toast.emulator, "POST", "stock", {"location": "BKN", "sku": "FLAN", "available": True})
    drain(toast.emulator)
    assert StockLevel.objects.get(variant__sku="FLAN", location__code="BKN").is_86d is False


def test_an_item_that_sells_out_is_not_86d(toast, phone):
    """Concord's own zero comes back from Toast as OUT_OF_STOCK: a count, not an 86."""
    left = available("MOLCAJETE")
    post_order(phone, phone_order("MOLCAJETE", left, modifiers=()), key="all")
    drain(toast.emulator)

    assert toast_count(toast, "MOLCAJETE")["available"] is False
    assert StockLevel.objects.get(variant__sku="MOLCAJETE", location__code="BKN").is_86d is False


def test_stock_pushes_keep_toast_showing_what_concord_has(toast, phone):
    post_order(phone, phone_order("BURRITO", 2), key="one")
    drain(toast.emulator)
    assert toast_count(toast, "BURRITO")["quantity"] == available("BURRITO")

    level = StockLevel.objects.get(variant__sku="BURRITO", location__code="BKN")
    adjust_stock(location_id=level.location_id, variant_id=level.variant_id, delta=7, actor="test")
    drain(toast.emulator)
    assert toast_count(toast, "BURRITO")["quantity"] == available("BURRITO")


def test_a_resent_stock_push_that_already_landed_is_not_applied_twice(toast):
    variant_id = StockLevel.objects.get(variant__sku="CHURROS", location__code="BKN").variant_id
    adapter = adapter_for(toast.link)
    start = toast_count(toast, "CHURROS")["quantity"]

    def push():
        [ref] = item_refs(platform="toast", location_id=toast.link.location_id,
                          variant_ids=[variant_id]).values()
        return StockPush(item=ref, delta=-2, target=start - 2, is_86d=False, flag_changed=False,
                         expected_quantity=start, idempotency_key="concord-toast-test-1")

    [first] = adapter.push_stock([push()])
    [again] = adapter.push_stock([push()])  # the engine re-sends after an unanswered call

    assert (first.ok, first.platform_quantity) == (True, start - 2)
    assert (again.ok, again.platform_quantity) == (True, start - 2)
    assert toast_count(toast, "CHURROS")["quantity"] == start - 2


def test_a_bad_signature_is_refused_and_nothing_stored(toast, live_server):
    body = b'{"timestamp":"2026-01-01T00:00:00.000Z","eventCategory":"stock","eventType":"out_of_stock",' \
           b'"guid":"e1","details":{}}'
    answer = requests.post(f"{live_server.url}/webhooks/toast/", data=body, timeout=5, headers={
        "Content-Type": "application/json",
        "Toast-Signature": sign("not-the-secret", body, "2026-01-01T00:00:00.000Z")})

    assert answer.status_code == 401
    assert InboundEvent.objects.count() == 0


def test_a_webhook_delivered_twice_is_stored_once(toast):
    control(toast.emulator, "POST", "faults", {"duplicate_webhooks": 1})
    control(toast.emulator, "POST", "stock", {"location": "BKN", "sku": "ELOTE", "quantity": 3})
    toast.emulator.flush_webhooks()

    [event] = InboundEvent.objects.filter(platform="toast")
    assert (event.topic, event.deliveries, event.verified) == ("stock.low_quantity", 2, True)
    drain(toast.emulator)
    assert InboundEvent.objects.get(pk=event.pk).status == "processed"
