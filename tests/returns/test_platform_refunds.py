"""Refunds the platforms report (connectors.services.refunds.refund_reported): Concord's own
coming back move their part; refunds made at a register or in Shopify's admin are
recorded through refund_order once; ones that do not fit change nothing and open a
refund_mismatch exception."""

import pytest

from apps.connectors.models import PlatformConnection, StockSyncState
from apps.connectors.services.refunds import (
    PaymentNotRecordedYet,
    ReportedLine,
    ReportedRefund,
    refund_marker,
    refund_reported,
)
from apps.core import topics
from apps.core.models import ExceptionItem, OutboxEvent
from apps.inventory.models import Location, StockLevel
from apps.orders.models import Order, Payment
from apps.returns.models import Refund, RefundPart
from apps.returns.services import ReturnLineInput, complete_refund_part, refund_order
from tests.returns.conftest import register_sale

pytestmark = pytest.mark.django_db


def reported(**fields) -> ReportedRefund:
    values = dict(platform="square", refund_id="SQ-R1", status="completed", payment_reference="square-pay-1",
                  amount=375, currency="USD")
    return ReportedRefund(**{**values, **fields})


def on_hand(sku="TACO", code="OAK") -> int:
    return StockLevel.objects.get(variant__sku=sku, location__code=code).on_hand


def test_a_refund_made_at_the_register_is_recorded_once_as_completed_and_nothing_is_sent(shop):
    order = register_sale()

    first = refund_reported(reported())
    again = refund_reported(reported())

    refund = Refund.objects.get()
    part = refund.parts.get()
    assert first == f"Square refund SQ-R1 recorded as refund #{refund.pk}"
    assert again == f"refund part {part.pk} completed as SQ-R1"
    assert (refund.status, refund.amount, refund.idempotency_key) == ("completed", 375, "square:refund:SQ-R1")
    assert (part.status, part.reference, part.amount, part.platform) == ("completed", "SQ-R1", 375, "square")
    order.refresh_from_db()
    assert order.refunded_amount == 375
    assert Payment.objects.get(order=order).refunded_amount == 375
    assert not OutboxEvent.objects.filter(topic=topics.REFUND_PART_REQUESTED).exists()
    assert OutboxEvent.objects.filter(topic=topics.REFUND_COMPLETED).count() == 1


def test_a_register_refund_still_pending_is_recorded_only_when_it_completes(shop):
    register_sale()

    assert "recorded once it completes" in refund_reported(reported(status="pending"))
    assert not Refund.objects.exists()

    refund_reported(reported(status="completed"))
    assert Refund.objects.get().status == "completed"


def test_a_platform_refund_above_what_the_payment_has_left_opens_a_mismatch_and_changes_nothing(shop):
    order = register_sale()
    refund_reported(reported(refund_id="SQ-R1", amount=1000))

    outcome = refund_reported(reported(refund_id="SQ-R2", amount=200))

    assert outcome.startswith("mismatch: ")
    assert Refund.objects.count() == 1
    order.refresh_from_db()
    assert order.refunded_amount == 1000
    item = ExceptionItem.objects.get(kind="refund_mismatch")
    assert (item.dedupe_key, item.value_amount) == ("refund-mismatch:square:SQ-R2", 200)
    assert item.data["order_id"] == order.pk


def test_a_refund_of_a_payment_concord_never_recorded_waits_then_opens_a_mismatch(shop):
    register_sale()

    with pytest.raises(PaymentNotRecordedYet):
        refund_reported(reported(payment_reference="elsewhere"), final_attempt=False)
    outcome = refund_reported(reported(payment_reference="elsewhere"), final_attempt=True)

    assert outcome.startswith("mismatch: ")
    assert not Refund.objects.exists()
    assert ExceptionItem.objects.get(kind="refund_mismatch").data["order_id"] is None


def test_a_shopify_admin_refund_restocks_where_shopify_did_and_its_count_is_not_pushed_twice(shop):
    order = register_sale(platform="shopify", source_name="Shopify", quantity=3)
    oakland = Location.objects.get(code="OAK")
    link = PlatformConnection.objects.create(platform="shopify", location=oakland, external_location_id="77")
    state = StockSyncState.objects.create(platform="shopify", location=oakland, pushed_available=10,
                                          variant=order.lines.get().variant, platform_quantity=10)
    before = on_hand()

    refund_reported(reported(platform="shopify", refund_id="900", payment_reference="shopify-pay-1",
                             amount=375, lines=(ReportedLine(sku="TACO", quantity=1, restock=True),),
                             restock_link=link))

    refund = Refund.objects.get()
    line = refund.lines.get()
    assert (line.quantity, line.restock, line.location_id, line.amount) == (1, True, oakland.pk, 375)
    assert on_hand() == before + 1
    state.refresh_from_db()
    assert (state.pushed_available, state.platform_quantity) == (11, 11)  # Shopify already shows it
    assert order.lines.get().refunded_quantity == 1


def test_a_platform_refund_naming_an_item_the_order_lacks_is_a_mismatch(shop):
    register_sale(platform="shopify", source_name="Shopify")

    outcome = refund_reported(reported(platform="shopify", refund_id="901", payment_reference="shopify-pay-1",
                                       lines=(ReportedLine(sku="FLAN", quantity=1, restock=False),)))

    assert "no line of FLAN" in outcome
    assert not Refund.objects.exists()


@pytest.fixture
def sent_part(shop):
    order = register_sale()
    refund = refund_order(order_id=order.pk, lines=[ReturnLineInput(line=1, quantity=1)], reason="cold")
    return refund.parts.get()


def test_concords_own_refund_coming_back_moves_its_part_and_is_not_recorded_again(sent_part):
    assert sent_part.status == "pending"
    assert OutboxEvent.objects.filter(topic=topics.REFUND_PART_REQUESTED).count() == 1

    marker = refund_marker(sent_part.pk)
    refund_reported(reported(refund_id="SQ-OURS", status="pending", text=f"cold [{marker}]"))
    sent_part.refresh_from_db()
    assert (sent_part.status, sent_part.reference) == ("sent", "SQ-OURS")

    refund_reported(reported(refund_id="SQ-OURS", status="completed"))  # found by its id alone
    refund_reported(reported(refund_id="SQ-OURS", status="completed"))

    sent_part.refresh_from_db()
    assert (sent_part.status, sent_part.reference) == ("completed", "SQ-OURS")
    assert Refund.objects.get().status == "completed"
    assert Order.objects.get().refunded_amount == 375


def test_a_refund_the_platform_rejects_fails_its_part_and_asks_staff_to_give_it_back(sent_part):
    refund_reported(reported(refund_id="SQ-OURS", status="failed", text=refund_marker(sent_part.pk)))

    sent_part.refresh_from_db()
    assert (sent_part.status, sent_part.refund.status) == ("failed", "failed")
    item = ExceptionItem.objects.get(kind="manual_refund_required")
    assert (item.status, item.data["part_id"], item.value_amount) == ("open", sent_part.pk, 375)
    assert Order.objects.get().refunded_amount == 375  # still owed to the customer

    complete_refund_part(part_id=sent_part.pk, reference="cash at the till", actor="ana")

    sent_part.refresh_from_db()
    assert (sent_part.status, sent_part.refund.status) == ("completed", "completed")
    item.refresh_from_db()
    assert item.status == "resolved"


def test_a_marker_of_another_platforms_part_is_not_taken_for_it(sent_part):
    register_sale(external_id="sale-2", platform="shopify", source_name="Shopify")

    refund_reported(reported(platform="shopify", refund_id="902", payment_reference="shopify-pay-1",
                             text=refund_marker(sent_part.pk)))

    sent_part.refresh_from_db()
    assert sent_part.status == "pending"
    assert RefundPart.objects.filter(platform="shopify", reference="902", status="completed").count() == 1
