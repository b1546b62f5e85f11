"""Shared fixtures. Every test runs on a real Postgres (embedded, or DATABASE_URL)."""

import pytest
from rest_framework.test import APIClient

from apps.core.services import create_api_client
from apps.inventory.enums import MovementReason
from apps.inventory.models import StockLevel
from apps.inventory.services import adjust_stock
from tests.factories import LocationFactory, ModifierFactory, ModifierGroupFactory, VariantFactory


@pytest.fixture
def shop(db):
    """A small store: OAK with a burrito (+ guacamole modifier), a taco and a scarce item."""
    oak = LocationFactory(code="OAK", name="Oakland")
    addons = ModifierGroupFactory(code="ADDONS", name="Add-ons", max_selected=4)
    guac = ModifierFactory(group=addons, sku="EXTRA-GUAC", name="Extra guacamole", price_delta=200)
    cheese = ModifierFactory(group=addons, sku="EXTRA-CHEESE", name="Extra cheese", price_delta=100)
    burrito = VariantFactory(sku="BURRITO", name="Burrito", price_amount=950)
    burrito.product.modifier_groups.add(addons)
    taco = VariantFactory(sku="TACO", name="Taco", price_amount=375)
    taco.product.modifier_groups.add(addons)
    scarce = VariantFactory(sku="SCARCE", name="Last few", price_amount=4999)
    for variant, quantity in ((burrito, 50), (taco, 40), (scarce, 3)):
        stock(oak, variant, quantity)
    return type("Shop", (), {"oak": oak, "burrito": burrito, "taco": taco, "scarce": scarce,
                             "guac": guac, "cheese": cheese, "addons": addons})


def stock(location, variant, quantity) -> StockLevel:
    return adjust_stock(location_id=location.pk, variant_id=variant.pk, delta=quantity,
                        reason=MovementReason.RECEIPT, actor="test")


@pytest.fixture
def make_client(db):
    def make(channel="phone", name="PieLine"):
        client, raw_key = create_api_client(name=name, channel=channel)
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
        api.api_client = client
        api.raw_key = raw_key
        return api

    return make


@pytest.fixture
def phone(make_client):
    return make_client("phone")


@pytest.fixture
def worker_alive(db):
    """A worker process that has just beaten (/healthz answers 503 without one)."""
    from django.utils import timezone

    from apps.core.services import record_worker_heartbeat

    record_worker_heartbeat(worker="test-worker:1", started_at=timezone.now())


@pytest.fixture(autouse=True, scope="session")
def _no_heartbeat_thread_in_the_test_process():
    """A test that sends django-q2's `post_spawn` here (to check what a starting worker
    does) must not leave a heartbeat thread beating for the rest of the session; worker
    processes a test starts connect it themselves."""
    from django_q.signals import post_spawn

    post_spawn.disconnect(dispatch_uid="start-worker-heartbeat")


@pytest.fixture(autouse=True)
def _fresh_process_caches():
    from apps.core.cache import clear_all

    clear_all()
    yield
    clear_all()
