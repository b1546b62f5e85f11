"""Toast register sales in: Toast has no orders webhook in our facts, so each poll reads
`ordersBulk` for the orders modified since the last poll (`startDate`/`endDate` select by
the order's modification time, creation included) and stores every finished register sale
not seen before (and every void, and each of Concord's own orders the restaurant closed
or voided) as an "order" event, which then flows through the same idempotent intake
as a webhook (`webhooks.handle`).

Where to start is the later of a high-water mark in Toast's own clock (the newest
`modifiedDate` seen) and how far the last complete read reached (our clock, less a margin
for skew), less an overlap for late writes; until there is either, yesterday's and
today's business days are read. Orders seen again in the overlap are not stored twice."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from apps.connectors.models import InboundEvent, PlatformConnection
from apps.connectors.pos_common import merge_connection_settings
from apps.connectors.services.intake import EventEnvelope, store_events
from apps.connectors.toast.adapter import toast_client
from apps.connectors.toast.client import ToastClient
from apps.connectors.toast.webhooks import is_finished, order_envelope, toast_time

PLATFORM = "toast"
WATERMARK_SETTING = "orders_polled_to"  # the newest modifiedDate seen, as Toast wrote it
# Late writes: polling is Toast's only path for sales, every few seconds, and each poll
# re-reads every order in the overlap (at 7 orders/s, 30 s is two pages of 100).
OVERLAP = timedelta(seconds=30)
# Toast compares endDate with its own clock: a little past ours costs nothing, and what
# lies beyond it is read next time, since the start follows the watermark, not endDate.
END_MARGIN = timedelta(minutes=5)
# [unverified] Toast documents a one-hour maximum startDate/endDate range for /orders;
# whether ordersBulk has one is not known, so a longer catch-up walks one-hour windows.
MAX_WINDOW = timedelta(hours=1)
# A quiet restaurant gives no order to move the watermark, and each poll would walk every
# hour since its last order again. So a complete read also records how far it reached,
# in our clock less a margin for Toast's clock lagging ours: the next read starts there.
SCANNED_SETTING = "orders_scanned_to"
CLOCK_MARGIN = timedelta(minutes=10)


def poll(link: PlatformConnection) -> int:
    """Store the register sales Concord has not seen yet; returns how many were stored."""
    client = toast_client(link.external_location_id)
    watermark = toast_time((link.settings or {}).get(WATERMARK_SETTING))
    read_from = max(filter(None, [watermark, _scanned_to(link)]), default=None)
    started_at = timezone.now()
    orders = _orders_to_read(client, link, read_from)
    fresh = _not_stored([order_envelope(link.external_location_id, order)
                         for order in orders if is_finished(order)])
    for envelope in fresh:
        store_events(platform=PLATFORM, envelopes=[envelope], headers={}, verified=True,
                     body=json.dumps(envelope.payload["order"]).encode())
    _advance_watermark(link, watermark, orders)
    merge_connection_settings(link, {SCANNED_SETTING: (started_at - CLOCK_MARGIN).isoformat()})
    return len(fresh)


def _scanned_to(link: PlatformConnection) -> datetime | None:
    value = (link.settings or {}).get(SCANNED_SETTING)
    return datetime.fromisoformat(value) if value else None


def business_dates(link: PlatformConnection) -> list[int]:
    """Yesterday and today in the restaurant's time zone, as Toast's yyyyMMdd."""
    today = timezone.now().astimezone(ZoneInfo(link.location.timezone)).date()
    return [int(day.strftime("%Y%m%d")) for day in (today - timedelta(days=1), today)]


def _orders_to_read(client: ToastClient, link: PlatformConnection, read_from: datetime | None) -> list[dict]:
    if read_from is None:
        # No mark yet: yesterday's and today's business days, a read of two days' pages
        # rather than a walk of up to 48 one-hour windows, which a restaurant with no
        # orders yet would repeat on every poll.
        return [order for day in business_dates(link) for order in client.iter_orders(business_date=day)]
    return list(_orders_modified(client, start=read_from - OVERLAP, end=timezone.now() + END_MARGIN))


def _orders_modified(client: ToastClient, *, start: datetime, end: datetime) -> Iterator[dict]:
    while start < end:
        window_end = min(start + MAX_WINDOW, end)
        yield from client.iter_orders(start=start, end=window_end)
        start = window_end


def _advance_watermark(link: PlatformConnection, watermark: datetime | None, orders: list[dict]) -> None:
    """Move the mark to the newest modifiedDate read (every order, not only the sales
    stored), and only forward: Toast's own clock, so the local one's skew never matters."""
    stamps = [order["modifiedDate"] for order in orders if order.get("modifiedDate")]
    if not stamps:
        return
    newest = max(stamps, key=toast_time)
    if watermark is None or toast_time(newest) > watermark:
        merge_connection_settings(link, {WATERMARK_SETTING: newest})


def _not_stored(envelopes: list[EventEnvelope]) -> list[EventEnvelope]:
    """Leave out what an earlier poll stored, so a redelivery count means a redelivery, and
    an order read twice in one poll (it sat on a window's edge) is stored once."""
    unique = {e.event_id: e for e in envelopes}
    known = set(InboundEvent.objects.filter(
        platform=PLATFORM, event_id__in=list(unique)).values_list("event_id", flat=True))
    return [e for event_id, e in unique.items() if event_id not in known]
