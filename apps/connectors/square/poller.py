"""Square orders polled as a backstop for lost webhooks (CONNECTORS.md: webhooks are a
fast path, not the only path). What is found goes through the same idempotent intake.

Each poll reads only the orders updated since the last one: a high-water mark in Square's
own clock (the newest `updated_at` seen), less an overlap for late writes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from apps.connectors.models import InboundEvent, PlatformConnection
from apps.connectors.pos_common import merge_connection_settings
from apps.connectors.services.intake import EventEnvelope, store_events
from apps.connectors.square.adapter import PLATFORM, square_client
from apps.connectors.square.client import SquareClient
from apps.connectors.square.webhooks import FINAL_STATES, POLLED_ORDER_TOPIC, square_time

WATERMARK_SETTING = "orders_polled_to"  # the newest updated_at seen, as Square wrote it
FIRST_LOOK_BACK = timedelta(days=2)
OVERLAP = timedelta(seconds=60)


def poll(link: PlatformConnection) -> int:
    """Store the finished orders (completed register sales, and Concord's own orders the
    register completed or canceled) updated since the last poll and not seen yet; returns
    how many."""
    watermark = square_time((link.settings or {}).get(WATERMARK_SETTING))
    since = watermark - OVERLAP if watermark else datetime.now(UTC) - FIRST_LOOK_BACK
    stored, stamps = 0, []
    for page in _pages_updated_since(square_client(), link.external_location_id, since):
        stored += _store_new([polled_event(order) for order in page])
        stamps += [order["updated_at"] for order in page if order.get("updated_at")]
    _advance_watermark(link, watermark, stamps)
    return stored


def _pages_updated_since(client: SquareClient, location_id: str, since: datetime) -> Iterator[list[dict]]:
    updated_after = since.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    cursor = None
    while True:
        page = client.search_orders(location_ids=[location_id], updated_after=updated_after,
                                    states=list(FINAL_STATES), cursor=cursor)
        yield page.get("orders", [])
        cursor = page.get("cursor")
        if not cursor:
            return


def _advance_watermark(link: PlatformConnection, watermark: datetime | None, stamps: list[str]) -> None:
    """Move the mark to the newest updated_at read (Concord's own orders too), and only
    forward: Square's own clock, so the local one's skew never matters. Compared as
    instants, since RFC 3339 texts differ in their fractions."""
    if not stamps:
        return
    newest = max(stamps, key=square_time)
    if watermark is None or square_time(newest) > watermark:
        merge_connection_settings(link, {WATERMARK_SETTING: newest})


def polled_event(order: dict) -> EventEnvelope:
    # One event per order version: a later change (a refund) is seen again, a repeat poll is not.
    return EventEnvelope(event_id=f"order:{order['id']}:{order.get('version', 0)}",
                         topic=POLLED_ORDER_TOPIC, payload=order,
                         occurred_at=square_time(order.get("updated_at")))


def _store_new(envelopes: list[EventEnvelope]) -> int:
    """Orders in the overlap are read again: only events not stored yet are stored, so a
    repeat is not counted as a redelivery."""
    known = set(InboundEvent.objects.filter(platform=PLATFORM, event_id__in=[e.event_id for e in envelopes])
                .values_list("event_id", flat=True))
    new = [e for e in envelopes if e.event_id not in known]
    for envelope in new:
        store_events(platform=PLATFORM, envelopes=[envelope], body=json.dumps(envelope.payload).encode(),
                     headers={}, verified=True)
    return len(new)
