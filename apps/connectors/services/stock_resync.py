"""A stock resync as a long job: each of a platform's stock-pushing connections starts over
(start_stock_sync_over: its counts read again as baselines, every mapped item queued to push),
one connection at a time, with the progress on the SyncJob row so a page can show it later."""

from __future__ import annotations

import logging

from django.utils import timezone

from apps.connectors.enums import JobStatus
from apps.connectors.models import SyncJob
from apps.connectors.selectors import active_connections
from apps.connectors.services.stock_sync import start_stock_sync_over
from apps.core.errors import ValidationFailed

logger = logging.getLogger(__name__)
STOCK_RESYNC = "stock_resync"


def start_stock_resync(*, platform: str) -> SyncJob:
    """The job, queued; refused while one of the platform runs, or with nothing to resync."""
    if not active_connections().filter(platform=platform, pushes_stock=True).exists():
        raise ValidationFailed(f"No connection of {platform} pushes stock (or its settings are missing).",
                               field="platform")
    running = SyncJob.objects.filter(platform=platform, kind=STOCK_RESYNC,
                                     status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).first()
    if running is not None:
        raise ValidationFailed(f"A stock resync of {platform} is already under way (job #{running.pk}).",
                               field="platform")
    return SyncJob.objects.create(platform=platform, kind=STOCK_RESYNC)


def run_stock_resync(job_id: int) -> SyncJob:
    """Start every stock-pushing connection of the job's platform over; done counts connections,
    the summary the items each queued to push (the delivery engine sends them)."""
    job = SyncJob.objects.get(pk=job_id)
    links = list(active_connections().filter(platform=job.platform, pushes_stock=True)
                 .select_related("location").order_by("location__code"))
    SyncJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, started_at=timezone.now(), done=0,
                                             total=len(links))
    summary: dict[str, int] = {}
    try:
        for done, link in enumerate(links, start=1):
            summary[link.location.code] = start_stock_sync_over(link)
            SyncJob.objects.filter(pk=job.pk).update(done=done, summary={"queued": summary})
        SyncJob.objects.filter(pk=job.pk).update(status=JobStatus.DONE, finished_at=timezone.now())
    except Exception as error:
        logger.exception("stock resync %s failed", job.pk)
        SyncJob.objects.filter(pk=job.pk).update(status=JobStatus.FAILED, error=str(error)[:2000],
                                                 finished_at=timezone.now())
    return SyncJob.objects.get(pk=job.pk)
