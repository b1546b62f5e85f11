"""Drift detection: compare what each platform shows with what Concord means it to show.

Small differences (at most DRIFT_AUTO_FIX_UNITS) are repaired by re-pushing from the
platform's actual count; larger ones become `stock_drift` exceptions ranked by units and
value, for a person to look at.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from django.conf import settings

from apps.connectors.adapters import PlatformCount
from apps.connectors.enums import DeliveryKind, DeliveryStatus
from apps.connectors.http import PlatformError
from apps.connectors.models import Delivery, PlatformConnection, StockSyncState
from apps.connectors.platforms import adapter_for
from apps.connectors.selectors import (
    active_connections,
    buffer_units,
    item_refs,
    push_target,
    units_awaiting_injection,
)
from apps.connectors.services.routing import queue_stock_pushes
from apps.connectors.services.stock_sync import rebase_on_platform_count
from apps.core.enums import ExceptionKind
from apps.core.services import open_exception, resolve_exceptions
from apps.inventory.selectors import levels_by_variant

if TYPE_CHECKING:
    from apps.inventory.models import StockLevel

READ_BATCH = 250


def drift_key(platform: str, location_id: int, variant_id: int) -> str:
    return f"drift:{platform}:{location_id}:{variant_id}"


def detect_drift() -> dict:
    report = {}
    links = active_connections().filter(pushes_stock=True)
    for link in links:
        try:
            report[f"{link.platform}:{link.location.code}"] = detect_drift_at(link)
        except PlatformError as error:
            report[f"{link.platform}:{link.location.code}"] = f"error: {error}"
    return report


def detect_drift_at(link: PlatformConnection) -> dict:
    levels = levels_by_variant(location_id=link.location_id, with_variant=True)
    refs = item_refs(platform=link.platform, location_id=link.location_id, variant_ids=list(levels))
    busy = set(Delivery.objects.filter(
        platform=link.platform, location_id=link.location_id, kind=DeliveryKind.PUSH_STOCK,
        status__in=[DeliveryStatus.PENDING, DeliveryStatus.IN_FLIGHT]).values_list("variant_id", flat=True))
    # An order on its way to the POS is on neither side's count in the same way yet.
    busy |= set(units_awaiting_injection(link=link))
    busy |= set(StockSyncState.objects.filter(
        platform=link.platform, location_id=link.location_id, pending_delta__isnull=False,
    ).values_list("variant_id", flat=True))
    buffer = buffer_units(platform=link.platform, location_id=link.location_id)
    adapter = adapter_for(link)
    items = [ref for variant_id, ref in refs.items() if variant_id not in busy]
    suspects = _differing(adapter, items, levels, buffer)
    if suspects:
        # A sale the platform made a moment ago may not have reached Concord yet: only a
        # difference that is still there a little later is drift.
        time.sleep(settings.DRIFT_CONFIRM_SECONDS)
        levels = levels_by_variant(location_id=link.location_id, variant_ids=list(suspects),
                                   with_variant=True)
        suspects = _differing(adapter, [ref for ref, _ in suspects.values()], levels, buffer)
    fixed = flagged = 0
    for variant_id, (_, quantity) in suspects.items():
        level = levels[variant_id]
        outcome = _judge(link, level, quantity, push_target(level, buffer))
        fixed += outcome == "fixed"
        flagged += outcome == "flagged"
    _resolve_in_step(link, [ref for ref in items if ref.variant_id not in suspects])
    return {"checked": len(items), "fixed": fixed, "flagged": flagged}


def _differing(adapter, items, levels, buffer) -> dict:
    """variant id -> (item, platform count) where the count differs from Concord's target."""
    differing = {}
    for start in range(0, len(items), READ_BATCH):
        batch = items[start:start + READ_BATCH]
        counts = adapter.read_stock(batch)
        for ref in batch:
            count = counts.get(ref.variant_id, PlatformCount(quantity=None))
            if count.quantity is not None and count.quantity != push_target(levels[ref.variant_id], buffer):
                differing[ref.variant_id] = (ref, count.quantity)
    return differing


def _resolve_in_step(link: PlatformConnection, refs) -> None:
    resolve_exceptions(dedupe_keys=[drift_key(link.platform, link.location_id, ref.variant_id)
                                    for ref in refs], reason="platform back in step")


def _judge(link: PlatformConnection, level: StockLevel, quantity: int, target: int) -> str:
    difference = quantity - target
    key = drift_key(link.platform, link.location_id, level.variant_id)
    if abs(difference) <= settings.DRIFT_AUTO_FIX_UNITS:
        rebase_on_platform_count(platform=link.platform, location_id=link.location_id,
                                 variant_id=level.variant_id, quantity=quantity)
        queue_stock_pushes(platform=link.platform, location_id=link.location_id,
                           variant_ids=[level.variant_id])
        return "fixed"
    units = abs(difference)
    open_exception(
        kind=ExceptionKind.STOCK_DRIFT,
        title=f"{link.get_platform_display()} shows {quantity} × {level.variant.sku} at "
              f"{link.location.code}; Concord means {target}",
        detail=f"Off by {difference:+d} units, more than the automatic repair threshold "
               f"({settings.DRIFT_AUTO_FIX_UNITS}).",
        platform=link.platform, location_code=link.location.code, dedupe_key=key, units=units,
        value_amount=units * level.variant.price_amount, currency=level.variant.currency,
        data={"variant_id": level.variant_id, "sku": level.variant.sku, "platform_quantity": quantity,
              "target": target},
    )
    return "flagged"
