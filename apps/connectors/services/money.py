"""Finance's money readers: each connected location's payments, refunds and payouts, read
from its platform (the platform's `money` part) into apps.reports. Every reader records by
upsert on the platform's ids, so a read that runs twice, or overlaps another, repeats no
money; a failed read is retried whole by the next one."""

from __future__ import annotations

import logging

from apps.connectors.http import PlatformError
from apps.connectors.platforms import connector_platform
from apps.connectors.selectors import active_connections

logger = logging.getLogger(__name__)


def read_all_money(*, platform: str | None = None) -> dict:
    """Read every connected location (of `platform`, or all); returns what each recorded,
    or its error."""
    found = {}
    for link in active_connections():
        if platform and link.platform != platform:
            continue
        reader = connector_platform(link.platform).money
        if reader is None:
            continue
        key = f"{link.platform}:{link.location.code}"
        try:
            found[key] = reader(link)
        except PlatformError as error:
            logger.warning("reading money of %s failed: %s", key, error)
            found[key] = f"error: {error}"
    return found
