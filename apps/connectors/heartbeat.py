"""Each django-q2 worker process says it is alive every few seconds (a row per process),
so /healthz can tell a dead worker from an idle one."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time

from django.conf import settings
from django.db import DatabaseError, close_old_connections
from django.utils import timezone

from apps.core.services import record_worker_heartbeat

logger = logging.getLogger(__name__)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def start_heartbeat(**_) -> threading.Thread:
    """django-q2's `post_spawn`, in each new worker process: beat from a thread of its own,
    so a long task does not look like a dead worker, and a killed process stops beating."""
    thread = threading.Thread(target=beat_forever, args=(worker_name(),), name="heartbeat", daemon=True)
    thread.start()
    return thread


def beat_forever(worker: str, *, beats: int | None = None) -> None:
    started_at = timezone.now()
    count = 0
    while beats is None or count < beats:
        try:
            record_worker_heartbeat(worker=worker, started_at=started_at)
        except DatabaseError as error:  # Postgres restarting: the next beat tries again
            logger.warning("worker heartbeat failed: %r", error)
            close_old_connections()
        count += 1
        time.sleep(settings.WORKER_HEARTBEAT_SECONDS)
