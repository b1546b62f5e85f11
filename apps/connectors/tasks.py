"""django-q2 entry points. Each only runs a pass of the engine: the tables are the record,
so a task that runs twice, or is killed, delays work but never loses or repeats it."""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from django.db import DatabaseError, close_old_connections, connection, connections
from django.utils import timezone

from apps.connectors.enums import Platform
from apps.connectors.services.delivery import requeue_expired_leases, run_due_deliveries
from apps.connectors.services.intake import pending_event_ids, process_inbound_event
from apps.connectors.services.routing import fan_out_outbox

logger = logging.getLogger(__name__)

SYNC_LOOP_SECONDS = 80  # scheduled every minute: consecutive loops overlap, never leave a gap
IDLE_SLEEP_SECONDS = 0.1
LEASE_CHECK_EVERY_SECONDS = 5
POLL_TICK_SECONDS = 0.5


def sync_once() -> dict:
    """One pass, in this thread: outbox → deliveries, pending inbound events applied, due
    deliveries sent (tests and `manage.py sync` use it; the scheduled loop runs the same
    steps with a thread per platform)."""
    fanned = fan_out_outbox()
    passes = [_platform_pass(platform) for platform in Platform.values]
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


SYNC_LOOP_TASK = f"{__name__}.sync_loop_task"


def start_sync_loop_now(**_) -> None:
    """A django-q2 worker has just started (`post_spawn`): run the sync loop now, or a
    start or restart leaves up to a minute and a half with nothing synced (the cluster
    reads its schedules every 30 s, the loop's is every minute). The first worker of a
    start claims it by moving the schedule a minute on; the others find it moved."""
    from django_q.models import Schedule
    from django_q.tasks import async_task

    now = timezone.now()
    try:
        claimed = Schedule.objects.filter(func=SYNC_LOOP_TASK, next_run__lt=now + timedelta(seconds=55)) \
            .update(next_run=now + timedelta(seconds=60))
        if claimed:
            async_task(SYNC_LOOP_TASK)
    except DatabaseError:
        logger.exception("could not start the sync loop")


def sync_loop_task(seconds: float = SYNC_LOOP_SECONDS) -> str:
    """What the scheduled task runs: each platform in a loop of its own thread (a platform
    paced by its rate limit never holds another back), a thread polling the POS systems
    (a slow poll never holds the outbox back), and this thread fanning the outbox out and
    sending again what a dead worker left leased."""
    deadline = time.monotonic() + seconds
    passes = dict.fromkeys(Platform.values, 0)
    threads = [threading.Thread(target=_platform_loop, args=(platform, deadline, passes),
                                name=f"sync-{platform}", daemon=True) for platform in Platform.values]
    threads.append(threading.Thread(target=_poll_loop, args=(deadline,), name="sync-poll", daemon=True))
    for thread in threads:
        thread.start()
    try:
        _coordinator_loop(deadline)
    finally:
        for thread in threads:
            thread.join(timeout=SYNC_LOOP_SECONDS)
    return ", ".join(f"{platform} {count} passes" for platform, count in passes.items())


def _platform_loop(platform: str, deadline: float, passes: dict) -> None:
    try:
        while time.monotonic() < deadline:
            try:
                inbound, sent = _platform_pass(platform)
            except Exception:  # keep the loop alive; the next pass retries from the tables
                logger.exception("sync pass for %s failed", platform)
                close_old_connections()
                time.sleep(1)
                continue
            passes[platform] += 1
            if not inbound and not sent:
                time.sleep(IDLE_SLEEP_SECONDS)
    finally:
        connections.close_all()


def _poll_loop(deadline: float) -> None:
    """Toast sends no order webhooks and Clover promises none: polling is their path.
    Each connection's own interval decides, across all workers (`poll_all`)."""
    from apps.connectors.services.polling import poll_all

    try:
        while time.monotonic() < deadline:
            try:
                poll_all(due_only=True)
            except Exception:
                logger.exception("polling failed")
                close_old_connections()
            time.sleep(POLL_TICK_SECONDS)
    finally:
        connections.close_all()


def _coordinator_loop(deadline: float) -> None:
    next_lease_check = 0.0
    while time.monotonic() < deadline:
        if time.monotonic() >= next_lease_check:
            requeue_expired_leases()
            next_lease_check = time.monotonic() + LEASE_CHECK_EVERY_SECONDS
        try:
            fanned = fan_out_outbox()
        except Exception:
            logger.exception("outbox fan-out failed")
            close_old_connections()
            time.sleep(1)
            continue
        if not fanned:
            time.sleep(IDLE_SLEEP_SECONDS / 2)


def poll_platforms_task() -> str:
    from apps.connectors.services.polling import poll_all

    return str(poll_all(due_only=True))


def read_money_task() -> str:
    """Each connected location's payments, refunds and payouts, read into finance."""
    from apps.connectors.services.money import read_all_money

    return str(read_all_money())


def detect_drift_task() -> str:
    from apps.connectors.services.drift import detect_drift

    return str(detect_drift())


def catalog_pull_task(job_id: int) -> str:
    from apps.connectors.services.catalog_sync import run_catalog_pull

    job = run_catalog_pull(job_id)
    return f"{job.status} {job.done}/{job.total}"


def stock_resync_task(job_id: int) -> str:
    from apps.connectors.services.stock_resync import run_stock_resync

    job = run_stock_resync(job_id)
    return f"{job.status} {job.done}/{job.total}"
