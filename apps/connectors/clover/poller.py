"""Clover's backstop: Clover promises nothing about webhook delivery, so each poll reads
the orders modified since the last poll (`modifiedTime>=`, with an overlap for clocks and
late writes) and stores each paid register sale (and each of Concord's own orders paid at
the device) not seen before as an event for the same
idempotent intake as a webhook (`webhooks.handle`)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

from apps.connectors.clover.adapter import clover_client
from apps.connectors.clover.client import CloverClient
from apps.connectors.clover.webhooks import is_from_concord, is_paid, is_register_sale, order_envelope
from apps.connectors.models import InboundEvent, PlatformConnection
from apps.connectors.pos_common import merge_connection_settings
from apps.connectors.services.intake import EventEnvelope, store_events

PLATFORM = "clover"
WATERMARK_SETTING = "orders_polled_to_ms"
FIRST_LOOKBACK_MS = 2 * 24 * 3600 * 1000
OVERLAP_MS = 60 * 1000  # late writes; a wider overlap re-reads every order in it, each poll
PAGE_SIZE = 100


def poll(link: PlatformConnection) -> int:
    """Store the register sales Concord has not seen yet; returns how many were stored."""
    client = clover_client(link.external_location_id)
    watermark = (link.settings or {}).get(WATERMARK_SETTING) or int(time.time() * 1000) - FIRST_LOOKBACK_MS
    orders = list(_orders_since(client, watermark - OVERLAP_MS))
    fresh = _not_stored([order_envelope(link, order) for order in orders
                         if is_register_sale(order) or (is_from_concord(order) and is_paid(order))])
    for envelope in fresh:
        store_events(platform=PLATFORM, envelopes=[envelope], headers={}, verified=True,
                     body=json.dumps(envelope.payload["order"]).encode())
    newest = max((order.get("modifiedTime") or 0 for order in orders), default=0)
    if newest > watermark:  # Clover's own clock, so the local one's skew never matters
        merge_connection_settings(link, {WATERMARK_SETTING: newest})
    return len(fresh)


def _orders_since(client: CloverClient, modified_since: int) -> Iterator[dict]:
    offset = 0
    while True:
        page = client.list_orders(modified_since=modified_since, limit=PAGE_SIZE, offset=offset)
        yield from page
        if len(page) < PAGE_SIZE:
            return
        offset += PAGE_SIZE


def _not_stored(envelopes: list[EventEnvelope]) -> list[EventEnvelope]:
    known = set(InboundEvent.objects.filter(
        platform=PLATFORM, event_id__in=[e.event_id for e in envelopes]).values_list("event_id", flat=True))
    return [e for e in envelopes if e.event_id not in known]
