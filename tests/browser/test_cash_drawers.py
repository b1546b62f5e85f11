"""A store manager counts the drawer in a real browser: the count goes in through HTMX (the
page is not reloaded), the day's row shows it over, a recount replaces it; finance sees the
same figures and no form. Nothing loads from outside the server; screenshots at 1366x768
and phone width."""

import pytest

from apps.backoffice.services import create_staff_user
from apps.reports.models import CashDrawerCount
from tests.browser.conftest import PASSWORD, shoot, sign_in
from tests.reports.conftest import utc
from tests.reports.test_cash_drawers import cash_sale

DAYS = "/cash-drawers/?from=2026-11-23&to=2026-11-25"
ROW = 'tr[data-day="2026-11-24"][data-location="OAK"]'


def fits_a_phone(page) -> bool:
    """At 390 px the page does not scroll sideways as a whole (the table scrolls in its card)."""
    page.set_viewport_size({"width": 390, "height": 844})
    width = page.evaluate("document.documentElement.scrollWidth")
    page.set_viewport_size({"width": 1366, "height": 768})
    return width <= 390


@pytest.fixture
def staff(transactional_db, shop):
    cash_sale("c1", utc(2026, 11, 24, 18), burritos=2, tip=100)  # 20.00 expected on the 24th
    create_staff_user(username="mona", role="store_manager", location_codes=["OAK"], password=PASSWORD)
    create_staff_user(username="fiona", role="finance", location_codes=[], password=PASSWORD)


def test_a_manager_counts_and_recounts_the_drawer_and_finance_reads_it(page, live_server, staff):
    sign_in(page, live_server, "mona", then=DAYS)
    page.wait_for_selector(ROW)
    assert page.locator(f"{ROW} [data-expected]").inner_text() == "$20.00"
    page.evaluate("window.notReloaded = true")

    page.click(f"{ROW} a:text('Count')")
    page.wait_for_url(lambda url: "count_day=2026-11-24" in url)
    page.fill("#id_counted", "220.25")
    page.fill("#id_opening_float", "200.00")
    page.fill("#id_note", "a quarter over")
    page.evaluate("window.notReloaded = true")
    page.click("#count-form button[type=submit]")
    page.wait_for_selector(f"{ROW} .badge.warn")

    assert page.evaluate("window.notReloaded") is True  # swapped in by HTMX, not a new page
    assert page.locator(f"{ROW} [data-over-short]").inner_text() == "over $0.25"
    assert "recorded" in page.locator("#drawers .messages").inner_text()
    shoot(page, "cash-drawers-manager")
    assert fits_a_phone(page)

    page.select_option("#id_location", "OAK")
    page.fill("#id_business_day", "2026-11-24")
    page.fill("#id_counted", "219.50")
    page.fill("#id_opening_float", "200.00")
    page.click("#count-form button[type=submit]")
    page.wait_for_selector(f"{ROW} .badge.bad")
    assert page.locator(f"{ROW} [data-over-short]").inner_text() == "short -$0.50"
    assert CashDrawerCount.objects.get().recounts == 1
    assert page.outside == []

    page.context.clear_cookies()
    sign_in(page, live_server, "fiona", then=DAYS)
    page.wait_for_selector(ROW)
    assert page.locator(f"{ROW} [data-over-short]").inner_text() == "short -$0.50"
    assert page.locator("#count-form").count() == 0
    shoot(page, "cash-drawers-finance")
    assert fits_a_phone(page)
    assert page.outside == []
