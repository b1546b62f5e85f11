"""Connector tests run Concord for real (pytest-django's live_server) and the platform
emulators on loopback ports, talking over HTTP both ways."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.utils.module_loading import import_string

from apps.connectors.models import PlatformConnection
from apps.demo import dev_credentials
from apps.emulators import EMULATORS

BASE_URL_SETTING = {"shopify": "SHOPIFY_BASE_URL", "square": "SQUARE_BASE_URL",
                    "toast": "TOAST_BASE_URL", "clover": "CLOVER_BASE_URL"}


@pytest.fixture
def demo_merchant(transactional_db):
    call_command("seed_demo", stdout=io.StringIO())


@pytest.fixture
def platform_settings(settings, live_server):
    for name, value in dev_credentials.SECRETS.items():
        setattr(settings, name, value)
    settings.SQUARE_WEBHOOK_URL = f"{live_server.url}/webhooks/square/"
    settings.CONCORD_PUBLIC_URL = live_server.url
    settings.DELIVERY_BACKOFF_BASE_SECONDS = 0.05
    settings.DELIVERY_BACKOFF_CAP_SECONDS = 0.5
    return settings


@pytest.fixture
def start_emulator(platform_settings, live_server):
    """start_emulator("toast") -> the emulator object; Concord's settings point at it."""
    running = []

    def start(platform: str, **options):
        emulator = import_string(EMULATORS[platform])(concord_url=live_server.url, **options)
        server = emulator.serve()
        running.append(server)
        setattr(platform_settings, BASE_URL_SETTING[platform], server.url)
        emulator.url = server.url
        return emulator

    yield start
    for server in running:
        server.shutdown()


@pytest.fixture
def connect():
    """connect("toast", "BKN", receives_orders=True) -> PlatformConnection to the demo ids."""

    def make(platform: str, location_code: str, **fields) -> PlatformConnection:
        from apps.inventory.models import Location

        location = Location.objects.get(code=location_code)
        return PlatformConnection.objects.create(
            platform=platform, location=location,
            external_location_id=dev_credentials.platform_location_id(platform, location_code), **fields)

    return make
