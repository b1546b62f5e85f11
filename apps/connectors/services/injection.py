"""Sending web and phone orders to the POS of their store."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F

from apps.connectors.http import PlatformError
from apps.connectors.models import Delivery, PlatformConnection, StockSyncState
from apps.connectors.platforms import adapter_for
from apps.connectors.selectors import item_refs, modifier_refs
from apps.connectors.services.outcomes import record_failure, record_success, recount_units_of
from apps.connectors.services.routing import queue_stock_pushes
from apps.orders.enums import OrderStatus
from apps.orders.selectors import get_order, order_document


def order_reference(order: dict) -> str:
    """Our naming authority's id for an order, the same on every attempt."""
    return f"concord:{order['channel']}:{order['id']}"


def send_order(link: PlatformConnection, delivery: Delivery) -> None:
    order = get_order(delivery.order_id)
    if order.status == OrderStatus.CANCELED:
        # Canceled before it was sent (or while its delivery waited in the exception
        # queue): no ticket is made, and its units are no longer on their way.
        with transaction.atomic():
            record_success(delivery, note="canceled in Concord before it was sent: not sent")
            recount_units_of(delivery)
        return
    document = order_document(order)
    variant_ids = [line.variant_id for line in order.lines.all()]
    items = item_refs(platform=link.platform, location_id=link.location_id, variant_ids=variant_ids)
    by_sku = {ref.sku: ref for ref in items.values()}
    missing = sorted({line["sku"] for line in document["lines"]} - set(by_sku))
    if missing:
        record_failure(delivery, PlatformError(
            platform=link.platform, status=None, code="unmapped_sku",
            detail=f"{', '.join(missing)} not mapped at {link.platform}; pull its catalog"))
        return
    modifier_skus = {m["sku"] for line in document["lines"] for m in line["modifiers"]}
    modifiers = modifier_refs(platform=link.platform, location_id=link.location_id, skus=modifier_skus)
    result = adapter_for(link).inject_order(document, reference=order_reference(document), items=by_sku,
                                            modifiers=modifiers, retrying=delivery.attempts > 1)
    with transaction.atomic():
        if result.decrements_stock:
            _count_as_platform_sale(link, order)
        record_success(delivery, external_ref=result.external_id)


def _count_as_platform_sale(link: PlatformConnection, order) -> None:
    """The POS took the units off its own count, as with its own sales: its next push must
    not take them off again, and a push that already did is corrected by the one queued here."""
    variant_ids = set()
    for line in order.lines.all():
        StockSyncState.objects.filter(
            platform=link.platform, location_id=link.location_id, variant_id=line.variant_id,
            pushed_available__isnull=False,
        ).update(pushed_available=F("pushed_available") - line.quantity)
        variant_ids.add(line.variant_id)
    if link.pushes_stock:
        queue_stock_pushes(platform=link.platform, location_id=link.location_id, variant_ids=variant_ids)
