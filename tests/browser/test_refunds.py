"""Refunds in a real browser against live_server and the Shopify emulator: customer service
finds a web order by the shopper's email, returns one line through the preview and the
confirmation, sees the refund on the order's timeline with its part completed, and the
refund reaches Shopify once. Then the approval of a refund above the limit, a manual refund
marked refunded and a staff API key, from their pages. Each page is photographed at 1366×768
and 390×844 into /tmp/shots_br/."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest
from django.utils import timezone

from apps.backoffice.services import create_staff_user
from apps.core.models import ExceptionItem, OutboxEvent
from apps.orders.models import Order
from apps.returns.models import Refund, RefundPart
from apps.returns.services import refund_order
from tests.backoffice.conftest import stores  # noqa: F401
from tests.backoffice.test_permissions import card_sale_at
from tests.browser.conftest import PASSWORD, sign_in
from tests.browser.conftest import shoot as shoot_into
from tests.connectors.conftest import connect, demo_merchant, platform_settings, start_emulator  # noqa: F401
from tests.connectors.test_refunds_at_platforms import (
    control,
    engine_until,
    platform_refunds,
    pull,
    run_engine,
)

pytestmark = pytest.mark.django_db(transaction=True)

shoot = partial(shoot_into, folder=Path("/tmp/shots_br"))  # apart from test_backoffice's (same names)


@pytest.fixture
def shopify(demo_merchant, start_emulator, connect):  # noqa: F811
    emulator = start_emulator("shopify")
    emulator.webhook_retry_base_s = 0.05
    connect("shopify", "OAK")
    OutboxEvent.objects.update(dispatched_at=timezone.now())  # the seed's stock is already there
    pull("shopify")
    return emulator


def web_order(shopify, email: str) -> Order:
    sale = control(shopify, "sale", {"location": "OAK", "lines": [{"sku": "BURRITO", "quantity": 2}],
                                     "tender": {"type": "card"},
                                     "customer": {"name": "Li Wu", "email": email}})
    assert sale["accepted"], sale
    engine_until(lambda: Order.objects.filter(external_id=str(sale["order_id"])).exists(), shopify,
                 message="the web order is recorded")
    run_engine(shopify)
    return Order.objects.get(external_id=str(sale["order_id"]))


def test_customer_service_refunds_one_line_of_a_shopify_order_found_by_email(
        shopify, page, live_server):
    order = web_order(shopify, "li.wu@example.com")
    create_staff_user(username="sam", role="customer_service", password=PASSWORD)
    sign_in(page, live_server, "sam")

    page.click("nav >> text=Orders")
    page.fill("#q", "li.wu@example.com")
    page.click("form[role=search] button[type=submit]")
    assert page.locator("#orders tbody tr").count() == 1
    page.click(f"#orders a:text('#{order.pk}')")
    page.wait_for_selector("#refund-form-fields")
    assert "No refunds yet" in page.locator("#refund-list").inner_text()
    shoot(page, "order-refund-form")

    page.fill("#id_line_1_quantity", "1")
    page.fill("#id_reason", "wrong filling")
    page.click("#preview-refund")
    preview = page.locator("#refund-preview")
    preview.wait_for()
    line_worth = order.lines.get().line_total // 2
    assert "back to the card through Shopify" in preview.inner_text()
    assert Refund.objects.count() == 0  # a preview writes nothing
    shoot(page, "order-refund-preview")

    page.click("#confirm-refund")
    page.wait_for_selector("[data-refund]")
    refund = Refund.objects.get()
    assert (refund.order_id, refund.lines.get().quantity, refund.actor) == (order.pk, 1, "sam")
    assert f"Refund #{refund.pk} recorded" in page.locator(".messages").inner_text()
    shoot(page, "order-refund-pending")

    engine_until(lambda: RefundPart.objects.filter(status="completed").exists(), shopify,
                 message="Shopify refunded the part")
    part = refund.parts.get()
    # The page polls the refund while its part waits, and shows it completed without a reload.
    page.wait_for_selector(f"tr[data-part='{part.pk}'][data-part-status='completed']", timeout=20_000)
    [sent] = platform_refunds(shopify)
    assert (sent["amount"], str(sent["id"])) == (part.amount, part.reference)
    assert abs(part.amount - line_worth) <= 1

    page.reload()
    page.wait_for_selector("#order-timeline")
    timeline = page.locator("#order-timeline").inner_text()
    assert f"Refund #{refund.pk} of" in timeline and "by sam: completed" in timeline
    shoot(page, "order-refunded")
    assert page.outside == []


def test_a_manager_approves_a_refund_and_staff_mark_a_manual_one_refunded(
        page, live_server, stores):  # noqa: F811
    order = card_sale_at("OAK", external_id="big-oak", burritos=30)  # 28,500: above the limit
    waiting = refund_order(order_id=order.pk, amount=21_000, actor="sam", actor_role="customer_service")
    approval = ExceptionItem.objects.get(dedupe_key=f"refund-approval:{waiting.pk}")
    create_staff_user(username="maria", role="store_manager", location_codes=["OAK"], password=PASSWORD)
    sign_in(page, live_server, "maria")

    page.goto(f"{live_server.url}/orders/{order.pk}/")
    page.wait_for_selector(f"[data-refund='{waiting.pk}']")
    assert "Awaiting approval" in page.locator(f"[data-refund='{waiting.pk}']").inner_text()
    shoot(page, "order-awaiting-approval")
    page.click(f"[data-refund='{waiting.pk}'] a.open-approval")
    page.wait_for_selector("#approve-refund")
    shoot(page, "exception-approval")
    page.click("#reject-refund")  # no reason yet
    assert "Say why" in page.locator("#reject-reason-error").inner_text()
    page.click("#approve-refund")
    assert "refund approved" in page.locator(".messages").inner_text()
    waiting.refresh_from_db()
    assert (waiting.status, waiting.decided_by) == ("pending", "maria")
    approval.refresh_from_db()
    assert approval.status == "resolved"

    toast = card_sale_at("OAK", external_id="toast-oak", burritos=1, platform="toast")
    manual = refund_order(order_id=toast.pk, amount=300, actor="sam").parts.get()
    item = ExceptionItem.objects.get(dedupe_key=f"refund-part:{manual.pk}")
    page.goto(f"{live_server.url}/exceptions/{item.pk}/")
    shoot(page, "exception-manual-refund")
    page.fill("#reference", "toast-receipt-77")
    page.click("#mark-refunded")
    assert "refund marked refunded" in page.locator(".messages").inner_text()
    manual.refresh_from_db()
    assert (manual.status, manual.reference) == ("completed", "toast-receipt-77")
    assert page.outside == []


def test_an_admin_creates_a_staff_key_shown_once(page, live_server, stores):  # noqa: F811
    create_staff_user(username="root", role="admin", password=PASSWORD)
    sign_in(page, live_server, "root")
    page.goto(f"{live_server.url}/manage/api-keys/")
    page.fill("#id_name", "Helpdesk")
    page.select_option("#id_role", "customer_service")
    page.click("#new-key-form button[type=submit]")
    key = page.locator("#new-key").inner_text().strip()
    assert len(key) > 20
    shoot(page, "admin-api-keys-staff")
    page.goto(f"{live_server.url}/manage/sync/")
    shoot(page, "admin-sync")
    assert key not in page.content()
    assert page.outside == []
