"""A Clover merchant's inventory as catalog items: each item by its `sku`, and each
modifier (CONNECTORS.md §3.3).

Clover modifiers carry no SKU. A modifier's `alternateName` is taken as its SKU when it
names one of ours (so a merchant can make the match explicit); otherwise it is matched
by name, when exactly one of our modifiers has that name.
"""

from __future__ import annotations

from collections.abc import Iterator

from apps.catalog.models import Modifier
from apps.connectors.clover.adapter import clover_client
from apps.connectors.models import ExternalMapping, PlatformConnection
from apps.connectors.services.catalog_sync import CatalogItem

CATALOG_PER_LOCATION = True

_read_for_pull: dict[int, tuple[list[dict], list[dict]]] = {}


def catalog_size(link: PlatformConnection) -> int:
    items, groups = _read(link)
    _read_for_pull[link.pk] = (items, groups)
    return len(items) + sum(len(_modifiers(group)) for group in groups)


def iter_catalog(link: PlatformConnection) -> Iterator[CatalogItem]:
    items, groups = _read_for_pull.pop(link.pk, None) or _read(link)
    for item in items:
        yield CatalogItem(external_id=item["id"], sku=item.get("sku") or "", name=item.get("name") or "",
                          price=item.get("price"), location_specific=True, data={})
    our_skus = _our_modifier_skus()
    for group in groups:
        for modifier in _modifiers(group):
            yield CatalogItem(external_id=modifier["id"], sku=_modifier_sku(modifier, our_skus),
                              name=modifier.get("name") or "", kind=ExternalMapping.KIND_MODIFIER,
                              location_specific=True, data={"modifierGroupId": group["id"]})


def _read(link: PlatformConnection) -> tuple[list[dict], list[dict]]:
    """The pull reads the whole inventory once (sizing it and iterating it share the read)."""
    client = clover_client(link.external_location_id)
    return list(client.iter_items(expand=())), client.list_modifier_groups()


def _modifiers(group: dict) -> list[dict]:
    return (group.get("modifiers") or {}).get("elements") or []


def _our_modifier_skus() -> dict[str, str]:
    """Lower-case name and SKU -> our modifier SKU (names only where they are unique)."""
    names: dict[str, list[str]] = {}
    by_key: dict[str, str] = {}
    for sku, name in Modifier.objects.values_list("sku", "name"):
        by_key[sku.lower()] = sku
        names.setdefault(name.lower(), []).append(sku)
    return {**{name: skus[0] for name, skus in names.items() if len(skus) == 1}, **by_key}


def _modifier_sku(modifier: dict, our_skus: dict[str, str]) -> str:
    for candidate in (modifier.get("alternateName"), modifier.get("name")):
        if candidate and candidate.lower() in our_skus:
            return our_skus[candidate.lower()]
    return ""
