"""Staff of each role, and two stores: a manager works at OAK only."""

import pytest
from django.test import Client

from apps.backoffice.services import create_staff_user
from tests.conftest import stock
from tests.factories import LocationFactory

PASSWORD = "correct horse battery"


@pytest.fixture
def stores(shop):
    bkn = LocationFactory(code="BKN", name="Brooklyn", timezone="America/New_York")
    stock(bkn, shop.burrito, 20)
    return type("Stores", (), {"oak": shop.oak, "bkn": bkn, "shop": shop})


@pytest.fixture
def make_staff(db):
    def make(role: str, *locations: str, username: str | None = None):
        user, _ = create_staff_user(username=username or f"{role}-{'-'.join(locations) or 'all'}",
                                    role=role, location_codes=list(locations), password=PASSWORD)
        return user

    return make


@pytest.fixture
def signed_in(make_staff):
    """A test client signed in as a new user of this role (at these locations)."""

    def sign_in(role: str, *locations: str) -> Client:
        client = Client()
        client.force_login(make_staff(role, *locations))
        return client

    return sign_in


def record_sale(location_code: str, *, channel: str = "register", external_id: str = "sale-1",
                lines=(("BURRITO", 1),), placed_at=None, fulfilled: bool = True):
    """A sale another system made (a register sale, a paid web order), as the connectors record it."""
    from django.utils import timezone

    from apps.orders import services

    order, _ = services.record_external_order(order=services.ExternalOrderInput(
        channel=channel, source_name="Test POS", external_id=external_id, location_code=location_code,
        lines=tuple(services.LineInput(sku, quantity) for sku, quantity in lines),
        placed_at=placed_at or timezone.now(), fulfillment_type="in_store" if fulfilled else "pickup",
        already_fulfilled=fulfilled))
    return order


def customer_sale(location_code: str, *, external_id: str, channel: str = "web", **customer):
    """A sale another system made for a customer (name, email, phone, platform_customer_id),
    matched to a customer as the connectors' orders are; returns the order."""
    from django.utils import timezone

    from apps.orders import services

    order, _ = services.record_external_order(order=services.ExternalOrderInput(
        channel=channel, source_name="Test shop", external_id=external_id, location_code=location_code,
        lines=(services.LineInput("BURRITO", 1),), placed_at=timezone.now(), fulfillment_type="pickup",
        already_fulfilled=False, customer=services.CustomerInput(**customer), platform="shopify"))
    return order
