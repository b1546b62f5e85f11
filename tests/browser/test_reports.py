"""Finance opens the channel report in a real browser, downloads the CSV and the XLSX, and
their totals equal the page's to the cent; the chart draws from static/, nothing else loads."""

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from apps.backoffice.services import create_staff_user
from apps.reports import rollup
from tests.browser.conftest import PASSWORD, sign_in
from tests.reports.conftest import make_fortnight

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
MONEY_TOTALS = ("gross_sales", "refunds", "net_sales", "average_ticket")


def page_cents(page, name: str) -> int:
    text = page.locator(f'[data-total="{name}"]').inner_text()
    return int(Decimal(text.replace("$", "").replace(",", "")) * 100)


def cents(value) -> int:
    return int(Decimal(str(value)) * 100)


@pytest.fixture
def finance_user(transactional_db, shop):
    make_fortnight(shop)
    rollup.refresh_channel_rollup()
    create_staff_user(username="fiona", role="finance", location_codes=[], password=PASSWORD)


def test_finance_downloads_the_channel_report_and_the_files_match_the_page(page, live_server, finance_user):
    sign_in(page, live_server, "fiona", then="/reports/channels/?from=2026-11-24&to=2026-11-25")
    page.wait_for_selector("#channel-report")
    page.wait_for_function("window.Chart && Chart.getChart(document.getElementById('report-chart'))")
    on_page = {name: page_cents(page, name) for name in MONEY_TOTALS}
    assert on_page == {"gross_sales": 30459, "refunds": 800, "net_sales": 29659, "average_ticket": 5077}
    assert page.locator('[data-total="orders"]').inner_text() == "6"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "reports-channels.png", full_page=True)

    with page.expect_download() as csv_download:
        page.click("#download-csv")
    rows = list(csv.DictReader(io.StringIO(Path(csv_download.value.path()).read_text())))
    total = next(row for row in rows if row["day"] == "TOTAL")
    assert {name: cents(total[name]) for name in MONEY_TOTALS} == on_page
    assert int(total["orders"]) == 6

    with page.expect_download() as xlsx_download:
        page.click("#download-xlsx")
    sheet = load_workbook(io.BytesIO(Path(xlsx_download.value.path()).read_bytes()), read_only=True).active
    header, *lines = list(sheet.iter_rows(values_only=True))
    figures = dict(zip(header, next(line for line in lines if line[0] == "TOTAL"), strict=True))
    assert {name: cents(figures[name]) for name in MONEY_TOTALS} == on_page

    page.emulate_media(media="print")
    assert page.locator(".topbar").is_hidden() and page.locator("#channel-report").is_visible()
    page.screenshot(path=SCREENSHOTS / "reports-channels-print.png", full_page=True)
    assert page.outside == []


def test_the_liabilities_page_draws_its_chart(page, live_server, finance_user):
    sign_in(page, live_server, "fiona", then="/reports/liabilities/")
    page.wait_for_selector("#liabilities")
    page.wait_for_function("window.Chart && Chart.getChart(document.getElementById('report-chart'))")
    assert page.locator('[data-liability="gift_card"]').count() == 1
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=SCREENSHOTS / "reports-liabilities-phone.png", full_page=True)
