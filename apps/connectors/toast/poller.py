"""Toast register sales in: Toast has no orders webhook in our facts, so each poll reads
`ordersBulk` for the restaurant's business days today and yesterday (its own time zone)
and stores every finished register sale not seen before as an "order" event, which then
flows through the same idempotent intake as a webhook (`webhooks.handle`)."""

from __future__ import annotations

import json
from datetime import timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from apps.connectors.models import InboundEvent, PlatformConnection
from apps.connectors.services.intake import EventEnvelope, store_events
from apps.connectors.toast.adapter import toast_client
from apps.connectors.toast.webhooks import is_register_sale, order_envelope

PLATFORM = "toast"


def business_dates(link: PlatformConnection) -> list[int]:
    """Yesterday and today in the restaurant's time zone, as Toast's yyyyMMdd."""
    today = timezone.now().astimezone(ZoneInfo(link.location.timezone)).date()
    return [int(day.strftime("%Y%m%d")) for day in (today - timedelta(days=1), today)]


def poll(link: PlatformConnection) -> int:
    """Store the register sales Concord has not seen yet; returns how many were stored."""
    client = toast_client(link.external_location_id)
    envelopes = [order_envelope(link.external_location_id, order)
                 for day in business_dates(link)
                 for order in client.iter_orders(business_date=day) if is_register_sale(order)]
    fresh = _not_stored(envelopes)
    for envelope in fresh:
        store_events(platform=PLATFORM, envelopes=[envelope], headers={}, verified=True,
                     body=json.dumps(envelope.payload["order"]).encode())
    return len(fresh)


def _not_stored(envelopes: list[EventEnvelope]) -> list[EventEnvelope]:
    """Leave out what an earlier poll stored, so a redelivery count means a redelivery."""
    known = set(InboundEvent.objects.filter(
        platform=PLATFORM, event_id__in=[e.event_id for e in envelopes]).values_list("event_id", flat=True))
    return [e for e in envelopes if e.event_id not in known]
