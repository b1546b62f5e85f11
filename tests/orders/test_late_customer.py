"""orders.attach_late_customer: a recorded sale gets the customer its platform names
afterwards, once, and a paid one earns its points then."""

from datetime import UTC, datetime

import pytest

from apps.customers.models import Customer, LoyaltyEntry
from apps.orders import services
from apps.orders.enums import PaymentStatus
from apps.orders.models import Order

PLACED = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)
ANA = services.CustomerInput(name="Ana Ruiz", email=" Ana@Example.com", phone="(510) 555-0123",
                             platform_customer_id="sq-cust-1")

pytestmark = pytest.mark.django_db


def register_sale(external_id="sq-1", status=PaymentStatus.PAID):
    order, _ = services.record_external_order(order=services.ExternalOrderInput(
        channel="register", source_name="Square", external_id=external_id, location_code="OAK",
        lines=(services.LineInput("TACO", 4),), placed_at=PLACED, fulfillment_type="in_store",
        already_fulfilled=True, platform="square",
        tenders=(services.TenderFact(type="card", amount=1500, platform="square", reference="pay-1",
                                     status=status),),
    ))
    return order


def test_a_paid_sale_gets_the_customer_named_later_and_earns_once(shop):
    order = register_sale()
    assert order.customer_id is None

    assert services.attach_late_customer(order_id=order.pk, customer=ANA, platform="square", region="US")
    again = services.attach_late_customer(
        order_id=order.pk, customer=services.CustomerInput(email="bo@example.com"), platform="square")

    order.refresh_from_db()
    assert again is False
    assert (order.customer.email, order.customer.phone) == ("ana@example.com", "+15105550123")
    assert order.customer.external_ids.get().external_id == "sq-cust-1"
    assert order.loyalty_points_earned == 15
    assert list(LoyaltyEntry.objects.filter(order_id=order.pk).values_list("points", flat=True)) == [15]
    assert Customer.objects.count() == 1  # the second call stopped before matching anyone


def test_a_sale_not_paid_yet_gets_its_customer_but_no_points(shop):
    order = register_sale(status=PaymentStatus.PENDING)

    assert services.attach_late_customer(order_id=order.pk, customer=ANA, platform="square", region="US")

    order.refresh_from_db()
    assert order.customer is not None
    assert order.loyalty_points_earned == 0
    assert not LoyaltyEntry.objects.exists()


def test_naming_no_identifier_changes_nothing(shop):
    order = register_sale()
    nobody = services.CustomerInput(name="Ana")

    assert services.attach_late_customer(order_id=order.pk, customer=nobody) is False

    assert Order.objects.get(pk=order.pk).customer_id is None
    assert not Customer.objects.exists()
