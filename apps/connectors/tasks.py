"""django-q2 entry points. Each only runs a pass of the engine: the tables are the record,
so a task that runs twice, or is killed, delays work but never loses or repeats it."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.db import close_old_connections

from apps.connectors.services.delivery import requeue_expired_leases, run_due_deliveries
from apps.connectors.services.intake import pending_event_ids, process_inbound_event
from apps.connectors.services.routing import fan_out_outbox

logger = logging.getLogger(__name__)

SYNC_LOOP_SECONDS = 80  # scheduled every minute: consecutive loops overlap, never leave a gap
IDLE_SLEEP_SECONDS = 0.1
LEASE_CHECK_EVERY_SECONDS = 5


def sync_once() -> dict:
    """One pass: outbox → deliveries, due deliveries sent, pending inbound events applied."""
    fanned = fan_out_outbox()
    inbound = [process_inbound_event(event_id) for event_id in pending_event_ids()]
    sent = run_due_deliveries()
    return {"outbox": fanned, "inbound": len(inbound), "deliveries": sent}


def sync_loop_task(seconds: float = SYNC_LOOP_SECONDS) -> str:
    from apps.connectors.services.polling import poll_all

    deadline = time.monotonic() + seconds
    next_lease_check = next_poll = 0.0
    passes = 0
    while time.monotonic() < deadline:
        if time.monotonic() >= next_lease_check:
            requeue_expired_leases()
            next_lease_check = time.monotonic() + LEASE_CHECK_EVERY_SECONDS
        if time.monotonic() >= next_poll:
            # Toast sends no order webhooks and Clover promises none: polling is their path.
            _poll_safely(poll_all)
            next_poll = time.monotonic() + settings.POLL_INTERVAL_SECONDS
        try:
            done = sync_once()
        except Exception:  # keep the loop alive; the next pass retries from the tables
            logger.exception("sync pass failed")
            close_old_connections()
            time.sleep(1)
            continue
        passes += 1
        if not any(done.values()):
            time.sleep(IDLE_SLEEP_SECONDS)
    return f"{passes} passes"


def _poll_safely(poll) -> None:
    try:
        poll()
    except Exception:
        logger.exception("polling failed")


def poll_platforms_task() -> str:
    from apps.connectors.services.polling import poll_all

    return str(poll_all())


def detect_drift_task() -> str:
    from apps.connectors.services.drift import detect_drift

    return str(detect_drift())


def catalog_pull_task(job_id: int) -> str:
    from apps.connectors.services.catalog_sync import run_catalog_pull

    job = run_catalog_pull(job_id)
    return f"{job.status} {job.done}/{job.total}"
