"""Export jobs: a report written to a file in the background (django-q2), with progress on
the job row and the file kept under EXPORTS_ROOT (default var/exports) for its owner.

`start_export` records the job and queues `run_export_job_task`; the task claims the job
with one conditional UPDATE (queued -> running), so a task delivered twice writes once."""

from __future__ import annotations

import csv
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.core.errors import ValidationFailed
from apps.reports.files import Table, write_xlsx
from apps.reports.models_reports import ExportJob, ExportJobStatus
from apps.reports.periods import report_range

KIND_LABELS = {"channels": "Channel report", "liabilities": "Liabilities", "journal": "Daily journal",
               "reconciliation": "Reconciliation"}
FORMATS = {"channels": ("csv", "xlsx"), "liabilities": ("csv", "xlsx"), "journal": ("csv",),
           "reconciliation": ("csv", "xlsx")}
PROGRESS_EVERY = 500
RECENT_JOBS = 20


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


def run_export_job(*, job_id: int) -> bool:
    """Write the job's file; False when another run already took it."""
    claimed = ExportJob.objects.filter(pk=job_id, status=ExportJobStatus.QUEUED).update(
        status=ExportJobStatus.RUNNING, started_at=timezone.now())
    if claimed != 1:
        return False
    job = ExportJob.objects.get(pk=job_id)
    try:
        table = _table(job)
        ExportJob.objects.filter(pk=job.pk).update(total=table.size)
        name = f"{job.kind}-{job.first_day}-{job.last_day}.{job.file_format}"
        root = exports_root()
        root.mkdir(parents=True, exist_ok=True)
        path = root / f"export-{job.pk}-{name}"
        _write(table, job, path)
    except Exception as error:
        ExportJob.objects.filter(pk=job.pk).update(status=ExportJobStatus.FAILED, error=str(error)[:2000],
                                                   finished_at=timezone.now())
        raise
    ExportJob.objects.filter(pk=job.pk).update(status=ExportJobStatus.DONE, file_name=name,
                                               done=table.size, finished_at=timezone.now())
    return True


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
            ExportJob.objects.filter(pk=job.pk).update(done=done)

    partial = path.with_suffix(path.suffix + ".part")
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
    partial.replace(path)


def jobs_of(*, owner, limit: int | None = RECENT_JOBS):
    jobs = ExportJob.objects.filter(owner=owner).order_by("-pk")
    return list(jobs[:limit]) if limit else jobs


def file_of(job: ExportJob) -> Path | None:
    if job.status != ExportJobStatus.DONE or not job.file_name:
        return None
    path = exports_root() / f"export-{job.pk}-{job.file_name}"
    return path if path.exists() else None
