"""The cash drawers page: who reads which stores' days, who records a count (a store
manager at their own stores, admin; finance reads only), the form's refusals, the HTMX
fragment and the file. The figures are those of test_cash_drawers (OAK, 24th: 26.50
expected; 25th: 9.50)."""

import csv
import io

import pytest
from django.test import Client

from apps.core.models import AuditEntry
from apps.reports.models import CashDrawerCount, CashDrawerFloat
from tests.factories import LocationFactory
from tests.reports.conftest import staff
from tests.reports.test_cash_drawers import cash_days  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db
RANGE = {"from": "2026-11-23", "to": "2026-11-25"}
COUNT = {"action": "count", "location": "OAK", "business_day": "2026-11-24", "counted": "226.75",
         "opening_float": "200.00", "note": "end of day", **RANGE}


@pytest.fixture
def stores(cash_days):  # noqa: F811
    LocationFactory(code="BKN", name="Brooklyn", timezone="America/New_York")
    return cash_days


def page(client, **params) -> str:
    response = client.get("/cash-drawers/", {**RANGE, **params})
    assert response.status_code == 200
    return response.content.decode()


def test_a_store_manager_sees_and_counts_their_own_store_only(stores):
    manager = staff("store_manager", "oak-manager", "OAK")
    html = page(manager)
    assert 'data-location="OAK"' in html and 'data-location="BKN"' not in html
    assert 'id="count-form"' in html and 'href="/reports/channels/' not in html
    assert 'href="/cash-drawers/"' in manager.get("/").content.decode()  # in the navigation

    response = manager.post("/cash-drawers/", COUNT)

    assert response.status_code == 302
    assert response["Location"] == "/cash-drawers/?from=2026-11-23&to=2026-11-25"
    count = CashDrawerCount.objects.get()
    assert (count.location.code, count.counted, count.opening_float, count.note) == ("OAK", 22675, 20000,
                                                                                     "end of day")
    row = page(manager).split('data-day="2026-11-24" data-location="OAK"')[1].split("</tr>")[0]
    assert "$26.50" in row and "$226.75" in row and "over $0.25" in row


def test_a_store_manager_may_not_count_another_store(stores):
    manager = staff("store_manager", "oak-manager", "OAK")
    for code in ("BKN", "NOWHERE"):
        assert manager.post("/cash-drawers/", {**COUNT, "location": code}).status_code == 403
    assert CashDrawerCount.objects.count() == 0


def test_finance_reads_every_store_and_records_nothing(stores):
    finance = staff("finance")
    html = page(finance)
    assert 'data-location="OAK"' in html and 'data-location="BKN"' in html
    assert 'id="count-form"' not in html and "Cash drawers</a>" in html  # the reports' tab

    assert finance.post("/cash-drawers/", COUNT).status_code == 403
    assert finance.post("/cash-drawers/", {"action": "float", "float-location": "OAK",
                                           "float-amount": "1.00"}).status_code == 403
    assert CashDrawerCount.objects.count() == 0 and CashDrawerFloat.objects.count() == 0


@pytest.mark.parametrize("role", ["customer_service", "no role", "anonymous"])
def test_others_do_not_open_the_page(stores, role):
    if role == "anonymous":
        client = Client()
    elif role == "no role":
        from django.contrib.auth import get_user_model

        client = Client()
        client.force_login(get_user_model().objects.create_user("nobody", password="pw-pw-pw-pw"))
    else:
        client = staff(role)
    expected = 302 if role == "anonymous" else 403
    assert client.get("/cash-drawers/").status_code == expected
    assert client.post("/cash-drawers/", COUNT).status_code == expected
    assert CashDrawerCount.objects.count() == 0


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"counted": "-5.00"}, "counted", "The counted cash cannot be negative."),
    ({"opening_float": "-1"}, "opening_float", "The opening float cannot be negative."),
    ({"counted": "lots"}, "counted", "Enter an amount like 212.50."),
    ({"counted": ""}, "counted", "Enter the cash counted in the drawer."),
    ({"business_day": "2999-01-01"}, "business_day", "has not started at OAK yet"),
])
def test_a_refused_count_shows_why_next_to_its_field_and_records_nothing(stores, change, field, message):
    manager = staff("store_manager", "oak-manager", "OAK")

    response = manager.post("/cash-drawers/", {**COUNT, **change})

    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="id_{field}-error"' in html and message in html
    assert CashDrawerCount.objects.count() == 0
    assert not AuditEntry.objects.filter(action__startswith="cash_drawer.").exists()


def test_htmx_gets_the_table_and_form_back_with_the_recount_in_place(stores):
    admin = staff("admin")
    admin.post("/cash-drawers/", COUNT)

    response = admin.post("/cash-drawers/", {**COUNT, "counted": "226.00"}, HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="drawers">') and "<html" not in html
    assert "recorded (a recount: it replaces the earlier one)" in html
    row = html.split('data-day="2026-11-24" data-location="OAK"')[1].split("</tr>")[0]
    assert "short -$0.50" in row and "recounted" in row
    assert CashDrawerCount.objects.get().counted == 22600


def test_the_standard_float_is_what_a_count_without_one_takes(stores):
    manager = staff("store_manager", "oak-manager", "OAK")

    manager.post("/cash-drawers/", {"action": "float", "float-location": "OAK", "float-amount": "150.00"})
    manager.post("/cash-drawers/", {**COUNT, "opening_float": "", "counted": "176.50"})

    assert CashDrawerFloat.objects.get().amount == 15000
    assert CashDrawerCount.objects.get().opening_float == 15000
    assert "OAK: $150.00" in page(manager)
    assert manager.post("/cash-drawers/", {"action": "float", "float-location": "BKN",
                                           "float-amount": "1.00"}).status_code == 403
    refused = manager.post("/cash-drawers/", {"action": "float", "float-location": "OAK",
                                              "float-amount": "-1"})
    assert 'id="id_float-amount-error"' in refused.content.decode()
    assert CashDrawerFloat.objects.get().amount == 15000


def test_a_rows_count_link_fills_the_form_with_its_store_and_day(stores):
    html = page(staff("admin"), count_at="BKN", count_day="2026-11-23")
    assert '<option value="BKN" selected>' in html and 'value="2026-11-23"' in html


def test_the_csv_has_the_pages_figures_and_totals(stores):
    admin = staff("admin")
    admin.post("/cash-drawers/", COUNT)
    admin.post("/cash-drawers/", {**COUNT, "business_day": "2026-11-25", "counted": "209.00"})

    response = admin.get("/cash-drawers/", {**RANGE, "format": "csv"})

    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    oak = {row["day"]: row for row in rows if row["location"] == "OAK"}
    assert (oak["2026-11-24"]["expected"], oak["2026-11-24"]["over_short"]) == ("26.50", "0.25")
    assert (oak["2026-11-25"]["expected"], oak["2026-11-25"]["over_short"]) == ("9.50", "-0.50")
    assert oak["2026-11-23"]["counted"] == ""
    total = rows[-1]
    assert (total["day"], total["location"], total["over_short"]) == ("TOTAL", "2 counted", "-0.25")
    assert 'id="total-over-short">-$0.25<' in page(admin)
