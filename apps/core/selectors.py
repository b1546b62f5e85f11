"""Reads of the shared kernel used by more than one caller."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from apps.core.models import SignInFailure


def sign_in_refused_for(*, username: str, address: str | None) -> float | None:
    """Seconds until this account and address may try to sign in again, or None. Each
    limit counts the failures of the last window; the refusal ends when the oldest of the
    failures that reached the limit leaves the window."""
    now = timezone.now()
    window = timedelta(seconds=settings.SIGN_IN_WINDOW_SECONDS)
    recent = SignInFailure.objects.filter(failed_at__gt=now - window)
    counted = [(recent.filter(username=username.lower()), settings.SIGN_IN_MAX_FAILURES_PER_ACCOUNT)]
    if address:
        counted.append((recent.filter(address=address), settings.SIGN_IN_MAX_FAILURES_PER_ADDRESS))
    waits = []
    for failures, limit in counted:
        times = list(failures.order_by("-failed_at").values_list("failed_at", flat=True)[:limit])
        if len(times) >= limit:
            waits.append((times[-1] + window - now).total_seconds())
    return max(waits) if waits else None
