"""Finance imports a Toast deposit file in a real browser and sees the day reconciled."""

from datetime import date
from pathlib import Path

import pytest

from apps.backoffice.services import create_staff_user
from apps.inventory.services import upsert_location
from apps.reports.reconciliation import reconcile_days
from tests.browser.conftest import PASSWORD, sign_in
from tests.conftest import stock
from tests.reports.conftest import sale, utc
from tests.reports.test_reconciliation import processor_payment

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
TOAST_PAYOUTS = ("Location,Settled Date,Sales Date,Payment Amount,Refund Amount,Fee Amount,"
                 "Withholding Amount,Payout Amount,Payout Status\n"
                 "Brooklyn,11/25/2026,11/24/2026,20.00,0.00,0.62,0.00,19.38,SENT\n")


@pytest.fixture
def toast_day(transactional_db, shop):
    bkn = upsert_location(code="BKN", name="Brooklyn", timezone_name="America/New_York",
                          business_day_starts_at=4)
    stock(bkn, shop.burrito, 10)
    order = sale("BKN", "t1", utc(2026, 11, 24, 18), [("BURRITO", 2)], tip=100)
    order.payments.update(platform="toast")
    processor_payment(order, fee=50)
    reconcile_days(first_day=date(2026, 11, 24), last_day=date(2026, 11, 24), today=date(2026, 11, 25))
    create_staff_user(username="fiona", role="finance", location_codes=[], password=PASSWORD)


def test_finance_imports_a_toast_payouts_file_and_the_day_is_reconciled(page, live_server, toast_day,
                                                                        tmp_path):
    sign_in(page, live_server, "fiona", then="/reports/reconciliation/?from=2026-11-24&to=2026-11-24")
    page.wait_for_selector("#reconciliation")
    row = page.locator('tr[data-platform="toast"]')
    assert row.get_attribute("data-status") == "reconciled"  # in transit: nothing unexplained yet
    assert "Not paid out yet" in row.inner_text()  # the class's label, not its code

    upload = tmp_path / "toast-payouts.csv"
    upload.write_text(TOAST_PAYOUTS)
    page.select_option("#deposit-platform", "toast")
    page.set_input_files("#deposit-file", str(upload))
    page.click("#deposit-form button[type=submit]")
    page.wait_for_selector("text=imported 1 row(s) from toast-payouts.csv")
    assert "toast-payouts.csv: imported" not in page.content()  # the file named once

    row = page.locator('tr[data-platform="toast"]')
    assert row.get_attribute("data-status") == "reconciled"
    assert "$19.38" in row.inner_text() and "Not paid out yet" not in row.inner_text()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "reports-reconciliation.png", full_page=True)

    row.locator("a").first.click()
    page.wait_for_selector("#reconciliation-lines")
    assert page.locator('tr[data-class="fee"]').count() == 1
    page.fill("#note", "Toast statement fees as expected")
    page.click("#review-form button[type=submit]")
    page.wait_for_selector("text=marked reviewed")
    page.screenshot(path=SCREENSHOTS / "reports-reconciliation-day.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=SCREENSHOTS / "reports-reconciliation-day-phone.png", full_page=True)
    assert page.outside == []
