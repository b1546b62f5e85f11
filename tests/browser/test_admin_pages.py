"""The admin, for now the window on orders, stock and the ledger, in a real browser."""

import io
import json
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from apps.core.services import create_api_client

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture
def admin_user(transactional_db):
    call_command("seed_demo", stdout=io.StringIO())
    user = get_user_model().objects.get(username="admin")
    user.set_password("correct horse battery")
    user.save()
    return user


def place_phone_order(live_server):
    import requests

    _, key = create_api_client(name="PieLine", channel="phone")
    body = {"location": "OAK", "source_name": "PieLine", "fulfillment": {"type": "pickup"},
            "customer": {"name": "Ana Ruiz", "phone": "+15105550123"},
            "lines": [{"sku": "BURRITO", "quantity": 2, "modifiers": [{"sku": "EXTRA-GUAC"}]}]}
    response = requests.post(f"{live_server.url}/api/v1/orders", data=json.dumps(body), timeout=10,
                             headers={"Authorization": f"Bearer {key}", "Idempotency-Key": "b1",
                                      "Content-Type": "application/json"})
    assert response.status_code == 201, response.text
    return response.json()


def test_an_order_and_its_stock_movements_are_visible_in_the_admin(page, live_server, admin_user):
    order = place_phone_order(live_server)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "correct horse battery")
    page.click("input[type=submit]")
    page.goto(f"{live_server.url}/admin/orders/order/")
    row = page.locator("#result_list tbody tr").first
    assert "PieLine" in row.inner_text()
    assert str(order["total"]["amount"]) in row.inner_text()
    assert order["total"]["amount"] == 2536  # 2300 and Oakland's 10.25% tax (235.75 -> 236)
    page.screenshot(path=SCREENSHOTS / "admin-orders.png", full_page=True)

    page.goto(f"{live_server.url}/admin/orders/order/{order['id']}/change/")
    assert "BURRITO" in page.content()

    page.goto(f"{live_server.url}/admin/inventory/stockmovement/?q=BURRITO")
    movements = page.locator("#result_list tbody").inner_text()
    assert "Reserved for an order" in movements
    assert "Received" in movements
    page.screenshot(path=SCREENSHOTS / "admin-movements.png", full_page=True)

    page.goto(f"{live_server.url}/admin/inventory/stocklevel/?q=BURRITO")
    burrito_rows = page.locator("#result_list tbody tr", has_text="BURRITO — Burrito")
    assert burrito_rows.count() == 3  # one per store


def test_the_api_docs_render_without_a_cdn(page, live_server, transactional_db):
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".swagger-ui .info .title", timeout=15000)
    assert "Concord API" in page.locator(".swagger-ui .info .title").inner_text()
    assert page.locator(".opblock-summary-path", has_text="/api/v1/orders").count() >= 1
    assert page.outside == []
    page.screenshot(path=SCREENSHOTS / "api-docs.png")
