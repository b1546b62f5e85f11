"""What a platform reports about an order it holds, applied through the order services:
once, whatever the order and repetition of the reports, and under the order's row lock
when two arrive together (threads on real Postgres connections)."""

import pytest
from django.utils import timezone

from apps.core.models import ExceptionItem
from apps.inventory.models import StockLevel, StockMovement
from apps.inventory.selectors import list_ledger_mismatches
from apps.orders.models import Order
from apps.orders.services import ExternalOrderInput, LineInput, record_external_order
from apps.orders.services.platform_states import cancel_order_at_platform, fulfill_order_at_platform
from tests.helpers import post_order, run_concurrently, simple_order

pytestmark = pytest.mark.django_db(transaction=True)


def placed(phone, quantity=2, key="k-1") -> int:
    answer = post_order(phone, simple_order(quantity=quantity), key=key)
    assert answer.status_code == 201, answer.content
    return answer.json()["id"]


def burrito() -> StockLevel:
    return StockLevel.objects.get(variant__sku="BURRITO")


def test_a_close_fulfils_once_and_a_late_void_undoes_the_sale(shop, phone):
    order_id = placed(phone)

    outcomes = [fulfill_order_at_platform(order_id=order_id, platform="Square") for _ in range(2)]
    assert outcomes == ["fulfilled", "already fulfilled"]
    assert (burrito().on_hand, burrito().committed) == (48, 0)

    outcomes = [cancel_order_at_platform(order_id=order_id, platform="Square") for _ in range(2)]
    assert outcomes == ["voided: units back on hand", "already canceled"]
    assert (burrito().on_hand, burrito().committed) == (50, 0)
    assert Order.objects.get(pk=order_id).status == "canceled"
    assert list_ledger_mismatches() == []


def test_a_void_releases_the_reservation_and_a_later_close_is_a_conflict_not_an_error(shop, phone):
    order_id = placed(phone)

    assert cancel_order_at_platform(order_id=order_id, platform="Toast") == "canceled"
    movements = StockMovement.objects.count()
    assert fulfill_order_at_platform(order_id=order_id, platform="Toast").startswith("conflict")
    assert fulfill_order_at_platform(order_id=order_id, platform="Toast").startswith("conflict")

    assert (burrito().on_hand, burrito().committed) == (50, 0)
    assert StockMovement.objects.count() == movements
    [conflict] = ExceptionItem.objects.filter(kind="order_state_conflict")
    assert (conflict.occurrences, conflict.data["order_id"]) == (2, order_id)


def test_a_register_sale_voided_at_its_pos_puts_its_units_back_once(shop):
    sale, _ = record_external_order(order=ExternalOrderInput(
        channel="register", source_name="Toast", external_id="t-1", location_code="OAK",
        lines=(LineInput(sku="BURRITO", quantity=3),), placed_at=timezone.now(),
        fulfillment_type="in_store", already_fulfilled=True))
    assert burrito().on_hand == 47

    cancel_order_at_platform(order_id=sale.pk, platform="Toast")
    cancel_order_at_platform(order_id=sale.pk, platform="Toast")

    assert burrito().on_hand == 50
    assert StockMovement.objects.filter(order_id=sale.pk, reason="return").count() == 1
    assert list_ledger_mismatches() == []


def test_a_close_and_a_void_racing_leave_one_consistent_outcome(shop, phone):
    order_ids = [placed(phone, key=f"k-{i}") for i in range(6)]

    def report(i):
        order_id = order_ids[i // 2]
        if i % 2:
            return cancel_order_at_platform(order_id=order_id, platform="Clover")
        return fulfill_order_at_platform(order_id=order_id, platform="Clover")

    run_concurrently(12, report)

    assert set(Order.objects.filter(pk__in=order_ids).values_list("status", flat=True)) == {"canceled"}
    # Whichever came first, every unit is back and nothing stays committed.
    assert (burrito().on_hand, burrito().committed) == (50, 0)
    assert list_ledger_mismatches() == []
