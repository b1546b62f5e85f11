"""Square orders polled as a backstop for lost webhooks (CONNECTORS.md: webhooks are a
fast path, not the only path). What is found goes through the same idempotent intake."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from apps.connectors.models import InboundEvent, PlatformConnection
from apps.connectors.services.intake import EventEnvelope, store_events
from apps.connectors.square.adapter import PLATFORM, is_from_concord, square_client
from apps.connectors.square.webhooks import POLLED_ORDER_TOPIC, SALE_STATE, square_time

LOOK_BACK = timedelta(days=2)


def poll(link: PlatformConnection) -> int:
    """Store the completed register sales of the last two days not seen yet; returns how many."""
    since = (datetime.now(UTC) - LOOK_BACK).isoformat(timespec="seconds").replace("+00:00", "Z")
    client = square_client()
    stored, cursor = 0, None
    while True:
        page = client.search_orders(location_ids=[link.external_location_id], updated_after=since,
                                    states=[SALE_STATE], cursor=cursor)
        envelopes = [polled_event(order) for order in page.get("orders", []) if not is_from_concord(order)]
        stored += _store_new(envelopes)
        cursor = page.get("cursor")
        if not cursor:
            return stored


def polled_event(order: dict) -> EventEnvelope:
    # One event per order version: a later change (a refund) is seen again, a repeat poll is not.
    return EventEnvelope(event_id=f"order:{order['id']}:{order.get('version', 0)}",
                         topic=POLLED_ORDER_TOPIC, payload=order,
                         occurred_at=square_time(order.get("updated_at")))


def _store_new(envelopes: list[EventEnvelope]) -> int:
    """Every poll sees the same two days again: only events not stored yet are stored, so a
    repeat is not counted as a redelivery."""
    known = set(InboundEvent.objects.filter(platform=PLATFORM, event_id__in=[e.event_id for e in envelopes])
                .values_list("event_id", flat=True))
    new = [e for e in envelopes if e.event_id not in known]
    for envelope in new:
        store_events(platform=PLATFORM, envelopes=[envelope], body=json.dumps(envelope.payload).encode(),
                     headers={}, verified=True)
    return len(new)
