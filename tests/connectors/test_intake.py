"""Inbound facts: late events count at the time they happened; stale counts are ignored."""

from dataclasses import replace
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.connectors.models import ExternalMapping, PlatformConnection, StockSyncState
from apps.connectors.platforms import connector_platform
from apps.connectors.services import intake
from apps.connectors.services.intake import (
    PlatformLine,
    PlatformOrder,
    UnmappedItems,
    record_platform_order,
    record_platform_stock,
)
from apps.inventory.models import StockLevel, StockMovement


@pytest.fixture
def square(shop):
    link = PlatformConnection.objects.create(platform="square", location=shop.oak,
                                             external_location_id="LOAK")
    for variant in (shop.burrito, shop.taco):
        ExternalMapping.objects.create(platform="square", kind="variant", external_id=f"sq-{variant.sku}",
                                       variant=variant)
    return link


def test_an_offline_register_syncing_an_hour_late_counts_at_the_time_of_the_sale(shop, square):
    an_hour_ago = timezone.now() - timedelta(hours=1)
    order, created = record_platform_order(PlatformOrder(
        platform="square", link=square, external_id="late-1", lines=[PlatformLine(2, "sq-TACO")],
        placed_at=an_hour_ago, channel="register", fulfillment_type="in_store", already_fulfilled=True))

    assert created
    assert order.placed_at == an_hour_ago
    assert StockMovement.objects.get(order_id=order.pk).occurred_at == an_hour_ago
    assert order.source_name == "Square"


def test_a_count_older_than_the_last_one_applied_is_ignored(shop, square):
    now = timezone.now()
    assert record_platform_stock(platform="square", link=square, external_id="sq-TACO", quantity=30,
                                 available=None, occurred_at=now) == "count observed"
    stale = record_platform_stock(platform="square", link=square, external_id="sq-TACO", quantity=99,
                                  available=False, occurred_at=now - timedelta(minutes=5))

    assert stale == "stale"
    state = StockSyncState.objects.get(variant=shop.taco)
    assert state.platform_quantity == 30
    assert not StockLevel.objects.get(variant=shop.taco).is_86d


def test_a_sale_of_an_unmapped_item_is_refused_whole(shop, square):
    with pytest.raises(UnmappedItems) as unmapped:
        record_platform_order(PlatformOrder(
            platform="square", link=square, external_id="x-1",
            lines=[PlatformLine(1, "sq-TACO"), PlatformLine(1, "sq-NOPE")], placed_at=timezone.now(),
            channel="register", fulfillment_type="in_store", already_fulfilled=True))
    assert unmapped.value.references == ["sq-NOPE"]
    assert StockLevel.objects.get(variant=shop.taco).on_hand == 40


def test_a_stored_event_can_be_replayed_with_the_same_outcome(shop, square, monkeypatch, capsys):

    from django.core.management import call_command

    from apps.connectors.models import InboundEvent
    from apps.orders.models import Order

    def handle(event):
        record_platform_order(PlatformOrder(
            platform="square", link=square, external_id=event.payload["order"],
            lines=[PlatformLine(1, "sq-TACO")], placed_at=timezone.now(), channel="register",
            fulfillment_type="in_store", already_fulfilled=True))

    square_platform = connector_platform("square")
    monkeypatch.setattr(intake, "connector_platform", lambda platform: replace(
        square_platform, inbound=replace(square_platform.inbound, handle=handle)))
    event = InboundEvent.objects.create(platform="square", event_id="e-1", topic="order.created",
                                        body=b"{}", payload={"order": "sq-77"}, verified=True)
    call_command("replay_event", str(event.pk))
    call_command("replay_event", str(event.pk))

    assert "processed" in capsys.readouterr().out
    assert Order.objects.filter(external_id="sq-77").count() == 1
    assert StockLevel.objects.get(variant=shop.taco).on_hand == 39


def test_a_stock_event_leaves_a_push_intent_the_engine_moved_meanwhile_alone(shop, square, monkeypatch):
    """The engine confirms a push while a stock event for the same item is being applied:
    the event writes only its own fields, so the confirmed intent does not come back."""
    StockSyncState.objects.create(platform="square", location=shop.oak, variant=shop.taco,
                                  pushed_available=40, pending_delta=-1, pending_key="concord-square-1-0",
                                  pending_expected=40)
    set_item_86d = intake.set_item_86d

    def engine_confirms_meanwhile(**kwargs):
        StockSyncState.objects.filter(variant=shop.taco).update(
            pushed_available=39, pending_delta=None, pending_key="", pending_expected=None)
        return set_item_86d(**kwargs)

    monkeypatch.setattr(intake, "set_item_86d", engine_confirms_meanwhile)
    record_platform_stock(platform="square", link=square, external_id="sq-TACO", quantity=39,
                          available=True, occurred_at=timezone.now())

    state = StockSyncState.objects.get(variant=shop.taco)
    assert (state.pushed_available, state.pending_delta, state.pending_key) == (39, None, "")
    assert state.platform_quantity == 39
