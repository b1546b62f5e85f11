"""An export whose worker died stays running in the database; after STALLED_AFTER without
progress it shows as failed, saying why, and its owner starts it again (once) as a new job.
A run that was only slow stops writing once its job was given up."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from apps.backoffice.services import create_staff_user
from apps.core.errors import Conflict, NotFound
from apps.reports import export_jobs
from apps.reports.files import Table
from apps.reports.models import ExportJob
from apps.reports.tasks import run_export_job_task

pytestmark = pytest.mark.django_db
RANGE = {"from": "2026-11-24", "to": "2026-11-25"}


def finance_user(username="fin"):
    user, _ = create_staff_user(username=username, role="finance", location_codes=[], password="pw-pw-pw-pw")
    return user


@pytest.fixture
def owner(db):
    return finance_user()


def dead_job(owner, *, silent_for: timedelta) -> ExportJob:
    """A job its worker claimed and moved on 1200 of 4000 rows, then nothing (the worker died)."""
    last = timezone.now() - silent_for
    return ExportJob.objects.create(kind="channels", file_format="csv", first_day="2026-11-24",
                                    last_day="2026-11-25", owner=owner, status="running", done=1200,
                                    total=4000, started_at=last - timedelta(minutes=1), progressed_at=last)


def test_a_job_silent_past_the_settled_time_shows_failed_and_why(owner):
    quiet = dead_job(owner, silent_for=export_jobs.STALLED_AFTER - timedelta(minutes=1))
    dead = dead_job(owner, silent_for=export_jobs.STALLED_AFTER + timedelta(minutes=1))

    shown = {job.pk: job for job in export_jobs.jobs_of(owner=owner)}

    assert (shown[quiet.pk].status, shown[quiet.pk].error) == ("running", "")
    assert shown[dead.pk].status == "failed"
    assert shown[dead.pk].error.startswith("Stopped at 1200 of 4000 rows: no progress since ")
    assert shown[dead.pk].error.endswith("its worker ended. Start it again.")
    assert ExportJob.objects.get(pk=dead.pk).status == "running"  # shown, not written, until restarted


def test_a_stalled_job_starts_again_once_as_a_new_job(owner, queued):
    dead = dead_job(owner, silent_for=timedelta(hours=1))

    again = export_jobs.restart_export(owner=owner, job_id=dead.pk)

    dead.refresh_from_db()
    assert (dead.status, dead.restarted_as_id) == ("failed", again.pk)
    assert dead.error.startswith("Stopped at 1200 of 4000 rows") and dead.finished_at is not None
    assert (again.status, again.kind, again.file_format, str(again.first_day), str(again.last_day)) == \
        ("queued", "channels", "csv", "2026-11-24", "2026-11-25")
    assert queued == [("apps.reports.tasks.run_export_job_task", (again.pk,))]
    with pytest.raises(Conflict, match=f"already started again as #{again.pk}"):
        export_jobs.restart_export(owner=owner, job_id=dead.pk)
    assert ExportJob.objects.count() == 2 and len(queued) == 1
    assert run_export_job_task(again.pk) is True
    assert ExportJob.objects.get(pk=again.pk).status == "done"


@pytest.mark.parametrize("status", ["queued", "done"])
def test_a_job_neither_failed_nor_stalled_does_not_start_again(owner, queued, status):
    job = dead_job(owner, silent_for=timedelta(minutes=1))
    ExportJob.objects.filter(pk=job.pk).update(status=status)
    running = dead_job(owner, silent_for=timedelta(minutes=1))

    for pk in (job.pk, running.pk):
        with pytest.raises(Conflict, match="only a failed export starts again"):
            export_jobs.restart_export(owner=owner, job_id=pk)

    assert ExportJob.objects.count() == 2 and queued == []
    assert ExportJob.objects.get(pk=running.pk).status == "running"


def test_another_users_job_is_not_found(owner, queued):
    dead = dead_job(owner, silent_for=timedelta(hours=1))
    with pytest.raises(NotFound):
        export_jobs.restart_export(owner=finance_user("another"), job_id=dead.pk)

    assert ExportJob.objects.count() == 1 and queued == []


def test_a_slow_run_stops_writing_once_its_job_is_given_up(owner, queued, monkeypatch):
    job = ExportJob.objects.create(kind="channels", file_format="csv", first_day="2026-11-24",
                                   last_day="2026-11-25", owner=owner)

    def rows():
        for number in range(1, 10):
            if number == 5:  # meanwhile the owner gave up on it and started it again
                ExportJob.objects.filter(pk=job.pk).update(
                    progressed_at=timezone.now() - timedelta(hours=1))
                export_jobs.restart_export(owner=owner, job_id=job.pk)
            yield [number]

    monkeypatch.setattr(export_jobs, "PROGRESS_EVERY", 1)
    monkeypatch.setattr(export_jobs, "_table", lambda _: Table(title="t", header=["n"], rows=rows(), size=9))

    assert export_jobs.run_export_job(job_id=job.pk) is False

    job.refresh_from_db()
    assert (job.status, job.done, job.file_name) == ("failed", 4, "")
    assert list(export_jobs.exports_root().glob("export-*")) == []  # no file, no partial file


def test_the_exports_page_shows_the_stalled_job_failed_and_starts_it_again(owner, queued):
    client = Client()
    client.force_login(owner)
    dead = dead_job(owner, silent_for=timedelta(hours=1))

    page = client.get("/exports/").content.decode()

    assert f'data-job="{dead.pk}" data-status="failed"' in page and "its worker ended" in page
    assert f'action="/exports/{dead.pk}/restart/"' in page and "every 2s" not in page

    response = client.post(f"/exports/{dead.pk}/restart/", follow=True)

    again = ExportJob.objects.get(restart_of=dead)
    page = response.content.decode()
    assert f"Export #{dead.pk} started again as #{again.pk}" in page
    assert f"Started again as #{again.pk}" in page and f'action="/exports/{dead.pk}/restart/"' not in page
    assert f'data-job="{again.pk}" data-status="queued"' in page and "every 2s" in page
    assert queued == [("apps.reports.tasks.run_export_job_task", (again.pk,))]


def test_only_its_owner_starts_an_export_again(owner, queued):
    dead = dead_job(owner, silent_for=timedelta(hours=1))
    client = Client()
    client.force_login(finance_user("another"))

    assert client.post(f"/exports/{dead.pk}/restart/").status_code == 404
    assert client.get(f"/exports/{dead.pk}/restart/").status_code == 405

    assert ExportJob.objects.count() == 1 and queued == []
