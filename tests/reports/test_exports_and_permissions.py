"""Export jobs (queued, run in the background, progress kept on the row, the file kept for
its owner) and who may open which finance page, every role against every page and export."""

import csv
import io
from decimal import Decimal

import pytest
from django.test import Client

from apps.reports import rollup
from apps.reports.models import ExportJob
from apps.reports.tasks import run_export_job_task
from tests.reports.conftest import staff

pytestmark = pytest.mark.django_db
RANGE = {"from": "2026-11-24", "to": "2026-11-25"}


def test_an_export_runs_in_the_background_and_its_file_stays(fortnight, queued):
    rollup.refresh_channel_rollup()
    finance = staff("finance")

    response = finance.post("/exports/", {"kind": "channels", "format": "csv", **RANGE})

    assert response.status_code == 302
    job = ExportJob.objects.get()
    assert (job.status, job.kind, str(job.first_day), str(job.last_day)) == \
        ("queued", "channels", *RANGE.values())
    assert queued == [("apps.reports.tasks.run_export_job_task", (job.pk,))]
    assert 'hx-trigger="every 2s"' in finance.get("/exports/progress/").content.decode()

    assert run_export_job_task(job.pk) is True
    assert run_export_job_task(job.pk) is False  # delivered twice: written once
    job.refresh_from_db()
    assert (job.status, job.done, job.total) == ("done", 7, 7)
    page = finance.get("/exports/").content.decode()
    assert f"/exports/{job.pk}/download/" in page and "every 2s" not in page
    assert "<td>Channel report · CSV</td>" in page  # the report's name, not its code
    download = finance.get(f"/exports/{job.pk}/download/")
    rows = list(csv.DictReader(io.StringIO(b"".join(download.streaming_content).decode())))
    total = next(row for row in rows if row["day"] == "TOTAL")
    assert Decimal(total["gross_sales"]) == Decimal("304.59")
    assert staff("admin").get(f"/exports/{job.pk}/download/").status_code == 404  # not theirs


def test_a_journal_exports_as_csv_only(db, queued):
    finance = staff("finance")

    finance.post("/exports/", {"kind": "journal", "format": "xlsx", **RANGE})
    finance.post("/exports/", {"kind": "ledger", "format": "csv", **RANGE})
    finance.post("/exports/", {"kind": "journal", "format": "csv", "from": "2026-11-24"})

    assert ExportJob.objects.count() == 0 and queued == []


def test_an_xlsx_journal_job_of_liabilities(db, queued):
    finance = staff("finance")
    finance.post("/exports/", {"kind": "liabilities", "format": "xlsx", **RANGE})
    job = ExportJob.objects.get()

    run_export_job_task(job.pk)

    job.refresh_from_db()
    assert job.status == "done" and job.file_name.endswith(".xlsx")
    assert finance.get(f"/exports/{job.pk}/download/").status_code == 200


GETS = ["/reports/channels/", "/reports/channels/?format=csv", "/reports/channels/?format=xlsx",
        "/reports/liabilities/", "/reports/liabilities/?format=csv", "/reports/liabilities/?format=xlsx",
        "/reports/journal/?from=2026-11-24&to=2026-11-25", "/exports/", "/exports/progress/",
        "/exports/{job}/download/"]
READERS = {"finance", "admin"}


ROLES = ["anonymous", "no role", "store_manager", "customer_service", "finance", "admin"]


@pytest.mark.parametrize("role", ROLES)
def test_only_finance_and_admin_open_reports_and_exports(shop, queued, role):
    owner = staff(role, "owner") if role in READERS else staff("finance", "owner")
    owner.post("/exports/", {"kind": "channels", "format": "csv", **RANGE})
    job = ExportJob.objects.get()
    run_export_job_task(job.pk)
    if role == "anonymous":
        client = Client()
    elif role == "no role":
        from django.contrib.auth import get_user_model

        client = Client()
        client.force_login(get_user_model().objects.create_user("nobody", password="pw-pw-pw-pw"))
    else:
        client = owner if role in READERS else staff(role, None, "OAK")

    for path in GETS:
        status = client.get(path.format(job=job.pk)).status_code
        expected = 200 if role in READERS else 302 if role == "anonymous" else 403
        assert status == expected, (role, path, status)
    posted = client.post("/exports/", {"kind": "channels", "format": "csv", **RANGE}).status_code
    assert posted == (302 if role in READERS or role == "anonymous" else 403)
    assert ExportJob.objects.count() == (2 if role in READERS else 1)


def test_the_navigation_offers_reports_to_finance_only(db):
    assert 'href="/reports/channels/"' in staff("finance").get("/").content.decode()
    assert 'href="/reports/channels/"' not in staff("customer_service").get("/").content.decode()


def test_the_reports_section_stays_lit_on_the_exports_tab(db):
    finance = staff("finance")

    for path in ("/reports/channels/", "/reports/liabilities/", "/exports/"):
        lit = [item["label"] for item in finance.get(path).context["nav_items"] if item["active"]]
        assert lit == ["Reports"], path


def test_the_export_form_offers_the_reports_last_week(fortnight, monkeypatch):
    """The form starts on the seven days the report pages show by default (each store's
    business day: at 05:30 UTC on Dec 2 every store is still on Dec 1)."""

    class Clock:
        @staticmethod
        def now():
            from tests.reports.conftest import utc
            return utc(2026, 12, 2, 5, 30)

    monkeypatch.setattr("apps.reports.selectors.timezone", Clock)

    page = staff("finance").get("/exports/").content.decode()

    assert 'name="from" value="2026-11-25"' in page and 'name="to" value="2026-12-01"' in page
