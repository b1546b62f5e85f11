"""Webhooks are a fast path, not the only path: each POS is polled for recent orders and
what is found goes through the same idempotent intake as a webhook."""

from __future__ import annotations

import logging
from importlib import import_module

from apps.connectors.http import PlatformError
from apps.connectors.selectors import active_connections

logger = logging.getLogger(__name__)


def poll_all() -> dict:
    found = {}
    for link in active_connections():
        try:
            module = import_module(f"apps.connectors.{link.platform}.poller")
        except ModuleNotFoundError:
            continue  # this platform's webhooks are complete (Shopify retries for hours)
        try:
            found[f"{link.platform}:{link.location.code}"] = module.poll(link)
        except PlatformError as error:
            logger.warning("polling %s at %s failed: %s", link.platform, link.location.code, error)
            found[f"{link.platform}:{link.location.code}"] = f"error: {error}"
    return found
