"""Refunds end to end over HTTP: Concord on live_server, the emulators on loopback, the
engine as the worker. Refund parts reach Square and Shopify once whatever the faults, their
webhooks coming back do not count them twice, refunds made at the register or in Shopify's
admin are recorded once, Toast parts are left for staff, and a refund above the limit sends
nothing until approved."""

from __future__ import annotations

import io

import pytest
import requests
from django.core.management import call_command
from django.utils import timezone

from apps.connectors.enums import DeliveryKind, DeliveryStatus
from apps.connectors.models import Delivery, PlatformConnection
from apps.connectors.services.catalog_sync import run_catalog_pull, start_catalog_pull
from apps.connectors.square import poller as square_poller
from apps.connectors.tasks import sync_once
from apps.connectors.toast import poller as toast_poller
from apps.core.models import ExceptionItem, OutboxEvent
from apps.core.services import create_api_client
from apps.inventory.models import StockLevel
from apps.orders.models import Order
from apps.returns.models import Refund, RefundPart
from tests.connectors.sync_helpers import emulator_state, stock_at, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

FAULTS = {"error_rate": 0.2, "rate_limit_rate": 0.15, "retry_after_s": 0.05, "timeout_rate": 0.1,
          "timeout_hold_s": 0.3, "drop_rate": 0.1}


# -- helpers -------------------------------------------------------------------------------------


def control(emulator, action: str, body: dict) -> dict:
    answer = requests.post(f"{emulator.url}/__emulator/{action}", json=body, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def run_engine(*emulators, rounds: int = 20) -> None:
    """Webhooks delivered, events applied, due deliveries sent (backoff skipped: the test
    does not wait for wall-clock retries), until a pass finds nothing to do."""
    for _ in range(rounds):
        for emulator in emulators:
            emulator.flush_webhooks(10)
        Delivery.objects.filter(status=DeliveryStatus.PENDING).update(next_attempt_at=timezone.now())
        if not any(sync_once().values()):
            return


def engine_until(condition, *emulators, message: str):
    return wait_until(lambda: (run_engine(*emulators), condition())[1], timeout=60, message=message)


def pull(platform: str) -> None:
    job = run_catalog_pull(start_catalog_pull(platform=platform).pk)
    assert job.status == "done", job.error


def staff_key(role: str = "customer_service") -> str:
    return create_api_client(name=f"helpdesk-{role}", role=role)[1]


def post_refund(live_server, order_id: int, body: dict, *, key: str, idempotency_key: str = "r-1"):
    return requests.post(f"{live_server.url}/api/v1/orders/{order_id}/refunds", json=body, timeout=20,
                         headers={"Authorization": f"Bearer {key}", "Idempotency-Key": idempotency_key})


def platform_refunds(emulator) -> list[dict]:
    return emulator_state(emulator)["refunds"]


def refund_deliveries():
    return Delivery.objects.filter(kind=DeliveryKind.REFUND_PART)


def available(sku: str, code: str) -> int:
    return StockLevel.objects.get(variant__sku=sku, location__code=code).available


@pytest.fixture
def square(demo_merchant, start_emulator, connect):
    emulator = start_emulator("square")
    emulator.webhook_retry_base_s = 0.05
    connect("square", "OAK")
    OutboxEvent.objects.update(dispatched_at=timezone.now())  # the seed's stock is already there
    pull("square")
    return emulator


def square_sale(square, sku="TACO-ASADA", quantity=3) -> Order:
    sale = control(square, "sale", {"location": "OAK", "lines": [{"sku": sku, "quantity": quantity}],
                                    "tender": {"type": "card"}})
    engine_until(lambda: Order.objects.filter(external_id=sale["order_id"]).exists(), square,
                 message="the register sale is recorded")
    return Order.objects.get(external_id=sale["order_id"])


# -- Square ----------------------------------------------------------------------------------------


def test_a_refund_from_concord_reaches_square_once_and_completes_when_square_settles_it(square, live_server):
    order = square_sale(square)
    answer = post_refund(live_server, order.pk, {"lines": [{"line": 1, "quantity": 1}], "reason": "cold"},
                         key=staff_key())
    assert answer.status_code == 201, answer.text
    assert [p["status"] for p in answer.json()["parts"]] == ["pending"]

    part = engine_until(lambda: RefundPart.objects.filter(status="completed").first(), square,
                        message="Square's refund.updated completes the part")

    [sent] = platform_refunds(square)
    assert (sent["amount"], sent["status"], sent["idempotency_key"]) == (
        part.amount, "COMPLETED", f"concord-refund-part-{part.pk}")
    assert part.reference == sent["id"]
    assert Refund.objects.get().status == "completed"
    assert list(refund_deliveries().values_list("status", "external_ref")) == [("done", sent["id"])]


def test_faults_delay_square_refunds_but_never_send_one_twice(square, live_server):
    order = square_sale(square, quantity=3)
    control(square, "faults", {**FAULTS, "duplicate_webhooks": True, "shuffle_webhooks": True})
    key = staff_key()
    for unit in range(3):
        answer = post_refund(live_server, order.pk, {"lines": [{"line": 1, "quantity": 1}]}, key=key,
                             idempotency_key=f"unit-{unit}")
        assert answer.status_code == 201, answer.text

    engine_until(lambda: RefundPart.objects.filter(status="completed").count() == 3, square,
                 message="all three parts completed")

    sent = platform_refunds(square)
    parts = RefundPart.objects.order_by("pk")
    assert sorted(r["idempotency_key"] for r in sent) == sorted(f"concord-refund-part-{p.pk}" for p in parts)
    refunded = Order.objects.get().refunded_amount
    assert sum(r["amount"] for r in sent) == sum(p.amount for p in parts) == refunded
    assert {p.reference for p in parts} == {r["id"] for r in sent}
    assert Refund.objects.filter(status="completed").count() == 3


def test_a_refund_made_at_the_square_register_is_recorded_once(square):
    order = square_sale(square)
    control(square, "faults", {"duplicate_webhooks": True, "shuffle_webhooks": True})
    made = control(square, "refund", {"order_id": order.external_id, "amount": 300, "reason": "at the till"})

    refund = engine_until(lambda: Refund.objects.filter(status="completed").first(), square,
                          message="the register refund is recorded")
    run_engine(square)

    assert Refund.objects.count() == 1
    part = refund.parts.get()
    assert (refund.amount, part.amount, part.status) == (300, 300, "completed")
    assert part.reference == made["refund_id"]
    order.refresh_from_db()
    assert order.refunded_amount == 300
    assert not refund_deliveries().exists()  # nothing is sent back to Square
    assert len(platform_refunds(square)) == 1


def test_a_register_refund_whose_webhooks_were_lost_arrives_with_the_poll(square):
    order = square_sale(square)
    square.webhook_max_attempts = 1
    square.concord_url = "http://127.0.0.1:9"  # nothing listens on the discard port
    made = control(square, "refund", {"order_id": order.external_id, "amount": 250})
    wait_until(lambda: platform_refunds(square)[0]["status"] == "COMPLETED", message="Square settles it")
    square.flush_webhooks(10)
    assert not Refund.objects.exists()

    link = PlatformConnection.objects.get(platform="square")
    refund = engine_until(lambda: (square_poller.poll(link), Refund.objects.first())[1], square,
                          message="the poll brings the refunded order")
    square_poller.poll(link)
    run_engine(square)

    assert Refund.objects.count() == 1
    assert (refund.amount, refund.status) == (250, "completed")
    assert refund.parts.get().reference == made["refund_id"]


def test_a_refund_above_the_limit_waits_for_approval_and_sends_nothing_until_approved(square, live_server,
                                                                                    settings):
    settings.REFUND_APPROVAL_LIMIT = 100
    order = square_sale(square)
    answer = post_refund(live_server, order.pk, {"amount": {"amount": 500, "currency": "USD"}},
                         key=staff_key())
    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] == "awaiting_approval"

    run_engine(square)
    assert platform_refunds(square) == []
    assert not refund_deliveries().exists()
    assert ExceptionItem.objects.get(kind="approval_required").status == "open"

    call_command("approve_refund", str(answer.json()["id"]), stdout=io.StringIO())
    engine_until(lambda: Refund.objects.filter(status="completed").exists(), square,
                 message="the approved refund is sent and completed")

    [sent] = platform_refunds(square)
    assert sent["amount"] == 500


# -- Shopify and Toast in Brooklyn -------------------------------------------------------------------


@pytest.fixture
def brooklyn(demo_merchant, start_emulator, connect):
    shopify, toast = start_emulator("shopify"), start_emulator("toast")
    connect("shopify", "BKN")
    connect("toast", "BKN")
    OutboxEvent.objects.update(dispatched_at=timezone.now())
    pull("shopify")
    pull("toast")
    return shopify, toast


def handed_over_web_order(shopify, toast, sku: str, quantity: int = 2) -> Order:
    sale = control(shopify, "sale", {"location": "BKN", "lines": [{"sku": sku, "quantity": quantity}],
                                     "tender": {"type": "card"}})
    assert sale["accepted"], sale
    engine_until(lambda: Order.objects.filter(external_id=str(sale["order_id"])).exists(), shopify, toast,
                 message="the web order is recorded")
    control(shopify, "order-state", {"order_id": sale["order_id"], "state": "closed"})
    engine_until(lambda: Order.objects.filter(external_id=str(sale["order_id"]), status="fulfilled").exists(),
                 shopify, toast, message="the web order is handed over")
    run_engine(shopify, toast)
    return Order.objects.get(external_id=str(sale["order_id"]))


def counts(shopify, toast, sku: str) -> tuple:
    return (available(sku, "BKN"), stock_at(shopify, "BKN", sku)["quantity"],
            stock_at(toast, "BKN", sku)["quantity"])


def test_a_web_order_returned_in_brooklyn_refunds_to_shopify_once_and_every_platform_sees_the_stock(
        brooklyn, live_server):
    shopify, toast = brooklyn
    order = handed_over_web_order(shopify, toast, "BURRITO")
    before = counts(shopify, toast, "BURRITO")
    assert None not in before

    answer = post_refund(live_server, order.pk, {"lines": [{"line": 1, "quantity": 1, "restock": True}],
                                                 "return_location": "BKN", "reason": "wrong size"},
                         key=staff_key())
    assert answer.status_code == 201, answer.text
    engine_until(lambda: RefundPart.objects.filter(status="completed").exists(), shopify, toast,
                 message="Shopify refunded the part")
    engine_until(lambda: counts(shopify, toast, "BURRITO") == tuple(n + 1 for n in before), shopify, toast,
                 message=lambda: f"one more everywhere: {before} -> {counts(shopify, toast, 'BURRITO')}")
    run_engine(shopify, toast)

    [sent] = platform_refunds(shopify)
    refund = Refund.objects.get()  # the refunds/create webhook coming back is the same refund
    part = refund.parts.get()
    assert (sent["amount"], str(sent["id"]), part.status) == (part.amount, part.reference, "completed")
    assert refund.status == "completed"
    order.refresh_from_db()
    assert order.refunded_amount == refund.amount == part.amount
    assert counts(shopify, toast, "BURRITO") == tuple(n + 1 for n in before)


def test_a_refund_made_in_shopifys_admin_is_recorded_once_and_its_restock_is_not_pushed_twice(brooklyn):
    shopify, toast = brooklyn
    order = handed_over_web_order(shopify, toast, "BURRITO")
    before = counts(shopify, toast, "BURRITO")
    control(shopify, "faults", {"duplicate_webhooks": True, "shuffle_webhooks": True})

    made = control(shopify, "refund", {"order_id": int(order.external_id), "restock": True,
                                       "lines": [{"sku": "BURRITO", "quantity": 1}], "reason": "admin"})
    refund = engine_until(lambda: Refund.objects.filter(status="completed").first(), shopify, toast,
                          message="the admin refund is recorded")
    engine_until(lambda: counts(shopify, toast, "BURRITO") == tuple(n + 1 for n in before), shopify, toast,
                 message=lambda: f"one more everywhere: {before} -> {counts(shopify, toast, 'BURRITO')}")
    run_engine(shopify, toast)

    assert Refund.objects.count() == 1
    line = refund.lines.get()
    assert (line.quantity, line.restock, line.location.code) == (1, True, "BKN")
    assert (refund.amount, refund.parts.get().reference) == (made["amount"], str(made["refund_id"]))
    assert not refund_deliveries().exists()
    assert counts(shopify, toast, "BURRITO") == tuple(n + 1 for n in before)  # not +2 at Shopify


def test_faults_delay_shopify_refunds_but_a_retry_finds_the_first_and_never_refunds_twice(brooklyn,
                                                                                        live_server):
    shopify, toast = brooklyn
    order = handed_over_web_order(shopify, toast, "BURRITO", quantity=3)
    control(shopify, "faults", {**FAULTS, "drop_rate": 0.3})
    key = staff_key()
    for unit in range(3):
        answer = post_refund(live_server, order.pk, {"lines": [{"line": 1, "quantity": 1}]}, key=key,
                             idempotency_key=f"unit-{unit}")
        assert answer.status_code == 201, answer.text

    engine_until(lambda: RefundPart.objects.filter(status="completed").count() == 3, shopify, toast,
                 message="all three parts completed")

    sent = platform_refunds(shopify)
    parts = RefundPart.objects.all()
    assert len(sent) == 3
    assert sorted(str(r["id"]) for r in sent) == sorted(p.reference for p in parts)
    assert sum(r["amount"] for r in sent) == Order.objects.get().refunded_amount
    assert Refund.objects.count() == 3


def test_an_in_store_toast_order_refunded_from_concord_asks_staff_to_refund_it_at_the_pos(brooklyn,
                                                                                         live_server):
    shopify, toast = brooklyn
    control(toast, "sale", {"location": "BKN", "lines": [{"sku": "BURRITO", "quantity": 2}],
                            "tender": {"type": "card"}})
    link = PlatformConnection.objects.get(platform="toast")
    engine_until(lambda: (toast_poller.poll(link), Order.objects.filter(channel="register").exists())[1],
                 shopify, toast, message="the Toast sale is polled in")
    order = Order.objects.get(channel="register")

    answer = post_refund(live_server, order.pk, {"lines": [{"line": 1, "quantity": 1}]}, key=staff_key())
    run_engine(shopify, toast)

    assert answer.status_code == 201, answer.text
    assert [(p["platform"], p["status"]) for p in answer.json()["parts"]] == [("toast", "manual_required")]
    item = ExceptionItem.objects.get(kind="manual_refund_required")
    assert (item.status, item.platform) == ("open", "toast")
    assert "Toast POS" in item.title
    assert not refund_deliveries().exists()


def test_toast_pos_refunds_complete_the_manual_part_they_cover_and_the_rest_is_recorded_once(brooklyn,
                                                                                             live_server):
    shopify, toast = brooklyn
    control(toast, "sale", {"location": "BKN", "lines": [{"sku": "BURRITO", "quantity": 2}],
                            "tender": {"type": "card"}})
    link = PlatformConnection.objects.get(platform="toast")
    def polled_sale():
        toast_poller.poll(link)
        return Order.objects.filter(channel="register").first()

    order = engine_until(polled_sale, shopify, toast, message="the Toast sale is polled in")
    answer = post_refund(live_server, order.pk, {"lines": [{"line": 1, "quantity": 1}]}, key=staff_key())
    assert answer.status_code == 201, answer.text
    part = RefundPart.objects.get()
    assert part.status == "manual_required"

    # Staff refund that part at the POS, then refund another 1.00 there on their own.
    control(toast, "refund", {"order_id": order.external_id, "amount": part.amount})
    engine_until(lambda: (toast_poller.poll(link), RefundPart.objects.filter(status="completed").exists())[1],
                 shopify, toast, message="the POS refund completes the manual part")
    control(toast, "refund", {"order_id": order.external_id, "amount": 100})
    engine_until(lambda: (toast_poller.poll(link), Refund.objects.count() == 2)[1], shopify, toast,
                 message="the second POS refund is recorded")
    toast_poller.poll(link)
    run_engine(shopify, toast)

    assert ExceptionItem.objects.get(kind="manual_refund_required").status == "resolved"
    assert Refund.objects.count() == 2
    made_there = Refund.objects.exclude(pk=part.refund_id).get()
    assert (made_there.amount, made_there.status) == (100, "completed")
    assert made_there.parts.get().status == "completed"
    order.refresh_from_db()
    assert order.refunded_amount == part.amount + 100


# -- Clover in Chicago ---------------------------------------------------------------------------------


@pytest.fixture
def clover(demo_merchant, start_emulator, connect):
    emulator = start_emulator("clover")
    emulator.webhook_retry_base_s = 0.05
    connect("clover", "CHI")
    OutboxEvent.objects.update(dispatched_at=timezone.now())
    pull("clover")
    return emulator


def test_clover_device_refunds_complete_the_manual_part_they_match_and_another_is_recorded_once(
        clover, live_server):
    sale = control(clover, "sale", {"location": "CHI", "tender": {"type": "card"},
                                    "lines": [{"sku": "BURRITO", "quantity": 2}]})
    order = engine_until(lambda: Order.objects.filter(channel="register").first(), clover,
                         message="the Clover sale is recorded")
    answer = post_refund(live_server, order.pk, {"lines": [{"line": 1, "quantity": 1}]}, key=staff_key())
    assert answer.status_code == 201, answer.text
    part = RefundPart.objects.get()
    assert part.status == "manual_required"

    control(clover, "refund", {"order_id": sale["order_id"], "amount": part.amount})
    engine_until(lambda: RefundPart.objects.filter(status="completed").exists(), clover,
                 message="the device refund completes the manual part")
    control(clover, "refund", {"order_id": sale["order_id"], "amount": 100})
    engine_until(lambda: Refund.objects.count() == 2, clover, message="the second device refund is recorded")
    run_engine(clover)

    assert Refund.objects.count() == 2
    assert ExceptionItem.objects.get(kind="manual_refund_required").status == "resolved"
    made_there = Refund.objects.exclude(pk=part.refund_id).get()
    assert (made_there.amount, made_there.status) == (100, "completed")
    order.refresh_from_db()
    assert order.refunded_amount == part.amount + 100
