"""Fan-out: each outbox row becomes the deliveries the platforms are owed."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from apps.connectors.enums import DeliveryKind, Platform
from apps.connectors.models import Delivery, PlatformConnection
from apps.connectors.selectors import INJECTED_CHANNELS, INJECTED_TOPICS, active_connections
from apps.core.models import OutboxEvent

ORDER_TOPICS_THAT_MOVE_STOCK = {"order.created", "order.recorded", "order.canceled"}
PLATFORM_BY_SOURCE = {label.lower(): value for value, label in Platform.choices}


def stock_subject(platform: str, location_id: int, variant_id: int) -> str:
    return f"stock:{platform}:{location_id}:{variant_id}"


def inject_subject(platform: str, order_id: int) -> str:
    return f"inject:{platform}:{order_id}"


def stock_push(platform: str, location_id: int, variant_id: int) -> Delivery:
    """A pending push of one item's availability (unsaved)."""
    return Delivery(platform=platform, kind=DeliveryKind.PUSH_STOCK,
                    subject_key=stock_subject(platform, location_id, variant_id),
                    location_id=location_id, variant_id=variant_id, next_attempt_at=timezone.now())


def queue_stock_pushes(*, platform: str, location_id: int, variant_ids) -> None:
    """Push these items now; one already waiting for an item is the same push (it reads
    the newest level when it runs), so the new one coalesces into it."""
    Delivery.objects.bulk_create([stock_push(platform, location_id, v) for v in sorted(set(variant_ids))],
                                 ignore_conflicts=True)


def origin_platform(payload: dict) -> str | None:
    return PLATFORM_BY_SOURCE.get((payload.get("source_name") or "").lower())


def deliveries_for(event: OutboxEvent, connections: list[PlatformConnection]) -> list[Delivery]:
    payload = event.payload
    location_id = payload.get("location_id")
    here = [c for c in connections if c.location_id == location_id]
    now = timezone.now()
    rows = []
    if event.topic == "stock.changed":
        variant_ids = [payload["variant_id"]]
    elif event.topic in ORDER_TOPICS_THAT_MOVE_STOCK:
        variant_ids = payload.get("variant_ids", [])
    else:
        variant_ids = []
    for connection in here:
        if connection.pushes_stock:
            rows += [stock_push(connection.platform, location_id, v) for v in variant_ids]
        if _owes_injection(event, connection):
            rows.append(Delivery(platform=connection.platform, kind=DeliveryKind.INJECT_ORDER,
                                 subject_key=inject_subject(connection.platform, event.aggregate_id),
                                 location_id=location_id, order_id=event.aggregate_id,
                                 next_attempt_at=now))
    return rows


def _owes_injection(event: OutboxEvent, connection: PlatformConnection) -> bool:
    """Web and phone orders go to the POS of their store, unless they came from it
    (`selectors.units_awaiting_injection` reads the same rule in SQL)."""
    if not connection.receives_orders or event.topic not in INJECTED_TOPICS:
        return False
    payload = event.payload
    if payload.get("channel") not in INJECTED_CHANNELS:
        return False
    return origin_platform(payload) != connection.platform


def fan_out_outbox(*, batch_size: int = 500) -> int:
    """Turn undispatched outbox rows into deliveries, exactly once per row. Returns rows done."""
    with transaction.atomic():
        events = list(OutboxEvent.objects.select_for_update(skip_locked=True)
                      .filter(dispatched_at__isnull=True).order_by("id")[:batch_size])
        if not events:
            return 0
        connections = list(active_connections())
        rows = [row for event in events for row in deliveries_for(event, connections)]
        # A pending push for the same (platform, location, variant) already exists: it will
        # read the newest level when it runs, so the new one coalesces into it.
        Delivery.objects.bulk_create(rows, ignore_conflicts=True)
        OutboxEvent.objects.filter(pk__in=[e.pk for e in events]).update(dispatched_at=timezone.now())
    return len(events)
