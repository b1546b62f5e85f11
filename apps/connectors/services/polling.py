"""Webhooks are a fast path, not the only path: each POS is polled for recent orders and
what is found goes through the same idempotent intake as a webhook."""

from __future__ import annotations

import logging
from datetime import timedelta
from importlib import import_module

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from apps.connectors.enums import Platform
from apps.connectors.http import PlatformError
from apps.connectors.models import PlatformConnection
from apps.connectors.selectors import active_connections

logger = logging.getLogger(__name__)

# Their webhooks bring the sales: polling only finds what a lost webhook did not. Toast
# sends no order webhooks in our facts, so polling is its path and runs more often.
WEBHOOKS_BRING_SALES = {Platform.SQUARE, Platform.CLOVER}


def poll_all(*, due_only: bool = False) -> dict:
    """Poll every connected POS; with `due_only`, only those whose interval has passed
    since any worker last polled them (several workers share the schedule)."""
    found = {}
    for link in active_connections():
        try:
            module = import_module(f"apps.connectors.{link.platform}.poller")
        except ModuleNotFoundError:
            continue  # this platform's webhooks are complete (Shopify retries for hours)
        if due_only and not _claim_poll(link):
            continue
        try:
            found[f"{link.platform}:{link.location.code}"] = module.poll(link)
        except PlatformError as error:
            logger.warning("polling %s at %s failed: %s", link.platform, link.location.code, error)
            found[f"{link.platform}:{link.location.code}"] = f"error: {error}"
    return found


def poll_interval_seconds(platform: str) -> float:
    if platform in WEBHOOKS_BRING_SALES:
        return settings.POLL_BACKSTOP_SECONDS
    return settings.POLL_INTERVAL_SECONDS


def _claim_poll(link: PlatformConnection) -> bool:
    now = timezone.now()
    due = now - timedelta(seconds=poll_interval_seconds(link.platform))
    return bool(PlatformConnection.objects.filter(pk=link.pk).filter(
        Q(polled_at__isnull=True) | Q(polled_at__lte=due)).update(polled_at=now))
