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
