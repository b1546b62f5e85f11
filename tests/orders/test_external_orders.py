from datetime import UTC, datetime

from apps.core.models import ExceptionItem, OutboxEvent
from apps.inventory.models import StockLevel, StockMovement
from apps.inventory.selectors import list_ledger_mismatches
from apps.orders import services
from apps.orders.models import Order
from tests.factories import LocationFactory, VariantFactory

PLACED = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)


def register_sale(external_id="sq-1", lines=(("SCARCE", 2),), placed_at=PLACED, total=None):
    return services.record_external_order(order=services.ExternalOrderInput(
        channel="register", source_name="Square Point of Sale", external_id=external_id,
        location_code="OAK", lines=tuple(services.LineInput(sku, qty) for sku, qty in lines),
        placed_at=placed_at, fulfillment_type="in_store", already_fulfilled=True, total=total,
    ))


def test_a_register_sale_leaves_on_hand_and_is_fulfilled(shop):
    order, created = register_sale()

    assert created
    assert order.status == "fulfilled"
    assert order.placed_at == PLACED
    level = StockLevel.objects.get(variant=shop.scarce)
    assert (level.on_hand, level.committed) == (1, 0)
    movement = StockMovement.objects.get(order_id=order.pk)
    assert (movement.reason, movement.on_hand_delta, movement.occurred_at) == ("sale", -2, PLACED)
    assert OutboxEvent.objects.filter(topic="order.recorded", aggregate_id=order.pk).exists()
    assert not ExceptionItem.objects.exists()


def test_a_sale_beyond_stock_is_recorded_and_opens_an_oversold_exception(shop):
    order, created = register_sale(lines=(("SCARCE", 5),))

    assert created
    level = StockLevel.objects.get(variant=shop.scarce)
    assert level.on_hand == -2
    item = ExceptionItem.objects.get()
    assert item.kind == "oversold"
    assert item.units == 2
    assert item.value_amount == 2 * 4999
    assert item.data["order_id"] == order.pk
    assert list_ledger_mismatches() == []


def test_recording_the_same_sale_twice_records_it_once(shop):
    first, _ = register_sale()
    again, created = register_sale()

    assert not created
    assert again.pk == first.pk
    assert StockLevel.objects.get(variant=shop.scarce).on_hand == 1
    assert Order.objects.count() == 1


def test_a_paid_web_order_commits_stock_until_fulfilled(shop):
    order, _ = services.record_external_order(order=services.ExternalOrderInput(
        channel="web", source_name="Shopify", external_id="5001", location_code="OAK",
        lines=(services.LineInput("BURRITO", 3, unit_price=900),), placed_at=PLACED,
        fulfillment_type="pickup", already_fulfilled=False,
    ))
    level = StockLevel.objects.get(variant=shop.burrito)
    assert (order.status, level.on_hand, level.committed) == ("accepted", 50, 3)
    assert order.total_amount == 2700  # the platform's price, not the catalog's

    services.fulfill_order(order_id=order.pk)
    level.refresh_from_db()
    assert (level.on_hand, level.committed) == (47, 0)
    assert list_ledger_mismatches() == []


def test_a_sale_of_an_item_never_stocked_here_starts_its_ledger_at_zero(shop):
    LocationFactory(code="BKN")
    VariantFactory(sku="ONLY-ONLINE", price_amount=500)
    services.record_external_order(order=services.ExternalOrderInput(
        channel="register", source_name="Toast", external_id="t-1", location_code="OAK",
        lines=(services.LineInput("ONLY-ONLINE", 1),), placed_at=PLACED,
        fulfillment_type="in_store", already_fulfilled=True,
    ))
    level = StockLevel.objects.get(variant__sku="ONLY-ONLINE", location=shop.oak)
    assert level.on_hand == -1
    assert ExceptionItem.objects.get().units == 1
    assert list_ledger_mismatches() == []
