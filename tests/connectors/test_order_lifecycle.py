"""The order's life follows the platforms, end to end: Concord (live_server, real Postgres)
and the emulators talk real HTTP both ways, driven through the engine (webhooks, polls,
deliveries). A ticket closed at a POS fulfils the order Concord sent there; a void there,
or a cancellation in Shopify, cancels it and releases its stock; an order canceled in
Concord has its ticket voided at the POS, or leaves staff a `manual_void_required`."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import requests

from apps.connectors.clover.adapter import clover_client
from apps.connectors.enums import DeliveryKind
from apps.connectors.models import Delivery, InboundEvent
from apps.connectors.services.intake import replay_event
from apps.connectors.toast import poller as toast_poller
from apps.core.models import ExceptionItem, OutboxEvent
from apps.demo import demo_data
from apps.demo.management.commands.simulate_traffic import close_picked_up_tickets
from apps.inventory.models import StockLevel, StockMovement
from apps.inventory.selectors import list_ledger_mismatches
from apps.orders.models import Order
from apps.orders.services import cancel_order
from tests.connectors.test_square_connector import (
    control,
    emulator_state,
    opening_stock_is_already_there,
    platform_count,
    pull,
    settle,
)
from tests.helpers import post_order

pytestmark = pytest.mark.django_db(transaction=True)

CUSTOMER = {"name": "Ana Ruiz", "phone": "+15105550123", "email": "ana@example.com"}


def place_phone_order(make_client, location: str, sku: str = "BURRITO", quantity: int = 2) -> int:
    body = {"location": location, "fulfillment": {"type": "pickup"}, "customer": dict(CUSTOMER),
            "lines": [{"sku": sku, "quantity": quantity}]}
    answer = post_order(make_client("phone"), body, key=f"call-{location}-{sku}-{quantity}")
    assert answer.status_code == 201, answer.content
    return answer.json()["id"]


def level(sku: str, location: str) -> StockLevel:
    return StockLevel.objects.get(variant__sku=sku, location__code=location)


def ticket_of(order_id: int) -> str:
    """The order's id at the POS Concord sent it to."""
    delivery = Delivery.objects.get(kind=DeliveryKind.INJECT_ORDER, order_id=order_id)
    assert delivery.status == "done" and delivery.external_ref, delivery.last_error
    return delivery.external_ref


def order_state(emulator, ticket: str, state: str) -> dict:
    return control(emulator, "order-state", {"order_id": ticket, "state": state})


def status_of(order_id: int) -> str:
    return Order.objects.values_list("status", flat=True).get(pk=order_id)


def open_exceptions(kind: str) -> list[ExceptionItem]:
    return list(ExceptionItem.objects.filter(kind=kind, status="open"))


# -- fixtures ----------------------------------------------------------------------------------


def connected(start_emulator, connect, platform: str, location: str, **fields):
    emulator = start_emulator(platform)
    emulator.webhook_retry_base_s = 0.05
    link = connect(platform, location, **fields)
    opening_stock_is_already_there()
    job = pull(platform)
    assert (job.status, job.summary["unmapped"]) == ("done", 0), job.error
    return SimpleNamespace(emulator=emulator, link=link)


@pytest.fixture
def square(demo_merchant, start_emulator, connect):
    return connected(start_emulator, connect, "square", "OAK", receives_orders=True)


@pytest.fixture
def toast(demo_merchant, start_emulator, connect):
    return connected(start_emulator, connect, "toast", "BKN", receives_orders=True)


@pytest.fixture
def clover(demo_merchant, start_emulator, connect):
    return connected(start_emulator, connect, "clover", "CHI", receives_orders=True)


@pytest.fixture
def shopify(demo_merchant, start_emulator, connect):
    return connected(start_emulator, connect, "shopify", "OAK")


def web_sale(shopify, *, quantity: int) -> dict:
    return control(shopify.emulator, "sale", {"location": "OAK", "lines": [{"sku": "HOT-SAUCE",
                                                                            "quantity": quantity}]})


def poll_toast(toast) -> None:
    toast_poller.poll(toast.link)
    settle(toast.emulator)


# -- Square ------------------------------------------------------------------------------------


def test_a_ticket_closed_at_square_fulfils_its_order_once_however_often_it_is_told(square, make_client):
    order_id = place_phone_order(make_client, "OAK")
    settle(square.emulator)
    on_hand = level("BURRITO", "OAK").on_hand

    order_state(square.emulator, ticket_of(order_id), "closed")
    settle(square.emulator)

    assert status_of(order_id) == "fulfilled"
    burrito = level("BURRITO", "OAK")
    assert (burrito.committed, burrito.on_hand) == (0, on_hand - 2)
    movements = StockMovement.objects.count()
    for event in InboundEvent.objects.filter(platform="square", topic="order.updated"):
        replay_event(event.pk)  # a replayed close changes nothing
    assert (status_of(order_id), StockMovement.objects.count()) == ("fulfilled", movements)
    assert level("BURRITO", "OAK").on_hand == on_hand - 2
    assert list_ledger_mismatches() == []
    assert open_exceptions("order_state_conflict") == []


def test_a_ticket_voided_at_square_cancels_its_order_and_every_count_agrees(square, make_client):
    order_id = place_phone_order(make_client, "OAK")
    settle(square.emulator)
    ticket = ticket_of(order_id)

    order_state(square.emulator, ticket, "voided")
    settle(square.emulator)

    assert status_of(order_id) == "canceled"
    assert level("BURRITO", "OAK").committed == 0
    opening = demo_data.opening_stock("OAK", "BURRITO")
    # Square gave the units back itself; Concord's push did not add them a second time.
    assert level("BURRITO", "OAK").available == platform_count(square.emulator, "BURRITO") == opening
    # The void Concord owes Square for the canceled order found it voided already.
    void = Delivery.objects.get(kind=DeliveryKind.VOID_ORDER, order_id=order_id)
    assert (void.status, void.history[-1]["note"]) == ("done", "voided before")
    assert list_ledger_mismatches() == []


def test_an_order_canceled_in_concord_voids_its_square_ticket(square, make_client):
    order_id = place_phone_order(make_client, "OAK")
    settle(square.emulator)
    ticket = ticket_of(order_id)

    cancel_order(order_id=order_id, actor="test")
    settle(square.emulator)

    [at_square] = [o for o in emulator_state(square.emulator)["orders"] if o["id"] == ticket]
    assert at_square["state"] == "CANCELED"
    opening = demo_data.opening_stock("OAK", "BURRITO")
    assert level("BURRITO", "OAK").available == platform_count(square.emulator, "BURRITO") == opening
    assert Delivery.objects.get(kind=DeliveryKind.VOID_ORDER, order_id=order_id).status == "done"
    assert open_exceptions("manual_void_required") == []


def test_a_close_after_a_cancel_is_a_conflict_and_the_completed_ticket_a_manual_void(square, make_client):
    order_id = place_phone_order(make_client, "OAK")
    settle(square.emulator)
    ticket = ticket_of(order_id)
    cancel_order(order_id=order_id, actor="test")

    order_state(square.emulator, ticket, "closed")  # the register completed it meanwhile
    settle(square.emulator)

    assert status_of(order_id) == "canceled"
    assert level("BURRITO", "OAK").committed == 0
    [conflict] = open_exceptions("order_state_conflict")
    assert conflict.data["order_id"] == order_id
    [manual] = open_exceptions("manual_void_required")
    assert (manual.platform, manual.data["ticket"]) == ("square", ticket)
    assert "refund" in manual.detail
    assert list_ledger_mismatches() == []


def test_an_order_canceled_before_it_was_sent_is_never_sent(square, make_client):
    order_id = place_phone_order(make_client, "OAK")
    cancel_order(order_id=order_id, actor="test")

    settle(square.emulator)

    assert emulator_state(square.emulator)["orders"] == []
    inject = Delivery.objects.get(kind=DeliveryKind.INJECT_ORDER, order_id=order_id)
    assert (inject.status, inject.external_ref) == ("done", "")
    assert Delivery.objects.get(kind=DeliveryKind.VOID_ORDER, order_id=order_id).status == "done"
    assert level("BURRITO", "OAK").available == platform_count(square.emulator, "BURRITO")


def test_demo_traffic_picks_up_orders_by_closing_their_tickets_so_committed_stock_falls(
        square, make_client, settings):
    settings.SQUARE_BASE_URL = square.emulator.url
    order_id = place_phone_order(make_client, "OAK")
    settle(square.emulator)
    assert level("BURRITO", "OAK").committed == 2

    assert close_picked_up_tickets(requests.Session(), waited=3600) == 0  # not yet
    assert close_picked_up_tickets(requests.Session(), waited=0) == 1
    settle(square.emulator)

    assert status_of(order_id) == "fulfilled"
    assert level("BURRITO", "OAK").committed == 0
    assert close_picked_up_tickets(requests.Session(), waited=0) == 0  # nothing left open


# -- Toast -------------------------------------------------------------------------------------


def test_a_ticket_closed_at_toast_fulfils_its_order_on_the_next_poll(toast, make_client):
    order_id = place_phone_order(make_client, "BKN")
    settle(toast.emulator)
    on_hand = level("BURRITO", "BKN").on_hand

    order_state(toast.emulator, ticket_of(order_id), "closed")
    poll_toast(toast)
    poll_toast(toast)  # the same version read again stores nothing new

    assert status_of(order_id) == "fulfilled"
    burrito = level("BURRITO", "BKN")
    assert (burrito.committed, burrito.on_hand) == (0, on_hand - 2)
    assert list_ledger_mismatches() == []


def test_an_order_canceled_in_concord_voids_its_toast_ticket(toast, make_client):
    order_id = place_phone_order(make_client, "BKN")
    settle(toast.emulator)
    ticket = ticket_of(order_id)

    cancel_order(order_id=order_id, actor="test")
    settle(toast.emulator)

    assert toast.emulator.orders[ticket].doc["voided"] is True
    poll_toast(toast)  # the void read back changes nothing
    assert status_of(order_id) == "canceled"
    assert level("BURRITO", "BKN").committed == 0
    assert open_exceptions("order_state_conflict") == []


def test_a_toast_ticket_paid_by_card_is_left_for_staff_to_void(toast, make_client):
    order_id = place_phone_order(make_client, "BKN")
    settle(toast.emulator)
    ticket = ticket_of(order_id)
    order_state(toast.emulator, ticket, "closed")  # paid by card at the register ...
    cancel_order(order_id=order_id, actor="test")  # ... while Concord cancels it

    settle(toast.emulator)
    poll_toast(toast)

    assert toast.emulator.orders[ticket].doc["voided"] is False  # the API only voids OTHER payments
    [manual] = open_exceptions("manual_void_required")
    assert (manual.platform, manual.data["ticket"], manual.data["order_id"]) == ("toast", ticket, order_id)
    assert "CREDIT" in manual.detail
    [conflict] = open_exceptions("order_state_conflict")
    assert conflict.data == {"order_id": order_id, "status": "canceled", "platform_state": "closed"}
    assert status_of(order_id) == "canceled"
    assert level("BURRITO", "BKN").committed == 0


def test_a_register_sale_voided_at_toast_puts_its_units_back(toast):
    sale = control(toast.emulator, "sale", {"location": "BKN", "lines": [{"sku": "BURRITO", "quantity": 3}]})
    poll_toast(toast)
    order = Order.objects.get(external_id=sale["order_id"])
    on_hand = level("BURRITO", "BKN").on_hand

    order_state(toast.emulator, sale["order_id"], "voided")
    poll_toast(toast)
    poll_toast(toast)

    order.refresh_from_db()
    assert (order.channel, order.status) == ("register", "canceled")
    assert level("BURRITO", "BKN").on_hand == on_hand + 3
    back = StockMovement.objects.get(order_id=order.pk, reason="return")
    assert (back.on_hand_delta, back.reference) == (3, "voided at Toast")
    assert set(order.payments.values_list("status", flat=True)) <= {"voided"}
    assert list_ledger_mismatches() == []


# -- Clover ------------------------------------------------------------------------------------


def test_a_ticket_paid_at_clover_fulfils_its_order(clover, make_client):
    order_id = place_phone_order(make_client, "CHI")
    settle(clover.emulator)
    on_hand = level("BURRITO", "CHI").on_hand

    order_state(clover.emulator, ticket_of(order_id), "closed")
    settle(clover.emulator)

    assert status_of(order_id) == "fulfilled"
    assert (level("BURRITO", "CHI").committed, level("BURRITO", "CHI").on_hand) == (0, on_hand - 2)


def test_an_order_canceled_in_concord_is_deleted_at_clover_and_a_clover_delete_cancels(clover, make_client):
    canceled_here = place_phone_order(make_client, "CHI")
    canceled_there = place_phone_order(make_client, "CHI", quantity=1)
    settle(clover.emulator)
    ticket_here, ticket_there = ticket_of(canceled_here), ticket_of(canceled_there)

    cancel_order(order_id=canceled_here, actor="test")
    order_state(clover.emulator, ticket_there, "voided")
    settle(clover.emulator)

    assert (status_of(canceled_here), status_of(canceled_there)) == ("canceled", "canceled")
    client = clover_client(clover.link.external_location_id)
    assert client.find_orders_by_title(f"concord:phone:{canceled_here}") == []
    assert ticket_here not in clover.emulator.orders and ticket_there not in clover.emulator.orders
    opening = demo_data.opening_stock("CHI", "BURRITO")
    assert level("BURRITO", "CHI").available == platform_count(clover.emulator, "BURRITO", "CHI") == opening


def test_a_clover_order_paid_while_concord_cancels_it_is_a_conflict_and_a_manual_void(clover, make_client):
    order_id = place_phone_order(make_client, "CHI")
    settle(clover.emulator)
    ticket = ticket_of(order_id)
    cancel_order(order_id=order_id, actor="test")
    order_state(clover.emulator, ticket, "closed")

    settle(clover.emulator)

    assert ticket in clover.emulator.orders  # a paid order is not deleted through the API
    assert [e.data["order_id"] for e in open_exceptions("manual_void_required")] == [order_id]
    assert [e.data["order_id"] for e in open_exceptions("order_state_conflict")] == [order_id]
    assert status_of(order_id) == "canceled"


# -- Shopify -----------------------------------------------------------------------------------


def test_an_order_cancelled_in_shopify_is_canceled_and_its_stock_released(shopify):
    sale = web_sale(shopify, quantity=2)
    settle(shopify.emulator)
    order = Order.objects.get(external_id=str(sale["order_id"]))
    assert level("HOT-SAUCE", "OAK").committed == 2

    order_state(shopify.emulator, sale["order_id"], "cancelled")
    settle(shopify.emulator)

    order.refresh_from_db()
    assert (order.channel, order.status) == ("web", "canceled")
    opening = demo_data.opening_stock("OAK", "HOT-SAUCE")
    assert level("HOT-SAUCE", "OAK").committed == 0
    assert level("HOT-SAUCE", "OAK").available == platform_count(shopify.emulator, "HOT-SAUCE") == opening
    release = StockMovement.objects.get(order_id=order.pk, reason="release")
    assert release.committed_delta == -2
    assert list_ledger_mismatches() == []


def test_an_order_fulfilled_in_shopify_is_fulfilled(shopify):
    sale = web_sale(shopify, quantity=1)
    settle(shopify.emulator)
    on_hand = level("HOT-SAUCE", "OAK").on_hand

    order_state(shopify.emulator, sale["order_id"], "closed")
    settle(shopify.emulator)

    assert Order.objects.get(external_id=str(sale["order_id"])).status == "fulfilled"
    assert (level("HOT-SAUCE", "OAK").committed, level("HOT-SAUCE", "OAK").on_hand) == (0, on_hand - 1)
    assert OutboxEvent.objects.filter(topic="order.fulfilled").count() == 1


def test_a_web_order_cancelled_in_shopify_voids_its_ticket_at_the_store_register(
        demo_merchant, start_emulator, connect):
    shop = connected(start_emulator, connect, "shopify", "OAK")
    register = connected(start_emulator, connect, "square", "OAK", receives_orders=True)
    sale = web_sale(shop, quantity=2)
    settle(shop.emulator, register.emulator)
    order = Order.objects.get(external_id=str(sale["order_id"]))
    ticket = ticket_of(order.pk)

    order_state(shop.emulator, sale["order_id"], "cancelled")
    settle(shop.emulator, register.emulator)

    order.refresh_from_db()
    assert order.status == "canceled"
    [at_square] = [o for o in emulator_state(register.emulator)["orders"] if o["id"] == ticket]
    assert at_square["state"] == "CANCELED"
    opening = demo_data.opening_stock("OAK", "HOT-SAUCE")
    # Both platforms gave the units back themselves, and neither got them a second time.
    assert level("HOT-SAUCE", "OAK").available == opening
    assert platform_count(shop.emulator, "HOT-SAUCE") == opening
    assert platform_count(register.emulator, "HOT-SAUCE") == opening
    assert list_ledger_mismatches() == []
