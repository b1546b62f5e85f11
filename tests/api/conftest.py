import pytest
from rest_framework.test import APIClient

from apps.core.services import create_api_client
from tests.helpers import post_order, simple_order

SHOPPERS = {
    "pieline": {"name": "Ana Ruiz", "phone": "+15105550123", "email": "ana@example.com"},
    "callhero": {"name": "Ben Okafor", "phone": "+15105550177", "email": "ben@example.com"},
    "checkout": {"name": "Cy Park", "phone": "+15105550199", "email": "cy@example.com"},
}


def key_client(**kind):
    client, raw_key = create_api_client(name=kind.pop("name"), **kind)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    api.api_client = client
    return api


@pytest.fixture
def keys(shop):
    """Two phone vendors, a custom web checkout, and two staff keys."""
    return {
        "pieline": key_client(name="PieLine", channel="phone"),
        "callhero": key_client(name="CallHero", channel="phone"),
        "checkout": key_client(name="Custom checkout", channel="web"),
        "helpdesk": key_client(name="Helpdesk", role="customer_service"),
        "finance": key_client(name="Books", role="finance"),
    }


@pytest.fixture
def world(keys):
    """Each channel key placed one order for its own shopper: {name: order document}."""
    return {name: post_order(keys[name], simple_order(customer=SHOPPERS[name], external_id=f"{name}-1"),
                             key=f"{name}-order").json()
            for name in SHOPPERS}
