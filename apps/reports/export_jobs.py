"""Export jobs: a report written to a file in the background (django-q2), with progress on
the job row and the file kept under EXPORTS_ROOT (default var/exports) for its owner.

`start_export` records the job and queues `run_export_job_task`; the task claims the job
with one conditional UPDATE (queued -> running), so a task delivered twice writes once.

A worker that dies (killed, out of memory, a machine lost) leaves its job running. A running
job with no sign of life for STALLED_AFTER shows as failed, saying so, and `restart_export`
runs it again as a new job; every write of a run is conditional on its job still running,
so a run that was only slow, not dead, stops once its job is given up."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.core.errors import Conflict, NotFound, ValidationFailed
from apps.reports.files import Table, write_xlsx
from apps.reports.models_reports import ExportJob, ExportJobStatus
from apps.reports.periods import report_range

KIND_LABELS = {"channels": "Channel report", "liabilities": "Liabilities", "journal": "Daily journal",
               "reconciliation": "Reconciliation"}
FORMATS = {"channels": ("csv", "xlsx"), "liabilities": ("csv", "xlsx"), "journal": ("csv",),
           "reconciliation": ("csv", "xlsx")}
PROGRESS_EVERY = 500
RECENT_JOBS = 20
# django-q2 ends a task after Q_CLUSTER["timeout"] (110 s) and a run reports progress every
# PROGRESS_EVERY rows: a job silent this long has lost its worker.
STALLED_AFTER = timedelta(minutes=5)


class ExportAbandoned(Exception):
    """This run's job is no longer running (given up as stalled): stop writing."""


def exports_root() -> Path:
    return Path(getattr(settings, "EXPORTS_ROOT", settings.BASE_DIR / "var" / "exports"))


def start_export(*, owner, kind: str, file_format: str, params) -> ExportJob:
    """Record an export of `kind` over `params`' from/to and queue it."""
    from django_q.tasks import async_task

    if kind not in KIND_LABELS:
        raise ValidationFailed("Choose what to export.", field="kind")
    if file_format not in FORMATS[kind]:
        raise ValidationFailed(f"{KIND_LABELS[kind]} exports as {' or '.join(FORMATS[kind])}.",
                               field="format")
    first, last = report_range(params, required=True)
    with transaction.atomic():
        job = ExportJob.objects.create(kind=kind, file_format=file_format, first_day=first, last_day=last,
                                       owner=owner)
    async_task("apps.reports.tasks.run_export_job_task", job.pk)
    return job


def restart_export(*, owner, job_id: int, now: datetime | None = None) -> ExportJob:
    """Run a failed (or stalled) export of `owner`'s again as a new job, queued; the old job
    stays failed and names the new one. Once only: a second click is refused."""
    from django_q.tasks import async_task

    now = now or timezone.now()
    job = ExportJob.objects.filter(pk=job_id, owner=owner).first()
    if job is None:
        raise NotFound(f"No export #{job_id} of yours.")
    with transaction.atomic():
        ExportJob.objects.filter(_stalled(now), pk=job.pk).update(
            status=ExportJobStatus.FAILED, error=stalled_message(job), finished_at=now)
        again = ExportJob.objects.create(kind=job.kind, file_format=job.file_format, first_day=job.first_day,
                                         last_day=job.last_day, owner=owner)
        taken = ExportJob.objects.filter(pk=job.pk, status=ExportJobStatus.FAILED,
                                         restarted_as__isnull=True).update(restarted_as=again)
        if taken != 1:  # not failed, or already started again: nothing of this stays
            raise _not_restartable(ExportJob.objects.get(pk=job.pk))
    async_task("apps.reports.tasks.run_export_job_task", again.pk)
    return again


def run_export_job(*, job_id: int) -> bool:
    """Write the job's file; False when another run already took it or it was given up."""
    now = timezone.now()
    claimed = ExportJob.objects.filter(pk=job_id, status=ExportJobStatus.QUEUED).update(
        status=ExportJobStatus.RUNNING, started_at=now, progressed_at=now)
    if claimed != 1:
        return False
    job = ExportJob.objects.get(pk=job_id)
    try:
        table = _table(job)
        _record_progress(job, total=table.size)
        name = f"{job.kind}-{job.first_day}-{job.last_day}.{job.file_format}"
        root = exports_root()
        root.mkdir(parents=True, exist_ok=True)
        path = root / f"export-{job.pk}-{name}"
        _write(table, job, path)
    except ExportAbandoned:
        return False
    except Exception as error:
        _running(job).update(status=ExportJobStatus.FAILED, error=str(error)[:2000],
                             finished_at=timezone.now())
        raise
    return _running(job).update(status=ExportJobStatus.DONE, file_name=name, done=table.size,
                                finished_at=timezone.now()) == 1


def is_stalled(job: ExportJob, now: datetime) -> bool:
    return job.status == ExportJobStatus.RUNNING and _last_sign_of_life(job) < now - STALLED_AFTER


def stalled_message(job: ExportJob) -> str:
    since = timezone.localtime(_last_sign_of_life(job))
    return (f"Stopped at {job.done} of {job.total or '?'} rows: no progress since {since:%Y-%m-%d %H:%M %Z}, "
            "its worker ended. Start it again.")


def _last_sign_of_life(job: ExportJob) -> datetime:
    return job.progressed_at or job.started_at or job.created_at


def _stalled(now: datetime) -> Q:
    """`is_stalled` as a filter, for the compare-and-set that gives a job up."""
    silent_since = now - STALLED_AFTER
    return Q(status=ExportJobStatus.RUNNING) & (
        Q(progressed_at__lt=silent_since)
        | Q(progressed_at__isnull=True, started_at__lt=silent_since)
        | Q(progressed_at__isnull=True, started_at__isnull=True, created_at__lt=silent_since))


def _not_restartable(job: ExportJob) -> Conflict:
    if job.restarted_as_id:
        return Conflict(f"Export #{job.pk} was already started again as #{job.restarted_as_id}.", field="job")
    return Conflict(f"Export #{job.pk} is {job.get_status_display().lower()}: only a failed export starts "
                    "again.", field="job")


def _running(job: ExportJob):
    return ExportJob.objects.filter(pk=job.pk, status=ExportJobStatus.RUNNING)


def _record_progress(job: ExportJob, **fields) -> None:
    if _running(job).update(progressed_at=timezone.now(), **fields) != 1:
        raise ExportAbandoned(job.pk)


def _table(job: ExportJob) -> Table:
    from apps.reports.journal import journal_table
    from apps.reports.liabilities import liabilities
    from apps.reports.selectors import channel_report
    from apps.reports.tables import channel_table, liabilities_table

    if job.kind == "channels":
        return channel_table(channel_report(first=job.first_day, last=job.last_day))
    if job.kind == "liabilities":
        return liabilities_table(liabilities(first=job.first_day, last=job.last_day))
    if job.kind == "reconciliation":
        from apps.reports.reconciliation_selectors import reconciliation_table

        return reconciliation_table(first_day=job.first_day, last_day=job.last_day)
    return journal_table(first=job.first_day, last=job.last_day)


def _write(table: Table, job: ExportJob, path: Path) -> None:
    def progress(done: int) -> None:
        if done % PROGRESS_EVERY == 0:
            _record_progress(job, done=done)

    partial = path.with_suffix(path.suffix + ".part")
    try:
        if job.file_format == "xlsx":
            with partial.open("wb") as target:
                write_xlsx(table, target, progress=progress)
        else:
            with partial.open("w", newline="", encoding="utf-8") as target:
                writer = csv.writer(target)
                writer.writerow(table.header)
                for number, row in enumerate(table.rows, start=1):
                    writer.writerow(row)
                    progress(number)
    except ExportAbandoned:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(path)


def jobs_of(*, owner, limit: int | None = RECENT_JOBS, now: datetime | None = None):
    """`owner`'s latest jobs, a stalled one shown failed with why (as read, not written:
    restarting it writes it); with no limit, all of them as a queryset."""
    jobs = ExportJob.objects.filter(owner=owner).order_by("-pk")
    if not limit:
        return jobs
    now = now or timezone.now()
    shown = list(jobs[:limit])
    for job in shown:
        if is_stalled(job, now):
            job.status, job.error = ExportJobStatus.FAILED, stalled_message(job)
    return shown


def file_of(job: ExportJob) -> Path | None:
    if job.status != ExportJobStatus.DONE or not job.file_name:
        return None
    path = exports_root() / f"export-{job.pk}-{job.file_name}"
    return path if path.exists() else None
