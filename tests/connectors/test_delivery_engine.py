"""The delivery engine with a scripted platform (a test double of the adapter only):
fan-out, coalescing, deltas, retries with backoff, the retry budget, leases."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.connectors import adapters
from apps.connectors.adapters import PlatformCount, StockPushResult
from apps.connectors.enums import DeliveryKind, DeliveryStatus
from apps.connectors.http import PlatformError
from apps.connectors.models import Delivery, ExternalMapping, PlatformConnection, StockSyncState
from apps.connectors.services import delivery as engine
from apps.connectors.services.intake import PlatformLine, PlatformOrder, record_platform_order
from apps.connectors.services.routing import fan_out_outbox
from apps.core.models import ExceptionItem, OutboxEvent
from apps.demo import dev_credentials
from apps.inventory.models import StockLevel
from apps.orders import services as orders
from tests.helpers import post_order, simple_order


class ScriptedPlatform(adapters.BaseAdapter):
    """Holds counts like a platform; applies deltas; fails as scripted."""

    counts: dict = {}
    failures: list = []
    pushes: list = []
    injected: dict = {}

    def push_stock(self, pushes):
        ScriptedPlatform.pushes.append(pushes)
        if ScriptedPlatform.failures:
            raise ScriptedPlatform.failures.pop(0)
        results = []
        for push in pushes:
            counts = ScriptedPlatform.counts
            counts[push.item.variant_id] = counts.get(push.item.variant_id, 0) + push.delta
            results.append(StockPushResult(push.item.variant_id, True, counts[push.item.variant_id]))
        return results

    def read_stock(self, items):
        return {i.variant_id: PlatformCount(ScriptedPlatform.counts.get(i.variant_id, 0)) for i in items}

    def inject_order(self, order, *, reference, items, modifiers, retrying=True):
        ScriptedPlatform.injected.setdefault(reference, order)
        return adapters.InjectResult(external_id=f"ext-{order['id']}", decrements_stock=False)


@pytest.fixture
def platform(shop, monkeypatch, settings):
    settings.DELIVERY_BACKOFF_BASE_SECONDS = 0
    for name, value in dev_credentials.SECRETS.items():
        setattr(settings, name, value)
    settings.SQUARE_BASE_URL = "http://127.0.0.1:9"  # never called: the adapter is scripted
    settings.SQUARE_WEBHOOK_URL = "http://testserver/webhooks/square/"
    ScriptedPlatform.counts, ScriptedPlatform.failures = {}, []
    ScriptedPlatform.pushes, ScriptedPlatform.injected = [], {}
    monkeypatch.setattr("apps.connectors.services.stock_sync.adapter_for", ScriptedPlatform)
    monkeypatch.setattr("apps.connectors.services.injection.adapter_for", ScriptedPlatform)
    link = PlatformConnection.objects.create(platform="square", location=shop.oak,
                                             external_location_id="LOAK", receives_orders=True)
    for variant in (shop.burrito, shop.taco, shop.scarce):
        ExternalMapping.objects.create(platform="square", kind="variant", external_id=f"sq-{variant.sku}",
                                       variant=variant)
        ScriptedPlatform.counts[variant.pk] = StockLevel.objects.get(variant=variant).available
    OutboxEvent.objects.update(dispatched_at=timezone.now())  # opening stock is already there
    return link


def run_engine(rounds=5):
    for _ in range(rounds):
        fan_out_outbox()
        Delivery.objects.filter(status=DeliveryStatus.PENDING).update(next_attempt_at=timezone.now())
        engine.run_due_deliveries()


def test_a_phone_order_is_injected_once_and_its_stock_pushed_as_a_delta(shop, phone, platform):
    order = post_order(phone, simple_order("BURRITO", 2)).json()
    run_engine()

    assert list(ScriptedPlatform.injected) == [f"concord:phone:{order['id']}"]
    assert ScriptedPlatform.counts[shop.burrito.pk] == 48
    injection = Delivery.objects.get(kind=DeliveryKind.INJECT_ORDER)
    assert (injection.status, injection.external_ref) == ("done", f"ext-{order['id']}")
    state = StockSyncState.objects.get(variant=shop.burrito)
    assert (state.pushed_available, state.pending_delta) == (48, None)


class TakingPlatform(ScriptedPlatform):
    """A POS that takes an injected order's units off its own count, like all three."""

    decrements_stock = True
    inject_failures: list = []

    def inject_order(self, order, *, reference, items, modifiers, retrying=True):
        if TakingPlatform.inject_failures:
            raise TakingPlatform.inject_failures.pop(0)
        if reference not in ScriptedPlatform.injected:
            for line in order["lines"]:
                variant_id = items[line["sku"]].variant_id
                ScriptedPlatform.counts[variant_id] -= line["quantity"]
        ScriptedPlatform.injected.setdefault(reference, order)
        return adapters.InjectResult(external_id=f"ext-{order['id']}", decrements_stock=True)


@pytest.fixture
def taking_platform(platform, monkeypatch):
    TakingPlatform.inject_failures = []
    monkeypatch.setattr("apps.connectors.services.stock_sync.adapter_for", TakingPlatform)
    monkeypatch.setattr("apps.connectors.services.injection.adapter_for", TakingPlatform)
    return platform


def test_a_push_leaves_the_units_of_an_order_on_its_way_to_the_pos_alone(shop, phone, taking_platform):
    order = post_order(phone, simple_order("BURRITO", 2)).json()
    fan_out_outbox()
    pushes = Delivery.objects.filter(kind=DeliveryKind.PUSH_STOCK, variant_id=shop.burrito.pk)
    assert pushes.get().id < Delivery.objects.get(kind=DeliveryKind.INJECT_ORDER).id  # the push goes first
    run_engine()

    assert list(ScriptedPlatform.injected) == [f"concord:phone:{order['id']}"]
    assert ScriptedPlatform.counts[shop.burrito.pk] == 48  # taken once, by the order itself
    assert ScriptedPlatform.pushes == []  # nothing was ever out of step
    state = StockSyncState.objects.get(variant=shop.burrito)
    assert (state.pushed_available, state.pending_delta) == (48, None)


def test_an_order_that_never_reaches_the_pos_has_its_units_pushed_off(shop, phone, taking_platform, settings):
    settings.DELIVERY_MAX_ATTEMPTS = 1
    refused = PlatformError(platform="square", status=400, code="bad", retryable=False)
    TakingPlatform.inject_failures = [refused]
    post_order(phone, simple_order("BURRITO", 2))
    run_engine()

    assert ScriptedPlatform.injected == {}
    assert Delivery.objects.get(kind=DeliveryKind.INJECT_ORDER).status == "failed"
    assert ScriptedPlatform.counts[shop.burrito.pk] == 48  # by a push, once the order stopped
    assert [push.delta for batch in ScriptedPlatform.pushes for push in batch] == [-2]


class BatchPlatform(ScriptedPlatform):
    """Takes a pass's pushes under one key (as Shopify does); can refuse a call as stale."""

    pushes_share_a_key = True
    stale_readings: dict | None = None  # variant id -> what a re-read shows (absent: unreadable)
    calls: list = []

    def push_stock(self, pushes):
        BatchPlatform.calls.append({(p.idempotency_key, p.item.variant_id) for p in pushes})
        if BatchPlatform.stale_readings is None:
            return super().push_stock(pushes)
        readings, BatchPlatform.stale_readings = BatchPlatform.stale_readings, None
        stale = PlatformError(platform="square", status=200, code="STALE", retryable=True, retry_after=0)
        return [StockPushResult(p.item.variant_id, False, stale_quantity=readings.get(p.item.variant_id),
                                error=stale) for p in pushes]


def test_pushes_sent_under_one_key_move_on_to_the_next_key_together(shop, phone, platform, monkeypatch):
    monkeypatch.setattr("apps.connectors.services.stock_sync.adapter_for", BatchPlatform)
    BatchPlatform.calls, BatchPlatform.stale_readings = [], {shop.burrito.pk: 50}  # the taco unreadable
    post_order(phone, simple_order("BURRITO", 2), key="b")
    post_order(phone, simple_order("TACO", 1), key="t")
    run_engine(rounds=1)

    first, second = BatchPlatform.calls
    assert {variant for _, variant in first} == {shop.burrito.pk, shop.taco.pk}
    assert len({key for key, _ in first}) == 1 and len({key for key, _ in second}) == 1
    assert {variant for _, variant in second} == {shop.burrito.pk, shop.taco.pk}  # sent again at once
    assert {key for key, _ in first} != {key for key, _ in second}
    assert (ScriptedPlatform.counts[shop.burrito.pk], ScriptedPlatform.counts[shop.taco.pk]) == (48, 39)
    assert not StockSyncState.objects.exclude(pending_key="").exists()


def test_pending_pushes_for_one_item_coalesce(shop, phone, platform):
    for n in range(5):
        post_order(phone, simple_order("TACO", 1), key=f"k{n}")
    fan_out_outbox()
    assert Delivery.objects.filter(kind=DeliveryKind.PUSH_STOCK, variant_id=shop.taco.pk).count() == 1
    engine.run_due_deliveries()
    assert ScriptedPlatform.counts[shop.taco.pk] == 35
    assert sum(len(batch) for batch in ScriptedPlatform.pushes) == 1


def test_a_sale_the_platform_made_is_neither_erased_nor_counted_twice(shop, phone, platform):
    post_order(phone, simple_order("TACO", 3))
    run_engine()  # platform shows 37
    ScriptedPlatform.counts[shop.taco.pk] -= 2  # the register sells 2; Concord hears later
    post_order(phone, simple_order("TACO", 1), key="k2")
    run_engine()  # delta -1 applied on top of the platform's own 35 -> 34
    assert ScriptedPlatform.counts[shop.taco.pk] == 34

    record_platform_order(PlatformOrder(
        platform="square", link=platform, external_id="sq-sale-1", lines=[PlatformLine(2, "sq-TACO")],
        placed_at=timezone.now(), channel="register", fulfillment_type="in_store", already_fulfilled=True))
    run_engine()
    assert StockLevel.objects.get(variant=shop.taco).available == 34
    assert ScriptedPlatform.counts[shop.taco.pk] == 34


def test_retryable_failures_back_off_then_succeed_and_resolve_their_exception(shop, phone, platform):
    ScriptedPlatform.failures = [PlatformError(platform="square", status=503, code="down", retryable=True),
                                 PlatformError(platform="square", status=429, code="slow", retryable=True,
                                               retry_after=0)]
    post_order(phone, simple_order("SCARCE", 1))
    run_engine(rounds=6)
    push = Delivery.objects.get(kind=DeliveryKind.PUSH_STOCK, variant_id=shop.scarce.pk)
    assert push.status == "done"
    assert [entry["ok"] for entry in push.history] == [False, False, True]
    assert ScriptedPlatform.counts[shop.scarce.pk] == 2


def test_after_the_retry_budget_a_delivery_becomes_an_exception_that_can_be_retried(
        shop, phone, platform, settings):
    settings.DELIVERY_MAX_ATTEMPTS = 2
    down = PlatformError(platform="square", status=500, code="down", retryable=True)
    ScriptedPlatform.failures = [down, down]
    post_order(phone, simple_order("SCARCE", 1))
    run_engine(rounds=4)
    push = Delivery.objects.get(kind=DeliveryKind.PUSH_STOCK, variant_id=shop.scarce.pk)
    assert push.status == "failed"
    item = ExceptionItem.objects.get(kind="delivery_failed")
    assert item.data["delivery_id"] == push.pk
    assert len(item.data["history"]) == 2

    engine.retry_failed_delivery(exception_id=item.pk, actor_label="test")
    run_engine()
    push.refresh_from_db()
    item.refresh_from_db()
    assert push.status == "done"
    assert item.status == "resolved"
    assert ScriptedPlatform.counts[shop.scarce.pk] == 2


def test_a_refused_call_fails_at_once(shop, phone, platform):
    ScriptedPlatform.failures = [PlatformError(platform="square", status=400, code="bad", retryable=False)]
    post_order(phone, simple_order("SCARCE", 1))
    run_engine(rounds=1)
    assert Delivery.objects.get(kind=DeliveryKind.PUSH_STOCK, variant_id=shop.scarce.pk).status == "failed"
    assert StockSyncState.objects.get(variant=shop.scarce).pending_delta is None


def test_an_expired_lease_is_sent_again(shop, phone, platform):
    post_order(phone, simple_order("SCARCE", 1))
    fan_out_outbox()
    claimed = engine.claim_deliveries()
    assert claimed  # a worker claimed them ... and died
    Delivery.objects.filter(pk__in=[d.pk for d in claimed]).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert engine.claim_deliveries() == []  # nothing is claimed twice while in flight
    assert engine.requeue_expired_leases() == len(claimed)
    run_engine()
    assert ScriptedPlatform.counts[shop.scarce.pk] == 2
    assert len(ScriptedPlatform.injected) == 1


def test_an_unanswered_push_is_resent_with_the_same_key(shop, phone, platform):
    ScriptedPlatform.failures = [
        PlatformError(platform="square", status=None, code="network", retryable=True)]
    post_order(phone, simple_order("SCARCE", 1))
    run_engine(rounds=1)
    post_order(phone, simple_order("SCARCE", 1), key="second")
    run_engine()
    keys = [p.idempotency_key for batch in ScriptedPlatform.pushes for p in batch if p.item.sku == "SCARCE"]
    deltas = [p.delta for batch in ScriptedPlatform.pushes for p in batch if p.item.sku == "SCARCE"]
    assert keys[0] == keys[1]  # the unanswered push, re-sent as it was
    assert deltas[:2] == [-1, -1]
    assert ScriptedPlatform.counts[shop.scarce.pk] == 1  # then the newer change followed


def test_register_orders_are_not_injected_back(shop, platform):
    orders.record_external_order(order=orders.ExternalOrderInput(
        channel="register", source_name="Square", external_id="s-1", location_code="OAK",
        lines=(orders.LineInput("TACO", 1),), placed_at=timezone.now(), fulfillment_type="in_store",
        already_fulfilled=True))
    run_engine()
    assert not Delivery.objects.filter(kind=DeliveryKind.INJECT_ORDER).exists()


def test_the_exception_queue_commands(shop, phone, platform, settings, capsys):
    from django.core.management import call_command

    settings.DELIVERY_MAX_ATTEMPTS = 1
    ScriptedPlatform.failures = [PlatformError(platform="square", status=500, code="down", retryable=True)]
    post_order(phone, simple_order("SCARCE", 1))
    run_engine(rounds=1)
    item = ExceptionItem.objects.get(kind="delivery_failed")

    call_command("delivery_exceptions", "list")
    assert f"#{item.pk}" in capsys.readouterr().out
    call_command("delivery_exceptions", "retry", str(item.pk))
    run_engine()
    item.refresh_from_db()
    assert item.status == "resolved"  # the retried push went through and closed it

    ScriptedPlatform.failures = [PlatformError(platform="square", status=400, code="bad", retryable=False)]
    post_order(phone, simple_order("SCARCE", 1), key="again")
    run_engine(rounds=1)
    again = ExceptionItem.objects.get(kind="delivery_failed", status="open")
    with pytest.raises(Exception, match="Say why"):
        call_command("delivery_exceptions", "ignore", str(again.pk), "--reason", " ")
    call_command("delivery_exceptions", "ignore", str(again.pk), "--reason", "counted by hand")
    again.refresh_from_db()
    assert (again.status, again.close_reason) == ("ignored", "counted by hand")
