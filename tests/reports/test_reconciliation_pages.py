"""The reconciliation page, a day's lines, reviewing, recomputing and importing a deposit
file, for every role; and its CSV and XLSX with totals equal to the page."""

import csv
import io
from datetime import date
from decimal import Decimal

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from apps.core.models import AuditEntry
from apps.reports.models import DepositImport, ReconciliationDay
from apps.reports.reconciliation import reconcile_days
from tests.reports.conftest import sale, staff, utc
from tests.reports.test_reconciliation import payout, processor_payment

pytestmark = pytest.mark.django_db
DAY = date(2026, 11, 24)
RANGE = "?from=2026-11-24&to=2026-11-24"
TOAST_PAYOUTS = (b"Location,Settled Date,Sales Date,Payment Amount,Refund Amount,Fee Amount,"
                 b"Withholding Amount,Payout Amount,Payout Status\n"
                 b"Oakland,11/25/2026,11/24/2026,9.50,0.00,0.30,0.00,9.20,SENT\n")


@pytest.fixture
def reconciled(shop):
    paid = sale("OAK", "s1", utc(2026, 11, 24, 18), [("BURRITO", 2)], tip=200)
    processor_payment(paid, fee=60)
    payout("square", "po-1", [("charge", "pay-s1", 2100, 60)], location=shop.oak)
    sale("OAK", "lost", utc(2026, 11, 24, 19), [("TACO", 1)])  # the processor never saw it
    reconcile_days(first_day=DAY, last_day=DAY, today=date(2026, 11, 26))
    return ReconciliationDay.objects.get()


@pytest.mark.parametrize("role, page, actions", [
    ("finance", 200, 302), ("admin", 200, 302), ("customer_service", 403, 403), ("store_manager", 403, 403),
])
def test_who_may_read_and_work_the_reconciliation(reconciled, role, page, actions):
    client = staff(role, None, "OAK")
    assert client.get(f"/reports/reconciliation/{RANGE}").status_code == page
    assert client.get(f"/reports/reconciliation/{reconciled.pk}/").status_code == page
    assert client.get(f"/reports/reconciliation/{RANGE}&format=csv").status_code == page
    review = client.post(f"/reports/reconciliation/{reconciled.pk}/review/", {"note": "ok"})
    assert review.status_code == actions
    assert client.post("/reports/reconciliation/run/", {"from": "2026-11-24", "to": "2026-11-24"}) \
        .status_code == actions
    upload = SimpleUploadedFile("payouts.csv", TOAST_PAYOUTS, content_type="text/csv")
    assert client.post("/reports/reconciliation/deposits/", {"platform": "toast", "file": upload}) \
        .status_code == actions
    reviewed = ReconciliationDay.objects.get(pk=reconciled.pk).reviewed_at is not None
    assert reviewed == (actions == 302)
    assert DepositImport.objects.exists() == (actions == 302)


def test_anonymous_goes_to_sign_in(reconciled):
    response = Client().get(f"/reports/reconciliation/{RANGE}")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_page_shows_the_day_and_its_lines(reconciled):
    client = staff("finance")
    page = client.get(f"/reports/reconciliation/{RANGE}").content.decode()
    assert 'data-status="unexplained"' in page and "$24.75" in page  # sold: 21.00 + 3.75
    day = client.get(f"/reports/reconciliation/{reconciled.pk}/").content.decode()
    assert 'data-class="missing_at_processor"' in day and 'data-class="fee"' in day
    assert "$3.75" in day and "$0.60" in day


def test_files_carry_the_page_totals(reconciled):
    client = staff("finance")
    body = b"".join(client.get(f"/reports/reconciliation/{RANGE}&format=csv").streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    total = next(row for row in rows if row["business_day"] == "TOTAL")
    assert Decimal(total["sold"]) == Decimal("24.75") and Decimal(total["paid_out"]) == Decimal("20.40")
    assert Decimal(total["unexplained"]) == Decimal("3.75")
    lines = [row for row in rows if row["line_classification"]]
    assert sum(Decimal(row["line_amount"]) for row in lines) == Decimal(total["difference"])

    xlsx = b"".join(client.get(f"/reports/reconciliation/{RANGE}&format=xlsx").streaming_content)
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx), read_only=True).active
    cells = list(sheet.iter_rows(values_only=True))
    header, xlsx_total = cells[0], next(row for row in cells if row[0] == "TOTAL")
    assert Decimal(str(xlsx_total[header.index("sold")])) == Decimal("24.75")


def test_reviewing_a_day_is_audited_and_kept(reconciled):
    client = staff("finance")
    client.post(f"/reports/reconciliation/{reconciled.pk}/review/", {"note": "lost ticket, see store"})
    client.post("/reports/reconciliation/run/", {"from": "2026-11-24", "to": "2026-11-24"})
    day = ReconciliationDay.objects.get(business_day=DAY)
    assert day.review_note == "lost ticket, see store" and day.reviewed_by.username == "finance"
    assert AuditEntry.objects.filter(action="reconciliation.reviewed").count() == 1


def test_a_malformed_deposit_file_is_refused_with_its_line_and_column(reconciled):
    client = staff("finance")
    bad = SimpleUploadedFile("payouts.csv", TOAST_PAYOUTS.replace(b"9.20", b"nine"), content_type="text/csv")
    response = client.post("/reports/reconciliation/deposits/", {"platform": "toast", "file": bad},
                           follow=True)
    page = response.content.decode()
    assert "line 2, column Payout Amount" in page and "nothing was imported" in page
    assert not DepositImport.objects.exists()


def test_a_reconciliation_export_job_writes_the_same_totals(reconciled, monkeypatch, settings, tmp_path):
    from apps.reports.models import ExportJob
    from apps.reports.tasks import run_export_job_task

    settings.EXPORTS_ROOT = tmp_path
    queued = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda func, *args, **kw: queued.append(args))
    client = staff("finance")
    client.post("/exports/", {"kind": "reconciliation", "format": "csv",
                              "from": "2026-11-24", "to": "2026-11-24"})
    (job_id,) = queued[0]
    assert run_export_job_task(job_id)
    job = ExportJob.objects.get(pk=job_id)
    body = b"".join(client.get(f"/exports/{job.pk}/download/").streaming_content).decode()
    total = next(row for row in csv.DictReader(io.StringIO(body)) if row["business_day"] == "TOTAL")
    assert Decimal(total["sold"]) == Decimal("24.75") and Decimal(total["unexplained"]) == Decimal("3.75")


def test_a_days_lines_come_a_page_at_a_time_the_unexplained_first(reconciled, monkeypatch):
    from apps.reports.models import ReconciliationLine

    monkeypatch.setattr("apps.reports.reconciliation_views.DAY_LINES", 2)
    ReconciliationLine.objects.bulk_create(
        ReconciliationLine(day=reconciled, classification="in_transit", explained=True, amount=1, count=1,
                           note=f"extra-{n}") for n in range(3))
    finance = staff("finance")
    total = reconciled.lines.count()

    first = finance.get(f"/reports/reconciliation/{reconciled.pk}/")
    pages = first.context["lines"].paginator.num_pages
    last = finance.get(f"/reports/reconciliation/{reconciled.pk}/", {"page": pages})

    assert [line.explained for line in first.context["lines"]] == [False, True]  # what to look at, first
    assert "Next →" in first.content.decode() and "← Previous" in last.content.decode()
    assert len(first.context["lines"]) == 2 and first.context["lines"].paginator.count == total
