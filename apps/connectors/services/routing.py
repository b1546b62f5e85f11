"""Fan-out: each outbox row becomes the deliveries the platforms are owed."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from apps.connectors.enums import DeliveryKind
from apps.connectors.injection_rule import owes_injection, owes_void
from apps.connectors.locks import claim_undispatched_outbox
from apps.connectors.models import Delivery, PlatformConnection
from apps.connectors.selectors import active_connections
from apps.core import topics
from apps.core.models import OutboxEvent
from apps.orders.models import Order

ORDER_TOPICS_THAT_MOVE_STOCK = {topics.ORDER_CREATED, topics.ORDER_RECORDED, topics.ORDER_CANCELED}


def stock_subject(platform: str, location_id: int, variant_id: int) -> str:
    return f"stock:{platform}:{location_id}:{variant_id}"


def inject_subject(platform: str, order_id: int) -> str:
    return f"inject:{platform}:{order_id}"


def void_subject(platform: str, order_id: int) -> str:
    return f"void:{platform}:{order_id}"


def refund_subject(platform: str, part_id: int) -> str:
    return f"refund:{platform}:{part_id}"


def part_id_of_refund_subject(subject_key: str) -> int:
    return int(subject_key.rsplit(":", 1)[1])


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


def deliveries_for(event: OutboxEvent, connections: list[PlatformConnection]) -> list[Delivery]:
    payload = event.payload
    if event.topic == topics.REFUND_PART_REQUESTED:
        return [refund_delivery(payload, connections)]
    location_id = payload.get("location_id")
    here = [c for c in connections if c.location_id == location_id]
    now = timezone.now()
    rows = []
    if event.topic == topics.STOCK_CHANGED:
        variant_ids = [payload["variant_id"]]
    elif event.topic in ORDER_TOPICS_THAT_MOVE_STOCK:
        variant_ids = payload.get("variant_ids", [])
    else:
        variant_ids = []
    for connection in here:
        if connection.pushes_stock:
            rows += [stock_push(connection.platform, location_id, v) for v in variant_ids]
        if owes_injection(topic=event.topic, payload=payload, link=connection):
            rows.append(Delivery(platform=connection.platform, kind=DeliveryKind.INJECT_ORDER,
                                 subject_key=inject_subject(connection.platform, event.aggregate_id),
                                 location_id=location_id, order_id=event.aggregate_id,
                                 next_attempt_at=now))
        if owes_void(topic=event.topic, payload=payload, link=connection):
            rows.append(Delivery(platform=connection.platform, kind=DeliveryKind.VOID_ORDER,
                                 subject_key=void_subject(connection.platform, event.aggregate_id),
                                 location_id=location_id, order_id=event.aggregate_id,
                                 next_attempt_at=now))
    return rows


def refund_delivery(payload: topics.RefundPartPayload, connections: list[PlatformConnection]) -> Delivery:
    """A card part goes back through the platform that took it: its connection at the
    order's store, or else any of its connections (one Square merchant, one Shopify shop,
    whichever location's link calls it). With none, the delivery fails as not connected."""
    platform = payload["platform"]
    location_id = Order.objects.filter(pk=payload["order_id"]).values_list("location_id", flat=True).first()
    links = sorted((c for c in connections if c.platform == platform),
                   key=lambda c: (c.location_id != location_id, c.pk))
    return Delivery(platform=platform, kind=DeliveryKind.REFUND_PART,
                    subject_key=refund_subject(platform, payload["part_id"]),
                    location_id=links[0].location_id if links else location_id,
                    order_id=payload["order_id"], next_attempt_at=timezone.now())


def fan_out_outbox(*, batch_size: int = 500) -> int:
    """Turn undispatched outbox rows into deliveries, exactly once per row. Returns rows done."""
    with transaction.atomic():
        events = claim_undispatched_outbox(limit=batch_size)
        if not events:
            return 0
        connections = list(active_connections())
        rows = [row for event in events for row in deliveries_for(event, connections)]
        # A pending push for the same (platform, location, variant) already exists: it will
        # read the newest level when it runs, so the new one coalesces into it.
        Delivery.objects.bulk_create(rows, ignore_conflicts=True)
        OutboxEvent.objects.filter(pk__in=[e.pk for e in events]).update(dispatched_at=timezone.now())
    return len(events)
