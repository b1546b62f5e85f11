"""Order transitions are idempotent in the service, whoever calls it (not only the API view)."""

import pytest

from apps.core.errors import IdempotencyKeyReused, InvalidTransition
from apps.core.models import IdempotencyRecord, OutboxEvent
from apps.inventory.models import StockLevel, StockMovement
from apps.orders import services
from apps.orders.enums import OrderStatus
from apps.orders.selectors import get_order
from tests.helpers import post_order, simple_order


@pytest.fixture
def placed(shop, phone):
    response = post_order(phone, simple_order(quantity=2), key="place")
    assert response.status_code == 201
    return response.json()["id"]


def fulfill(order_id, client, key="f", request_hash="hash-f"):
    return services.transition_order(order_id=order_id, to=OrderStatus.FULFILLED, client=client,
                                     idempotency_key=key, request_hash=request_hash, actor="test")


def test_a_transition_retried_with_its_key_replays_the_first_answer_and_moves_stock_once(
        shop, phone, placed):
    first = fulfill(placed, phone.api_client)
    again = fulfill(placed, phone.api_client)

    assert (first.status, first.replayed) == (200, False)
    assert (again.status, again.replayed) == (200, True)
    assert again.body == first.body
    assert first.body["status"] == "fulfilled"
    level = StockLevel.objects.get(variant=shop.burrito)
    assert (level.on_hand, level.committed) == (48, 0)
    assert StockMovement.objects.filter(order_id=placed, reason="fulfillment").count() == 1
    assert OutboxEvent.objects.filter(topic="order.fulfilled").count() == 1


def test_a_key_used_for_another_request_is_refused_and_changes_nothing(shop, phone, placed):
    fulfill(placed, phone.api_client, key="k", request_hash="hash-fulfill")

    with pytest.raises(IdempotencyKeyReused):
        services.transition_order(order_id=placed, to=OrderStatus.CANCELED, client=phone.api_client,
                                  idempotency_key="k", request_hash="hash-cancel")

    assert get_order(placed).status == OrderStatus.FULFILLED
    assert OutboxEvent.objects.filter(topic="order.canceled").count() == 0


def test_a_refused_transition_leaves_its_key_free(shop, phone, placed):
    services.transition_order(order_id=placed, to=OrderStatus.CANCELED, client=phone.api_client,
                              idempotency_key="c", request_hash="hash-c")

    with pytest.raises(InvalidTransition):
        fulfill(placed, phone.api_client, key="f2")

    assert not IdempotencyRecord.objects.filter(key="f2").exists()
    assert get_order(placed).status == OrderStatus.CANCELED
    assert StockLevel.objects.get(variant=shop.burrito).committed == 0
