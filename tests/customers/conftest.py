import pytest
from django.utils import timezone

from apps.customers.models import Customer
from apps.orders.models import Order
from tests.factories import LocationFactory


@pytest.fixture
def location(db):
    return LocationFactory(code="OAK", name="Oakland")


@pytest.fixture
def make_order(location):
    def make(customer, total=2000, channel="web", external_id=""):
        return Order.objects.create(
            channel=channel, location=location, fulfillment_type="pickup", customer=customer,
            currency="USD", subtotal_amount=total, total_amount=total, placed_at=timezone.now(),
            external_id=external_id, source_name="test")

    return make


@pytest.fixture
def customer(db):
    return Customer.objects.create(name="Ana Ruiz")
