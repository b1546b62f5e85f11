"""django-q2 entry points. Each only runs a pass of the engine: the tables are the record,
so a task that runs twice, or is killed, delays work but never loses or repeats it."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import close_old_connections, connection, connections

from apps.connectors.enums import Platform
from apps.connectors.services.delivery import requeue_expired_leases, run_due_deliveries
from apps.connectors.services.intake import pending_event_ids, process_inbound_event
from apps.connectors.services.routing import fan_out_outbox

logger = logging.getLogger(__name__)

SYNC_LOOP_SECONDS = 80  # scheduled every minute: consecutive loops overlap, never leave a gap
IDLE_SLEEP_SECONDS = 0.1
LEASE_CHECK_EVERY_SECONDS = 5


def sync_once(pool: ThreadPoolExecutor | None = None) -> dict:
    """One pass: outbox → deliveries, pending inbound events applied, due deliveries sent.

    With a pool, each platform's part runs in its own thread, so a platform that is slow
    or paced by its rate limit does not hold the others back."""
    fanned = fan_out_outbox()
    if pool is None:
        passes = [_platform_pass(platform) for platform in Platform.values]
    else:
        passes = list(pool.map(_platform_pass, Platform.values))
    return {"outbox": fanned, "inbound": sum(p[0] for p in passes), "deliveries": sum(p[1] for p in passes)}


def _platform_pass(platform: str) -> tuple[int, int]:
    _relax_commit_durability()
    inbound = [process_inbound_event(event_id) for event_id in pending_event_ids(platform=platform)]
    return len(inbound), run_due_deliveries(platform=platform)


def _relax_commit_durability() -> None:
    """The sync worker's own writes do not wait for the disk: everything it writes can be
    derived again from what was committed durably before (stored webhooks, outbox rows,
    recorded push intents replayed under the same key), and a crash only repeats work."""
    connection.ensure_connection()
    raw = connection.connection
    if not getattr(raw, "concord_async_commit", False):
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO off")
        raw.concord_async_commit = True


def sync_loop_task(seconds: float = SYNC_LOOP_SECONDS) -> str:
    from apps.connectors.services.polling import poll_all

    deadline = time.monotonic() + seconds
    threads = len(Platform.values)
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="sync")
    try:
        passes = _loop(pool, deadline, poll_all)
    finally:
        # Every pool thread closes its own database connection before the task ends.
        barrier = threading.Barrier(threads)
        list(pool.map(lambda _: (barrier.wait(timeout=30), connections.close_all()), range(threads)))
        pool.shutdown()
    return f"{passes} passes"


def _loop(pool, deadline: float, poll_all) -> int:
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
            done = sync_once(pool)
        except Exception:  # keep the loop alive; the next pass retries from the tables
            logger.exception("sync pass failed")
            close_old_connections()
            time.sleep(1)
            continue
        passes += 1
        if not any(done.values()):
            time.sleep(IDLE_SLEEP_SECONDS)
    return passes


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
