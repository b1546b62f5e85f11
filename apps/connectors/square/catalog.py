"""Square's catalog for the catalog pull: ITEM_VARIATIONs (by SKU) and MODIFIERs.

One catalog serves every location (`present_at_all_locations`), so it is read once.
Square modifiers have no SKU: each is matched to ours by name (case-insensitive), the
one thing a seller sees on both sides. A name that is ours twice, or not ours, becomes
an unmapped item with candidates, like an unknown SKU. (The emulator's ids are derived
from our SKUs, but a real Square account's are not, so the ids are not relied on.)
"""

from __future__ import annotations

from collections.abc import Iterator

from apps.catalog.models import Modifier
from apps.connectors.models import ExternalMapping, PlatformConnection
from apps.connectors.services.catalog_sync import CatalogItem
from apps.connectors.square.adapter import square_client

CATALOG_PER_LOCATION = False
LISTED_TYPES = "ITEM,MODIFIER_LIST"  # items nest their variations, lists their modifiers

# The listing read by `catalog_size`, handed to `iter_catalog` so a pull reads it once and
# reports progress against an exact total.
_listed: dict[int, list[CatalogItem]] = {}


def catalog_size(link: PlatformConnection) -> int:
    _listed[link.pk] = list(read_catalog())
    return len(_listed[link.pk])


def iter_catalog(link: PlatformConnection) -> Iterator[CatalogItem]:
    items = _listed.pop(link.pk, None)
    yield from (items if items is not None else read_catalog())


def read_catalog() -> Iterator[CatalogItem]:
    modifier_skus = _modifier_skus_by_name()
    for obj in square_client().iter_catalog(types=LISTED_TYPES):
        if obj.get("is_deleted"):
            continue
        if obj["type"] == "ITEM":
            yield from _variations(obj)
        elif obj["type"] == "MODIFIER_LIST":
            yield from _modifiers(obj, modifier_skus)


def _variations(item: dict) -> Iterator[CatalogItem]:
    data = item["item_data"]
    variations = [v for v in data.get("variations", []) if not v.get("is_deleted")]
    for variation in variations:
        fields = variation["item_variation_data"]
        yield CatalogItem(
            external_id=variation["id"], sku=fields.get("sku") or "",
            name=variant_name(data["name"], fields.get("name") or "", single=len(variations) == 1),
            price=(fields.get("price_money") or {}).get("amount"),
        )


def variant_name(item_name: str, variation_name: str, *, single: bool) -> str:
    """Our variant names read "Horchata, small"; Square names a lone variation "Regular"."""
    if single or not variation_name:
        return item_name
    if variation_name.lower().startswith(item_name.lower()):
        return variation_name
    return f"{item_name}, {variation_name}"


def _modifiers(modifier_list: dict, modifier_skus: dict[str, str]) -> Iterator[CatalogItem]:
    for modifier in modifier_list["modifier_list_data"].get("modifiers", []):
        fields = modifier["modifier_data"]
        yield CatalogItem(
            external_id=modifier["id"], sku=modifier_skus.get(fields["name"].strip().lower(), ""),
            name=fields["name"], price=(fields.get("price_money") or {}).get("amount"),
            kind=ExternalMapping.KIND_MODIFIER,
        )


def _modifier_skus_by_name() -> dict[str, str]:
    """Our modifier SKU by lower-cased name, leaving out names we use twice."""
    by_name: dict[str, list[str]] = {}
    for sku, name in Modifier.objects.values_list("sku", "name"):
        by_name.setdefault(name.strip().lower(), []).append(sku)
    return {name: skus[0] for name, skus in by_name.items() if len(skus) == 1}
