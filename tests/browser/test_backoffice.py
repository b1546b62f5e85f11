"""The back office in a real browser, against live_server and the Square emulator at OAK:
a store manager adjusts stock and 86es an item and the register sees it; another store is
403; a failed delivery is retried from the exception queue and leaves it once it succeeds.
Nothing any page loads comes from outside the server. Every page is photographed at
1366×768 and at phone width into /tmp/shots/."""

from __future__ import annotations

import re

import pytest
import requests
from django.utils import timezone

from apps.backoffice.services import create_staff_user
from apps.connectors.enums import DeliveryStatus
from apps.connectors.models import Delivery
from apps.connectors.services.catalog_sync import run_catalog_pull, start_catalog_pull
from apps.connectors.tasks import sync_once
from apps.core.models import ExceptionItem, OutboxEvent
from apps.demo import demo_data
from apps.inventory.models import StockLevel
from tests.backoffice.conftest import record_sale
from tests.browser.conftest import PASSWORD, shoot, sign_in
from tests.connectors.conftest import connect, demo_merchant, platform_settings, start_emulator  # noqa: F401
from tests.helpers import post_order

pytestmark = pytest.mark.django_db(transaction=True)


def pull(platform: str):
    return run_catalog_pull(start_catalog_pull(platform=platform).pk)


def opening_stock_is_already_there() -> None:
    """The seed's receipts match the emulator's own seed: nothing to push for them."""
    OutboxEvent.objects.update(dispatched_at=timezone.now())


def emulator_state(emulator) -> dict:
    return requests.get(f"{emulator.url}/__emulator/state", timeout=10).json()


def phone_order(make_client, sku: str, quantity: int, *, key: str, **line) -> dict:
    body = {"location": "OAK", "fulfillment": {"type": "pickup", "pickup_at": "2030-11-25T18:30:00Z"},
            "customer": {"name": "Ana Ruiz", "phone": "+15105550123"},
            "lines": [{"sku": sku, "quantity": quantity, **line}]}
    answer = post_order(make_client("phone"), body, key=key)
    assert answer.status_code == 201, answer.content
    return answer.json()


def settle(emulator, rounds: int = 30) -> None:
    """Run the sync engine until nothing is left (backoff skipped), webhooks delivered."""
    for _ in range(rounds):
        emulator.flush_webhooks(10)
        Delivery.objects.filter(status=DeliveryStatus.PENDING).update(next_attempt_at=timezone.now())
        if not any(sync_once().values()):
            return
    raise AssertionError("the engine did not settle")


@pytest.fixture
def square(demo_merchant, start_emulator, connect):  # noqa: F811
    emulator = start_emulator("square")
    emulator.webhook_retry_base_s = 0.05
    connect("square", "OAK", receives_orders=True)
    opening_stock_is_already_there()
    job = pull("square")
    assert job.status == "done", job.error
    return emulator


def square_stock(emulator, sku: str) -> dict:
    return emulator_state(emulator)["stock"]["OAK"][sku]


def test_a_store_manager_adjusts_stock_and_86es_an_item_and_the_register_sees_it(
        square, page, live_server):
    create_staff_user(username="maria", role="store_manager", location_codes=["OAK"], password=PASSWORD)
    opening = demo_data.opening_stock("OAK", "BURRITO")
    page.goto(f"{live_server.url}/login/")
    shoot(page, "login")
    sign_in(page, live_server, "maria")
    shoot(page, "dashboard")

    page.goto(f"{live_server.url}/stock/?q=BURR")
    rows = page.locator("#stock-levels tbody tr").all_inner_texts()
    assert rows and all(row.startswith("OAK") and "BURRITO" in row for row in rows)
    shoot(page, "stock-list")
    page.get_by_role("link", name="BURRITO", exact=True).click()
    page.select_option("#id_kind", "delta")
    page.fill("#id_quantity", "-3")
    page.click("#change-form button[type=submit]")
    assert "Say why the stock changes" in page.locator("#id_note-error").inner_text()
    shoot(page, "stock-detail-error")
    page.fill("#id_note", "dropped a tray")
    page.click("#change-form button[type=submit]")
    assert page.locator("#on-hand").inner_text() == str(opening - 3)
    assert "dropped a tray" in page.locator("#movements").inner_text()
    settle(square)
    assert square_stock(square, "BURRITO")["quantity"] == opening - 3

    page.click("button:text('86 BURRITO')")
    assert "86’d on every channel" in page.locator("#state-86").inner_text()
    shoot(page, "stock-detail")
    settle(square)
    assert square_stock(square, "BURRITO")["available"] is False
    assert StockLevel.objects.get(location__code="OAK", variant__sku="BURRITO").is_86d

    elsewhere = record_sale("BKN", channel="web", external_id="bkn-web-1", fulfilled=False)
    for path in ("/stock/BKN/BURRITO/", f"/orders/{elsewhere.pk}/"):
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 403
        assert "Not allowed" in page.locator("h1").inner_text()
    shoot(page, "forbidden")
    assert page.outside == []


def test_an_exception_is_retried_from_the_queue_and_leaves_it_when_the_delivery_succeeds(
        square, page, live_server, platform_settings, make_client):  # noqa: F811
    platform_settings.DELIVERY_MAX_ATTEMPTS = 1
    create_staff_user(username="sam", role="customer_service", password=PASSWORD)
    square.set_faults({"error_rate": 1})
    order = phone_order(make_client, "BURRITO", 1, key="call-1", modifiers=[{"sku": "EXTRA-GUAC"}])
    settle(square)
    item = ExceptionItem.objects.get(kind="delivery_failed", status="open", data__kind="inject_order")

    sign_in(page, live_server, "sam")
    page.goto(f"{live_server.url}/orders/?q={order['id']}")
    shoot(page, "order-list")
    page.goto(f"{live_server.url}/orders/{order['id']}/")
    page.wait_for_selector("#order-timeline")
    assert "Could not reach Square" in page.locator("#order-timeline").inner_text()
    assert page.locator("#refunds").is_visible()
    shoot(page, "order-detail")

    page.goto(f"{live_server.url}/exceptions/")
    assert page.locator(f"tr[data-exception='{item.pk}']").is_visible()
    shoot(page, "exception-list")
    page.click(f"tr[data-exception='{item.pk}'] a >> nth=0")
    assert "failed" in page.locator("#attempts").inner_text()
    shoot(page, "exception-detail")

    square.clear_faults()
    page.click("#retry")
    assert "retried" in page.locator(".messages").inner_text()
    settle(square)
    assert ExceptionItem.objects.get(pk=item.pk).status == "resolved"
    assert emulator_state(square)["orders"][0]["idempotency_key"] == f"concord:phone:{order['id']}"

    page.goto(f"{live_server.url}/exceptions/")
    assert page.locator(f"tr[data-exception='{item.pk}']").count() == 0
    page.goto(f"{live_server.url}/orders/{order['id']}/")
    page.wait_for_selector("#order-timeline")
    assert re.search(r"Sent to Square", page.locator("#order-timeline").inner_text())
    assert page.outside == []


def test_the_exception_list_drops_a_resolved_row_without_a_reload(square, page, live_server):
    """htmx polls the rows: an exception whose cause succeeded leaves the open list live."""
    create_staff_user(username="root", role="admin", password=PASSWORD)
    from apps.core.services import open_exception, resolve_exceptions_by_key

    item = open_exception(kind="stock_drift", title="Drift", location_code="OAK", dedupe_key="drift:x")
    sign_in(page, live_server, "root")
    page.goto(f"{live_server.url}/exceptions/")
    row = page.locator(f"tr[data-exception='{item.pk}']")
    assert row.count() == 1
    resolve_exceptions_by_key(dedupe_key="drift:x", reason="in step again")
    row.wait_for(state="detached", timeout=20_000)
    assert page.locator("#exception-rows").inner_text().strip().startswith("Nothing here")
    assert page.outside == []


def test_the_admin_pages_in_a_browser(stores_for_browser, page, live_server):
    create_staff_user(username="root", role="admin", password=PASSWORD)
    sign_in(page, live_server, "root")
    page.click("nav.nav a:text('Admin')")
    page.fill("#id_username", "maria")
    page.select_option("#id_role", "store_manager")
    page.check("input[name=locations][value=OAK]")
    page.click("#new-user-form button[type=submit]")
    assert page.locator("#generated-password").inner_text().strip()
    shoot(page, "admin-users")
    page.click("nav.tabs a:text('API keys')")
    page.fill("#id_name", "PieLine")
    page.select_option("#id_channel", "phone")
    page.click("#new-key-form button[type=submit]")
    assert len(page.locator("#new-key").inner_text().strip()) > 20
    shoot(page, "admin-api-keys")
    page.click("nav.tabs a:text('Connections and sync')")
    shoot(page, "admin-sync")
    page.click("nav.tabs a:text('Audit log')")
    assert "api_client.created" in page.locator("#audit-log").inner_text()
    shoot(page, "admin-audit")
    assert page.outside == []


@pytest.fixture
def stores_for_browser(transactional_db):
    from tests.factories import LocationFactory

    LocationFactory(code="OAK", name="Oakland")
    LocationFactory(code="BKN", name="Brooklyn", timezone="America/New_York")
