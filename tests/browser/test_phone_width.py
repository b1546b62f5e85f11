"""At phone width (390 px) no page scrolls sideways as a whole: wide tables scroll inside
their card (`.table-wrap`), so the navigation and the forms stay on screen."""

from datetime import date

import pytest
from django.utils import timezone

from apps.backoffice.services import create_staff_user
from apps.reports.models import ExportJob
from tests.browser.conftest import PASSWORD, sign_in

PHONE = {"width": 390, "height": 844}
FINANCE_PAGES = ["/", "/reports/channels/", "/reports/liabilities/", "/reports/reconciliation/", "/exports/"]


@pytest.fixture
def finance_with_an_export(transactional_db, shop):
    user, _ = create_staff_user(username="fiona", role="finance", location_codes=[], password=PASSWORD)
    ExportJob.objects.create(owner=user, kind="channels", file_format="xlsx", first_day=date(2026, 11, 1),
                             last_day=date(2026, 11, 30), status="done", done=30, total=30,
                             file_name="channels.xlsx", started_at=timezone.now(), finished_at=timezone.now())
    return user


def test_the_finance_pages_fit_a_phone(page, live_server, finance_with_an_export):
    sign_in(page, live_server, "fiona")
    page.set_viewport_size(PHONE)
    wider = {}
    for path in FINANCE_PAGES:
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            wider[path] = width

    assert wider == {}
    assert page.locator("#jobs .table-wrap tr[data-job]").count() == 1  # the job's row is there


@pytest.fixture
def order_with_a_long_item(transactional_db, shop):
    from apps.orders import services as orders
    from tests.conftest import stock
    from tests.factories import VariantFactory

    comal = VariantFactory(sku="COMAL", name="Cast-iron comal, pre-seasoned", price_amount=3499)
    stock(shop.oak, comal, 5)
    create_staff_user(username="sam", role="customer_service", location_codes=[], password=PASSWORD)
    order, _ = orders.record_external_order(order=orders.ExternalOrderInput(
        channel="web", source_name="Test shop", external_id="w-1", location_code="OAK",
        lines=(orders.LineInput("COMAL", 2), orders.LineInput("BURRITO", 2)), placed_at=timezone.now(),
        fulfillment_type="pickup", already_fulfilled=True,
        tenders=(orders.TenderFact(type="card", amount=8898, platform="shopify", reference="pay-w-1"),)))
    return order


def test_the_refund_forms_restock_boxes_stay_on_a_phones_screen(page, live_server, order_with_a_long_item):
    sign_in(page, live_server, "sam", then=f"/orders/{order_with_a_long_item.pk}/")
    page.set_viewport_size(PHONE)
    page.wait_for_selector("#refund-lines")

    boxes = page.locator("#refund-lines input[type=checkbox]")
    rights = [box["x"] + box["width"] for box in (boxes.nth(i).bounding_box() for i in range(boxes.count()))]
    table_scrolls = page.evaluate(
        "(() => { const wrap = document.querySelector('#refund-lines').closest('.table-wrap');"
        " return wrap.scrollWidth > wrap.clientWidth; })()")

    assert len(rights) == 2 and max(rights) <= PHONE["width"]
    assert table_scrolls is False
    assert page.get_by_label("back in stock").count() == 2  # still named for screen readers


def test_every_section_of_the_navigation_is_in_sight_on_a_phone(page, live_server, finance_with_an_export):
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_superuser("root", password=PASSWORD)
    sign_in(page, live_server, "root")
    page.set_viewport_size(PHONE)

    links = page.locator(".nav a")
    boxes = [links.nth(i).bounding_box() for i in range(links.count())]

    assert links.count() >= 7  # the admin's sections, reports and admin among them
    assert all(box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] for box in boxes)
