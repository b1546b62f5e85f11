"""Reads of stock used by more than one caller."""

from __future__ import annotations

from django.db import connection

from apps.core.cache import ttl_memo
from apps.core.errors import ValidationFailed
from apps.inventory.models import AVAILABLE, Location, StockLevel, StockMovement

# Locations are read on every order and almost never change.
LOCATION_CACHE_SECONDS = 30


@ttl_memo(LOCATION_CACHE_SECONDS)
def _active_location(code: str) -> Location | None:
    return Location.objects.filter(code=code, is_active=True).first()


def get_location(code: str) -> Location:
    location = _active_location(code)
    if location is None:
        raise ValidationFailed(f"Unknown location {code!r}.", field="location",
                               extra={"code": "unknown_location"})
    return location


def get_stock_level(*, location_id: int, variant_id: int) -> StockLevel | None:
    return StockLevel.objects.filter(location_id=location_id, variant_id=variant_id).first()


def levels_by_id(level_ids) -> dict[int, StockLevel]:
    return {level.pk: level for level in StockLevel.objects.filter(pk__in=level_ids)}


def levels_by_variant(*, location_id: int, variant_ids=None, with_variant: bool = False
                      ) -> dict[int, StockLevel]:
    """Variant id -> its stock level at the location (every variant stocked there when
    `variant_ids` is None); `with_variant` reads each level's variant in the same query."""
    levels = StockLevel.objects.filter(location_id=location_id)
    if variant_ids is not None:
        levels = levels.filter(variant_id__in=variant_ids)
    if with_variant:
        levels = levels.select_related("variant")
    return {level.variant_id: level for level in levels}


def level_ids_by_variant(*, location_id: int, variant_ids) -> dict[int, int]:
    return dict(StockLevel.objects.filter(location_id=location_id, variant_id__in=variant_ids)
                .values_list("variant_id", "id"))


def list_availability(*, location: Location, skus: list[str] | None = None) -> list[dict]:
    """Per variant at a location: on hand, committed, safety stock, available, 86'd."""
    levels = StockLevel.objects.filter(location=location).annotate(available_now=AVAILABLE)
    if skus is not None:
        levels = levels.filter(variant__sku__in=skus)
    return [
        {"sku": row["variant__sku"], "on_hand": row["on_hand"], "committed": row["committed"],
         "safety_stock": row["safety_stock"], "available": max(0, row["available_now"]),
         "is_86d": row["is_86d"]}
        for row in levels.order_by("variant__sku").values(
            "variant__sku", "on_hand", "committed", "safety_stock", "available_now", "is_86d"
        )
    ]


_LEDGER_MISMATCH_SQL = f"""
SELECT l.id, l.on_hand, l.committed,
       COALESCE(m.on_hand_sum, 0), COALESCE(m.committed_sum, 0)
FROM {StockLevel._meta.db_table} l
LEFT JOIN (
    SELECT level_id, SUM(on_hand_delta) AS on_hand_sum, SUM(committed_delta) AS committed_sum
    FROM {StockMovement._meta.db_table} GROUP BY level_id
) m ON m.level_id = l.id
WHERE l.on_hand <> COALESCE(m.on_hand_sum, 0) OR l.committed <> COALESCE(m.committed_sum, 0)
ORDER BY l.id
"""


def list_ledger_mismatches() -> list[dict]:
    """Stock levels whose numbers differ from the sum of their movements."""
    with connection.cursor() as cursor:
        cursor.execute(_LEDGER_MISMATCH_SQL)
        rows = cursor.fetchall()
    return [
        {"level_id": r[0], "on_hand": r[1], "committed": r[2], "ledger_on_hand": r[3],
         "ledger_committed": r[4]}
        for r in rows
    ]


def list_sellable_catalog(location: Location) -> list[dict]:
    """Every active variant stocked at the location: price, modifier groups, availability."""
    from apps.catalog.selectors import list_catalog_variants

    availability = {row["sku"]: row for row in list_availability(location=location)}
    catalog = []
    for variant in list_catalog_variants(skus=list(availability)):
        stock = availability[variant["sku"]]
        catalog.append({**variant, "available": stock["available"], "is_86d": stock["is_86d"]})
    return catalog


def levels_running_low(*, skus: list[str], below: int) -> list[StockLevel]:
    """Stock levels of these SKUs, at every active location, with fewer than `below` available."""
    return list(StockLevel.objects.filter(variant__sku__in=skus, location__is_active=True)
                .annotate(free=AVAILABLE).filter(free__lt=below, is_86d=False)
                .select_related("location", "variant").order_by("location__code", "variant__sku"))
