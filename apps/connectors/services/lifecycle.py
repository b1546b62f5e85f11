"""An order's life after it reaches a platform.

Inbound: a POS closing the ticket of an order Concord sent fulfils it; a void there (or a
Shopify cancellation) cancels it and releases its stock; a register sale voided after
the fact puts its units back (`orders.services.platform_states`). Each platform's webhook
or poller module finds the order (by the reference Concord put on it, or the platform's
id of a sale it reported) and calls `order_closed_at` / `order_voided_at`.

Outbound: an order canceled in Concord has its ticket voided at the POS it was sent to
(`send_void`, a delivery like any other: idempotent, retried), or, where the POS's API
cannot void it, a `manual_void_required` exception tells staff what to do there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction

from apps.connectors.enums import DeliveryKind, DeliveryStatus, Platform
from apps.connectors.http import PlatformError
from apps.connectors.models import Delivery, PlatformConnection
from apps.connectors.platforms import adapter_for, connector_platform
from apps.connectors.services.outcomes import record_failure, record_success
from apps.connectors.services.routing import queue_stock_pushes
from apps.connectors.services.stock_sync import count_platform_restock
from apps.core.enums import ExceptionKind
from apps.core.services import open_exception
from apps.orders.selectors import find_external_order, get_order
from apps.orders.services.platform_states import cancel_order_at_platform, fulfill_order_at_platform

if TYPE_CHECKING:
    from apps.orders.models import Order

REFERENCE_PREFIX = "concord"


# ---------------------------------------------------------------- finding the order


def order_id_of_reference(reference: str | None) -> int | None:
    """Our order id in a reference `concord:<channel>:<order id>[:...]` (derived ids of a
    check or a line keep the prefix), or None for anything else."""
    parts = (reference or "").split(":")
    if len(parts) < 3 or parts[0] != REFERENCE_PREFIX or not parts[2].isdigit():
        return None
    return int(parts[2])


def order_id_of_ticket(platform: str, external_id: str) -> int | None:
    """The order Concord sent to the platform as `external_id` (its id there)."""
    return Delivery.objects.filter(platform=platform, kind=DeliveryKind.INJECT_ORDER,
                                   external_ref=external_id).values_list("order_id", flat=True).first()


def order_id_of_sale(platform: str, *, channel: str, external_id: str) -> int | None:
    """A sale the platform made and Concord recorded under the platform's own id."""
    order = find_external_order(channel=channel, source_name=Platform(platform).label,
                                external_id=str(external_id))
    return order.pk if order else None


# ---------------------------------------------------------------- inbound


def order_closed_at(*, platform: str, order_id: int) -> str:
    """The platform finished the order (a ticket closed, a fulfilment): fulfilled once."""
    return fulfill_order_at_platform(order_id=order_id, platform=Platform(platform).label)


def order_voided_at(*, platform: str, link: PlatformConnection, order_id: int) -> str:
    """The platform voided (or canceled) the order. Where voiding gives the units back to
    the platform's own count, Concord's view of that count rises with it, in the same
    transaction, so the next push does not add them a second time."""
    with transaction.atomic():
        outcome = cancel_order_at_platform(order_id=order_id, platform=Platform(platform).label)
        if not outcome.startswith("already") and _restocks_on_void(platform):
            _count_restock(platform, link.location_id, get_order(order_id))
    return outcome


def _restocks_on_void(platform: str) -> bool:
    return connector_platform(platform).adapter.restocks_on_void


def _count_restock(platform: str, location_id: int, order: Order) -> None:
    for line in order.lines.all():
        count_platform_restock(platform=platform, location_id=location_id, variant_id=line.variant_id,
                               quantity=line.quantity)


# ---------------------------------------------------------------- outbound


def send_void(link: PlatformConnection, delivery: Delivery) -> None:
    """Void the ticket of a canceled order at the POS it was sent to, if it got there."""
    injected = Delivery.objects.filter(platform=link.platform, kind=DeliveryKind.INJECT_ORDER,
                                       order_id=delivery.order_id).order_by("-id").first()
    if injected is not None and injected.status in (DeliveryStatus.PENDING, DeliveryStatus.IN_FLIGHT):
        # It may be landing right now: once it has, or has stopped as canceled, the retry knows.
        record_failure(delivery, PlatformError(
            platform=link.platform, status=None, code="order_on_its_way", retryable=True,
            detail="the order is still being sent to the POS; the void waits for it"))
        return
    if injected is None or not injected.external_ref:
        record_success(delivery, note="the order never reached the POS: nothing to void")
        return
    order = get_order(delivery.order_id)
    adapter = adapter_for(link)
    reference = f"{REFERENCE_PREFIX}:{order.channel}:{order.pk}"
    result = adapter.void_order(injected.external_ref, reference=reference)
    with transaction.atomic():
        if not result.voided:
            _open_manual_void(link, order, injected.external_ref, result.manual, delivery)
        elif not result.already and adapter.restocks_on_void:
            _count_restock(link.platform, link.location_id, order)
            if link.pushes_stock:
                queue_stock_pushes(platform=link.platform, location_id=link.location_id,
                                   variant_ids={line.variant_id for line in order.lines.all()})
        note = "voided" if result.voided else "left for staff (manual_void_required)"
        record_success(delivery, external_ref=injected.external_ref,
                       note=f"{note}{' before' if result.already else ''}")


def _open_manual_void(link: PlatformConnection, order: Order, ticket: str, what_to_do: str,
                      delivery: Delivery) -> None:
    label = Platform(link.platform).label
    open_exception(
        kind=ExceptionKind.MANUAL_VOID_REQUIRED,
        title=f"Void {label} ticket {ticket} at {order.location.code}: order #{order.pk} was canceled",
        detail=f"{what_to_do} Then resolve this exception.",
        platform=link.platform, location_code=order.location.code,
        dedupe_key=f"manual-void:{link.platform}:{order.pk}",
        data={"order_id": order.pk, "ticket": ticket, "delivery_id": delivery.pk},
    )
