"""Webhooks are a fast path, not the only path: each POS is polled for recent orders and
what is found goes through the same idempotent intake as a webhook."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from apps.connectors.http import PlatformError
from apps.connectors.models import PlatformConnection
from apps.connectors.platforms import Poller, connector_platform
from apps.connectors.selectors import active_connections

logger = logging.getLogger(__name__)


def poll_all(*, due_only: bool = False) -> dict:
    """Poll every connected POS; with `due_only`, only those whose interval has passed
    since any worker last polled them (several workers share the schedule)."""
    found = {}
    for link in active_connections():
        poller = connector_platform(link.platform).poller
        if poller is None:
            continue  # this platform's webhooks are complete
        if due_only and not _claim_poll(link, poller):
            continue
        try:
            found[f"{link.platform}:{link.location.code}"] = poller.poll(link)
        except PlatformError as error:
            logger.warning("polling %s at %s failed: %s", link.platform, link.location.code, error)
            found[f"{link.platform}:{link.location.code}"] = f"error: {error}"
    return found


def poll_interval_seconds(poller: Poller) -> float:
    """Where webhooks bring the sales, polling only finds what a lost one did not and runs
    on the backstop interval; where polling is their path (Toast), on the short one."""
    return settings.POLL_BACKSTOP_SECONDS if poller.backstop else settings.POLL_INTERVAL_SECONDS


def _claim_poll(link: PlatformConnection, poller: Poller) -> bool:
    now = timezone.now()
    due = now - timedelta(seconds=poll_interval_seconds(poller))
    return bool(PlatformConnection.objects.filter(pk=link.pk).filter(
        Q(polled_at__isnull=True) | Q(polled_at__lte=due)).update(polled_at=now))
