"""Every outbox row the domain writes carries one of the named topics, with exactly the
payload documented for it (apps/core/topics.py)."""

from django.utils import timezone

from apps.core import topics
from apps.core.models import OutboxEvent
from apps.inventory.services import set_item_86d
from apps.orders import services as orders
from apps.returns.services import ReturnLineInput, refund_order
from tests.helpers import post_order, simple_order


def documented_keys(topic: str) -> set[str]:
    payload = topics.PAYLOADS[topic]
    return set(payload.__required_keys__ | payload.__optional_keys__)


def test_order_and_stock_changes_write_named_topics_with_their_documented_payloads(shop, phone):
    canceled = post_order(phone, simple_order(), key="k-1").json()["id"]
    orders.cancel_order(order_id=canceled, actor="test")
    fulfilled = post_order(phone, simple_order(sku="TACO"), key="k-2").json()["id"]
    orders.mark_order_ready(order_id=fulfilled, actor="test")
    orders.fulfill_order(order_id=fulfilled, actor="test")
    set_item_86d(location_id=shop.oak.pk, variant_id=shop.taco.pk, is_86d=True, actor="test")
    orders.record_external_order(order=orders.ExternalOrderInput(
        channel="register", source_name="Square", external_id="sq-1", location_code="OAK",
        lines=(orders.LineInput(sku="BURRITO", quantity=1),), placed_at=timezone.now(),
        fulfillment_type="in_store", already_fulfilled=True))
    for tender in (orders.TenderFact(type="card", amount=950, platform="square", reference="sq-pay-2"),
                   orders.TenderFact(type="cash", amount=950)):
        sale, _ = orders.record_external_order(order=orders.ExternalOrderInput(
            channel="register", source_name="Square", external_id=f"sq-{tender.type}", location_code="OAK",
            lines=(orders.LineInput(sku="BURRITO", quantity=1),), placed_at=timezone.now(),
            fulfillment_type="in_store", already_fulfilled=True, platform="square", tenders=(tender,)))
        refund_order(order_id=sale.pk, lines=[ReturnLineInput(1, 1, restock=True)])

    written = list(OutboxEvent.objects.order_by("id"))

    assert {row.topic for row in written} == set(topics.PAYLOADS)
    assert [(row.topic, sorted(row.payload)) for row in written
            if set(row.payload) != documented_keys(row.topic)] == []
