"""Helpers for the end-to-end connector tests: the emulator control API, a phone order
body, and running Concord's sync passes until nothing is left to do."""

from __future__ import annotations

import requests
from django.utils import timezone

from apps.connectors.enums import DeliveryStatus, InboundStatus
from apps.connectors.models import Delivery, InboundEvent
from apps.connectors.platforms import adapter_for
from apps.connectors.selectors import item_refs, modifier_refs
from apps.connectors.services.injection import order_reference
from apps.connectors.tasks import sync_once
from apps.orders.selectors import get_order, order_document

CUSTOMER = {"name": "Ana Ruiz", "phone": "+15105550123", "email": "ana@example.com"}


def control(emulator, method: str, action: str, body: dict | None = None) -> dict:
    answer = requests.request(method, f"{emulator.url}/__emulator/{action}", json=body, timeout=10)
    answer.raise_for_status()
    return answer.json()


def phone_order(sku: str = "BURRITO", quantity: int = 2, *, modifiers=(("EXTRA-GUAC", 1),),
                location: str = "BKN", fulfillment: str = "pickup") -> dict:
    return {"location": location, "fulfillment": {"type": fulfillment}, "customer": dict(CUSTOMER),
            "lines": [{"sku": sku, "quantity": quantity,
                       "modifiers": [{"sku": s, "quantity": q} for s, q in modifiers]}]}


def _busy() -> bool:
    return (Delivery.objects.filter(status__in=[DeliveryStatus.PENDING, DeliveryStatus.IN_FLIGHT]).exists()
            or InboundEvent.objects.filter(status=InboundStatus.PENDING).exists())


def drain(emulator, *, rounds: int = 15, quiet: bool = True) -> None:
    """Run sync passes (waiting out backoff) and let the emulator's webhooks land between
    them, until no delivery or inbound event is left, or `rounds` passes when `quiet` is
    False (a test that expects work to stay pending)."""
    for _ in range(rounds):
        emulator.flush_webhooks()
        Delivery.objects.filter(status=DeliveryStatus.PENDING).update(next_attempt_at=timezone.now())
        sync_once()
        emulator.flush_webhooks()
        if quiet and not _busy():
            return
    if quiet:
        deliveries = Delivery.objects.exclude(status="done").values("kind", "status", "last_error")
        events = InboundEvent.objects.filter(status="pending").values("topic", "last_error")
        raise AssertionError(f"still busy after {rounds} passes: {list(deliveries)} {list(events)}")


def send_order_again(link, delivery):
    """Call the adapter for an order it already sent, as the engine's retry would."""
    document = order_document(get_order(delivery.order_id))
    variant_ids = [line.variant_id for line in get_order(delivery.order_id).lines.all()]
    items = {ref.sku: ref for ref in item_refs(platform=link.platform, location_id=link.location_id,
                                               variant_ids=variant_ids).values()}
    modifiers = modifier_refs(platform=link.platform, location_id=link.location_id,
                              skus={m["sku"] for line in document["lines"] for m in line["modifiers"]})
    return adapter_for(link).inject_order(document, reference=order_reference(document), items=items,
                                          modifiers=modifiers)
