"""apply_platform_count: a platform that owns stock says what is available there."""

from apps.core.models import OutboxEvent
from apps.inventory.enums import MovementReason
from apps.inventory.models import StockLevel, StockMovement
from apps.inventory.selectors import list_ledger_mismatches
from apps.inventory.services import StockRequest, apply_platform_count, reserve_stock, set_safety_stock
from tests.factories import VariantFactory


def count(shop, variant, available, buffer=0):
    return apply_platform_count(location_id=shop.oak.pk, variant_id=variant.pk, available=available,
                                buffer=buffer, reference="square count", actor="square webhook")


def test_on_hand_is_the_count_plus_what_the_platform_does_not_show(shop):
    level = StockLevel.objects.get(variant=shop.taco)
    reserve_stock(requests=[StockRequest(level.pk, 4)], order_id=None)
    set_safety_stock(location_id=shop.oak.pk, variant_id=shop.taco.pk, safety_stock=2)
    outbox_before = OutboxEvent.objects.count()

    level = count(shop, shop.taco, 30, buffer=1)

    assert (level.on_hand, level.committed, level.safety_stock) == (37, 4, 2)
    movement = StockMovement.objects.filter(level=level).order_by("id").last()
    assert (movement.reason, movement.on_hand_delta, movement.reference) == (
        MovementReason.COUNT, -3, "square count")
    assert OutboxEvent.objects.count() == outbox_before + 1
    assert list_ledger_mismatches() == []


def test_a_count_of_an_item_never_stocked_here_starts_its_level(shop):
    salsa = VariantFactory(sku="SALSA", price_amount=150)

    level = count(shop, salsa, 6, buffer=2)

    assert (level.on_hand, level.committed) == (8, 0)
    assert list_ledger_mismatches() == []


def test_a_count_that_changes_nothing_writes_nothing(shop):
    movements, outbox = StockMovement.objects.count(), OutboxEvent.objects.count()

    level = count(shop, shop.taco, 40)

    assert level.on_hand == 40
    assert (StockMovement.objects.count(), OutboxEvent.objects.count()) == (movements, outbox)


def test_a_count_below_zero_leaves_nothing_on_hand(shop):
    level = count(shop, shop.taco, -3)

    assert level.on_hand == 0
    assert list_ledger_mismatches() == []
