"""Toast's menu as catalog items: each menu item (with the menu group an order must name)
and each modifier option (with its option group), per restaurant (CONNECTORS.md §1.3).

`GET /menus/v2/menus` is limited to one read per second per restaurant, so the document
read to size a pull is kept for the iteration that follows it.
"""

from __future__ import annotations

from collections.abc import Iterator

from apps.connectors.models import ExternalMapping, PlatformConnection
from apps.connectors.services.catalog_sync import CatalogItem
from apps.connectors.toast.adapter import toast_client
from apps.core.money import from_decimal

CATALOG_PER_LOCATION = True

_read_for_pull: dict[int, dict] = {}


def catalog_size(link: PlatformConnection) -> int:
    restaurant = toast_client(link.external_location_id).get_menus()
    _read_for_pull[link.pk] = restaurant
    return len(_menu_items(restaurant)) + len(restaurant.get("modifierOptionReferences") or {})


def iter_catalog(link: PlatformConnection) -> Iterator[CatalogItem]:
    restaurant = _read_for_pull.pop(link.pk, None) or toast_client(link.external_location_id).get_menus()
    currency = link.location.currency
    for item, group_guid in _menu_items(restaurant).values():
        yield CatalogItem(
            external_id=item["guid"], sku=item.get("sku") or "", name=item.get("name") or "",
            price=None if item.get("price") is None else from_decimal(item["price"], currency),
            location_specific=True,
            data={"itemGroupGuid": group_guid, "multiLocationId": item.get("multiLocationId")},
        )
    yield from _modifier_options(restaurant)


def _menu_items(restaurant: dict) -> dict[str, tuple[dict, str]]:
    """Menu item GUID -> (item, the GUID of the first menu group holding it)."""
    found: dict[str, tuple[dict, str]] = {}
    pending = [group for menu in restaurant.get("menus") or [] for group in menu.get("menuGroups") or []]
    while pending:
        group = pending.pop(0)
        for item in group.get("menuItems") or []:
            found.setdefault(item["guid"], (item, group["guid"]))
        pending.extend(group.get("menuGroups") or [])
    return found


def _modifier_options(restaurant: dict) -> Iterator[CatalogItem]:
    group_of: dict[int, str] = {}
    for group in (restaurant.get("modifierGroupReferences") or {}).values():
        for reference in group.get("modifierOptionReferences") or []:
            group_of.setdefault(reference, group["guid"])
    for reference, option in (restaurant.get("modifierOptionReferences") or {}).items():
        yield CatalogItem(
            external_id=option["guid"], sku=option.get("sku") or "", name=option.get("name") or "",
            kind=ExternalMapping.KIND_MODIFIER, location_specific=True,
            data={"optionGroupGuid": group_of.get(int(reference))},
        )
