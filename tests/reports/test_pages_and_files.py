"""The report pages and their files: CSV and XLSX parsed back equal the page to the cent;
the liabilities at a date and their movements; the journal balances every day."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from apps.backoffice.services import create_staff_user
from apps.customers.models import Customer, StoredValueEntry
from apps.customers.services import adjust_points, issue_gift_card, issue_store_credit, redeem_stored_value
from apps.reports import rollup
from apps.reports.journal import journal_lines
from tests.reports.conftest import EXPECTED_TOTALS, utc

pytestmark = pytest.mark.django_db
RANGE = {"from": "2026-11-24", "to": "2026-11-25"}
MONEY = {"gross_sales", "discounts", "tax", "tips", "refunds", "net_sales", "average_ticket"}


@pytest.fixture
def finance(db):
    user, _ = create_staff_user(username="fin", role="finance", location_codes=[], password="pw-pw-pw-pw")
    client = Client()
    client.force_login(user)
    return client


def body_of(response) -> bytes:
    return b"".join(response.streaming_content)


def as_cents(value) -> int:
    return int(Decimal(str(value)) * 100)


def test_the_page_shows_the_totals(fortnight, finance):
    rollup.refresh_channel_rollup()

    response = finance.get("/reports/channels/", RANGE)

    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-total="gross_sales">$304.59<' in page
    assert 'data-total="net_sales">$296.59<' in page
    assert 'id="report-chart"' in page and "vendor/chartjs/chart.umd.min.js" in page
    assert page.count('data-channel="register"') == 4


def test_the_csv_equals_the_page_to_the_cent(fortnight, finance):
    rollup.refresh_channel_rollup()

    response = finance.get("/reports/channels/", {**RANGE, "format": "csv"})

    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(body_of(response).decode())))
    total = next(row for row in rows if row["day"] == "TOTAL")
    assert {key: as_cents(total[key]) if key in MONEY else int(total[key]) for key in EXPECTED_TOTALS} \
        == EXPECTED_TOTALS
    lines = [row for row in rows if row["day"][:1].isdigit()]
    assert len(lines) == 5
    assert sum(as_cents(row["gross_sales"]) for row in lines) == EXPECTED_TOTALS["gross_sales"]


def test_the_xlsx_equals_the_page_to_the_cent(fortnight, finance):
    rollup.refresh_channel_rollup()

    response = finance.get("/reports/channels/", {**RANGE, "format": "xlsx"})

    assert response.status_code == 200 and response.streaming
    sheet = load_workbook(io.BytesIO(body_of(response)), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    header, total = rows[0], next(row for row in rows if row[0] == "TOTAL")
    figures = dict(zip(header, total, strict=True))
    assert {key: as_cents(figures[key]) if key in MONEY else int(figures[key]) for key in EXPECTED_TOTALS} \
        == EXPECTED_TOTALS


def test_a_bad_range_shows_the_last_week_with_a_message(db, finance):
    response = finance.get("/reports/channels/", {"from": "2026-11-25", "to": "2026-11-01"})

    assert response.status_code == 200
    assert "to is before from." in response.content.decode()


@pytest.fixture
def stored_value(shop, freezer_at):
    customer = Customer.objects.create(name="Ana")
    with freezer_at(utc(2026, 11, 20, 12)):
        card = issue_gift_card(amount=5000, currency="USD")
        issue_store_credit(customer_id=customer.pk, amount=1200, currency="USD")
        adjust_points(customer_id=customer.pk, points=300, reason="welcome")
    with freezer_at(utc(2026, 11, 24, 15)):
        redeem_stored_value(account_id=card.pk, amount=1500)
        issue_gift_card(amount=2000, currency="USD")
        adjust_points(customer_id=customer.pk, points=-100, reason="correction")
    return card


@pytest.fixture
def freezer_at():
    """Entries carry their own created_at (auto_now_add): write them, then date them."""
    from contextlib import contextmanager

    from apps.customers.models import LoyaltyEntry

    @contextmanager
    def at(moment):
        before = {model: set(model.objects.values_list("pk", flat=True))
                  for model in (StoredValueEntry, LoyaltyEntry)}
        yield
        for model, known in before.items():
            model.objects.exclude(pk__in=known).update(created_at=moment)

    return at


def test_liabilities_at_a_date_and_their_movements(stored_value):
    from apps.reports.liabilities import liabilities

    report = liabilities(first=date(2026, 11, 24), last=date(2026, 11, 25))

    lines = {line.kind: line for line in report.lines}
    gift = lines["gift_card"]
    assert (gift.opening, gift.closing) == (5000, 5500)
    assert (gift.movements["issue"], gift.movements["redeem"]) == (2000, -1500)
    assert gift.daily == [5500, 5500]
    assert (lines["store_credit"].opening, lines["store_credit"].closing) == (1200, 1200)
    loyalty = lines["loyalty"]
    assert (loyalty.opening, loyalty.closing, loyalty.movements["adjust"]) == (300, 200, -100)
    assert report.total_closing_value == {"USD": 5500 + 1200 + 200 * loyalty.point_value}
    before = liabilities(first=date(2026, 11, 19), last=date(2026, 11, 19))
    assert [line.closing for line in before.lines] == [0, 0, 0]


def test_the_liabilities_files_equal_the_page(stored_value, finance):
    params = {"from": "2026-11-24", "to": "2026-11-25"}
    page = finance.get("/reports/liabilities/", params).content.decode()
    assert 'id="liabilities-total">$69.00<' in page  # 55.00 + 12.00 + 200 points at 1 cent
    # movements by their names, only those that moved, no separator left dangling
    gift_row = page.split('data-liability="gift_card"')[1].split("</tr>")[0]
    assert "<small>Issued $20.00 · Redeemed as a tender " in gift_row and " · </small>" not in gift_row
    assert "Adjusted by staff -100 pts</small>" in page.split('data-liability="loyalty"')[1]

    rows = list(csv.reader(io.StringIO(body_of(finance.get("/reports/liabilities/",
                                                           {**params, "format": "csv"})).decode())))
    assert rows[-1][0] == "TOTAL" and Decimal(rows[-1][-1]) == Decimal("69.00")
    xlsx = body_of(finance.get("/reports/liabilities/", {**params, "format": "xlsx"}))
    sheet = load_workbook(io.BytesIO(xlsx), read_only=True).active
    assert Decimal(str(list(sheet.iter_rows(values_only=True))[-1][-1])) == Decimal("69.00")


def test_every_journal_balances_and_re_exports_the_same_source_ids(fortnight, stored_value):
    from apps.reports.services import record_drawer_count

    admin, _ = create_staff_user(username="boss", role="admin", location_codes=[], password="pw-pw-pw-pw")
    for code, day, counted in (("OAK", 24, 20_125), ("BKN", 25, 19_990), ("OAK", 21, 20_000)):
        record_drawer_count(location_id=getattr(fortnight, code.lower()).pk, business_day=date(2026, 11, day),
                            counted=counted, opening_float=20_000, user=admin)  # over, short, even
    lines = journal_lines(first=date(2026, 11, 20), last=date(2026, 11, 30))
    assert {line.source_id: line.amount for line in lines if line.account == "Cash over/short"} == {
        "CJ-2026-11-24-OAK/cash-over-short": -125, "CJ-2026-11-25-BKN/cash-over-short": 10,
        "CJ-2026-11-21-OAK/cash-over-short": 0}

    by_journal = {}
    for line in lines:
        by_journal.setdefault(line.journal_id, []).append(line.amount)
    assert by_journal and all(sum(amounts) == 0 for amounts in by_journal.values())
    assert len({line.source_id for line in lines}) == len(lines)
    again = journal_lines(first=date(2026, 11, 20), last=date(2026, 11, 30))
    assert [(line.source_id, line.amount) for line in again] == \
        [(line.source_id, line.amount) for line in lines]


def test_the_journal_books_the_sales_of_a_day(fortnight):
    day = date(2026, 11, 24)
    lines = {line.key: line.amount for line in journal_lines(first=day, last=day)
             if line.journal_id == "CJ-2026-11-24-OAK"}

    # o1 (register): 1900 gross, 100 off, 150 tax, 200 tip, card 2150 (1950 + tip), fee 60;
    # o2 (web): 375 + 30 tax by card. o4 (phone) was canceled: nowhere.
    assert lines == {"sales:register": -1900, "discounts:register": 100, "tax:register": -150,
                     "tips:register": -200, "sales:web": -375, "tax:web": -30,
                     "tender:card": 2150 + 405, "fee:card": 60, "fee-clearing:card": -60}


def test_the_journal_file_is_debits_and_credits(fortnight, finance):
    response = finance.get("/reports/journal/", {"from": "2026-11-24", "to": "2026-11-25"})

    rows = list(csv.DictReader(io.StringIO(body_of(response).decode())))
    assert list(rows[0]) == ["date", "journal_id", "account", "debit", "credit", "memo", "source_id"]
    for journal_id in {row["journal_id"] for row in rows}:
        mine = [row for row in rows if row["journal_id"] == journal_id]
        debits = sum(Decimal(row["debit"] or 0) for row in mine)
        assert debits == sum(Decimal(row["credit"] or 0) for row in mine)
    refunds = next(row for row in rows if row["source_id"] == "CJ-2026-11-25-OAK/refunds:register")
    assert (refunds["debit"], refunds["credit"]) == ("5.00", "")


def test_today_is_reported_live(shop, finance):
    from tests.reports.conftest import sale

    sale("OAK", "now", timezone.now(), [("TACO", 2)])

    response = finance.get("/reports/channels/")

    assert 'data-total="gross_sales">$7.50<' in response.content.decode()


def test_the_table_pages_while_totals_cover_the_whole_range(fortnight, finance, monkeypatch):
    monkeypatch.setattr("apps.reports.views.TABLE_ROWS", 2)
    rollup.refresh_channel_rollup()

    first = finance.get("/reports/channels/", RANGE).content.decode()
    last = finance.get("/reports/channels/", {**RANGE, "page": 3}).content.decode()

    assert first.count("<tr data-day=") == 2 and last.count("<tr data-day=") == 1
    assert "Lines 5–5 of 5" in last
    assert 'data-total="gross_sales">$304.59<' in first and 'data-total="gross_sales">$304.59<' in last


class _Clock:
    """A stand-in for django.utils.timezone in one module: its now() is fixed."""

    def __init__(self, moment):
        self.moment = moment

    def now(self):
        return self.moment


def test_the_default_range_ends_on_the_stores_business_day_not_the_utc_date(fortnight, finance, monkeypatch):
    # 05:30 UTC on Dec 2: Oakland's evening of Dec 1, Brooklyn's 00:30 (its day starts at 4).
    monkeypatch.setattr("apps.reports.selectors.timezone", _Clock(utc(2026, 12, 2, 5, 30)))

    page = finance.get("/reports/channels/")
    reconciliation = finance.get("/reports/reconciliation/")

    assert (page.context["first"], page.context["last"]) == (date(2026, 11, 25), date(2026, 12, 1))
    assert (reconciliation.context["first"], reconciliation.context["last"]) == (
        date(2026, 11, 25), date(2026, 12, 1))
    html = page.content.decode()
    assert '<strong>BKN</strong> Tue Dec 1 (its day starts at 4:00)' in html
    assert '<strong>OAK</strong> Tue Dec 1<' in html


def test_a_day_no_store_has_reached_says_so_instead_of_looking_empty(fortnight, finance, monkeypatch):
    monkeypatch.setattr("apps.reports.selectors.timezone", _Clock(utc(2026, 12, 2, 5, 30)))

    html = finance.get("/reports/channels/", {"from": "2026-12-02", "to": "2026-12-02"}).content.decode()
    yesterday = finance.get("/reports/channels/", {"from": "2026-11-30", "to": "2026-11-30"}).content.decode()

    assert "No store has reached business day Dec 2 yet" in html
    assert "No sales in these days." in yesterday and "No store has reached" not in yesterday
