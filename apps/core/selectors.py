"""Reads of the shared kernel used by more than one caller."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Max, Q
from django.utils import timezone

from apps.core.models import OutboxEvent, SignInFailure, WorkerHeartbeat


def sign_in_refused_for(*, username: str, address: str | None) -> float | None:
    """Seconds until this account and address may try to sign in again, or None. Each
    limit counts the failures of the last window; the refusal ends when the oldest of the
    failures that reached the limit leaves the window."""
    now = timezone.now()
    window = timedelta(seconds=settings.SIGN_IN_WINDOW_SECONDS)
    recent = SignInFailure.objects.filter(failed_at__gt=now - window)
    account = recent.filter(username=SignInFailure.account(username))
    counted = [(account, settings.SIGN_IN_MAX_FAILURES_PER_ACCOUNT)]
    if address:
        counted.append((recent.filter(address=address), settings.SIGN_IN_MAX_FAILURES_PER_ADDRESS))
    waits = []
    for failures, limit in counted:
        times = list(failures.order_by("-failed_at").values_list("failed_at", flat=True)[:limit])
        if len(times) >= limit:
            waits.append((times[-1] + window - now).total_seconds())
    return max(waits) if waits else None


def worker_heartbeats(*, alive_within: float) -> dict:
    """The newest heartbeat's age in seconds (None: no worker ever beat) and how many worker
    processes beat within `alive_within` seconds."""
    now = timezone.now()
    recent = Q(beat_at__gte=now - timedelta(seconds=alive_within))
    found = WorkerHeartbeat.objects.aggregate(newest=Max("beat_at"), alive=Count("id", filter=recent))
    age = None if found["newest"] is None else max(0.0, (now - found["newest"]).total_seconds())
    return {"age_seconds": age, "alive": found["alive"]}


def outbox_wait_seconds() -> float:
    """How long the oldest change not yet relayed has waited (0: none waits)."""
    oldest = OutboxEvent.objects.filter(dispatched_at__isnull=True).order_by("id") \
        .values_list("created_at", flat=True).first()
    return 0.0 if oldest is None else max(0.0, (timezone.now() - oldest).total_seconds())
