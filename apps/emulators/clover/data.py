"""The Clover emulator's merchant: items, stock, modifier groups, order types (stdlib only).

Built from the demo seed with ids derived from the merchant and the SKU, so a restarted
emulator hands out the same ids. Shapes follow Clover's v3 REST API as summarised in
CONNECTORS.md §3 (money in cents, times in epoch milliseconds, expanded collections as
`{"elements": [...]}`), and fixtures/platforms/clover_item_stock_*.json.
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
import time
from dataclasses import dataclass, field

from apps.demo import demo_data
from apps.demo.dev_credentials import platform_location_id

# Clover ids are 13 characters of upper-case letters and digits ("3Z29BX6C013XC").
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ORDER_TYPES = ["Dine In", "To Go", "Delivery", "Concord Pickup", "Concord Delivery"]


def stable_id(*parts: str) -> str:
    number = int.from_bytes(hashlib.sha256(":".join(parts).encode()).digest()[:9], "big")
    return "".join(_ALPHABET[(number >> (5 * i)) & 31] for i in range(13))


def new_id() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(13))


def now_ms() -> int:
    return int(time.time() * 1000)


def plain_number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def stock_count(quantity: float) -> int:
    """`stockCount` is `quantity` rounded half up (160.5 -> 161), as Java's Math.round."""
    return math.floor(quantity + 0.5)


@dataclass
class Modifier:
    id: str
    sku: str
    name: str
    price: int
    group_id: str


@dataclass
class ModifierGroup:
    id: str
    name: str
    min_required: int
    max_allowed: int
    modifier_ids: list[str]


@dataclass
class Item:
    id: str
    name: str
    sku: str
    code: str
    price: int
    category_id: str | None
    modifier_group_ids: list[str]
    modified_time: int
    price_type: str = "FIXED"
    alternate_name: str = ""
    cost: int = 0
    available: bool = True
    hidden: bool = False
    auto_manage: bool = True
    stock_quantity: float | None = None  # None: Clover keeps no stock for the item

    # Fields `POST /v3/merchants/{mId}/items[/{id}]` may set, by their API name.
    WRITABLE = {"name": "name", "alternateName": "alternate_name", "code": "code",
                "sku": "sku", "price": "price", "priceType": "price_type", "cost": "cost",
                "available": "available", "hidden": "hidden", "autoManage": "auto_manage"}


@dataclass
class Merchant:
    id: str
    code: str
    name: str
    items: dict[str, Item] = field(default_factory=dict)
    categories: dict[str, dict] = field(default_factory=dict)
    modifier_groups: dict[str, ModifierGroup] = field(default_factory=dict)
    modifiers: dict[str, Modifier] = field(default_factory=dict)
    order_types: dict[str, dict] = field(default_factory=dict)
    timezone: str = "America/Chicago"  # MerchantProperties.timezone

    def item_by_sku(self, sku) -> Item | None:
        return next((i for i in self.items.values() if i.sku == sku), None)


def build_merchant(code: str) -> Merchant:
    location = next(loc for loc in demo_data.LOCATIONS if loc["code"] == code)
    merchant = Merchant(id=platform_location_id("clover", code), code=code,
                        name=location["name"], timezone=location["timezone"])
    groups_by_code = _add_modifier_groups(merchant)
    _add_items(merchant, groups_by_code)
    merchant.order_types = {
        stable_id(merchant.id, "ordertype", label): {
            "id": stable_id(merchant.id, "ordertype", label), "label": label,
            "taxable": True, "isDefault": index == 0, "filterCategories": False,
            "isHidden": False, "isDeleted": False, "hoursAvailable": "ALL",
        }
        for index, label in enumerate(ORDER_TYPES)
    }
    return merchant


def _add_modifier_groups(merchant: Merchant) -> dict[str, ModifierGroup]:
    by_code = {}
    for group_code, (name, low, high, options) in demo_data.MODIFIER_GROUPS.items():
        group = ModifierGroup(id=stable_id(merchant.id, "modgroup", group_code), name=name,
                              min_required=low, max_allowed=high, modifier_ids=[])
        for sku, option_name, price in options:
            modifier = Modifier(id=stable_id(merchant.id, "modifier", sku), sku=sku,
                                name=option_name, price=price, group_id=group.id)
            merchant.modifiers[modifier.id] = modifier
            group.modifier_ids.append(modifier.id)
        merchant.modifier_groups[group.id] = by_code[group_code] = group
    return by_code


def _add_items(merchant: Merchant, groups_by_code: dict[str, ModifierGroup]) -> None:
    seeded = now_ms()
    for product in demo_data.PRODUCTS:
        category_id = stable_id(merchant.id, "category", product["category"])
        merchant.categories.setdefault(category_id, {
            "id": category_id, "name": product["category"],
            "sortOrder": len(merchant.categories),
        })
        for variant in product["variants"]:
            item = Item(
                id=stable_id(merchant.id, "item", variant["sku"]), name=variant["name"],
                sku=variant["sku"], code=_product_code(variant["sku"]),
                price=variant["price"], category_id=category_id,
                modifier_group_ids=[groups_by_code[c].id for c in product["modifier_groups"]],
                modified_time=seeded,
                stock_quantity=float(demo_data.opening_stock(merchant.code, variant["sku"])),
            )
            merchant.items[item.id] = item


def _product_code(sku: str) -> str:
    """A 12-digit UPC-like product code (Clover's `code`); Concord maps by `sku`."""
    return str(int(hashlib.sha256(sku.encode()).hexdigest()[:12], 16) % 10**12).zfill(12)


# -- documents ---------------------------------------------------------------------------------


def item_stock_document(item: Item) -> dict:
    quantity = item.stock_quantity
    return {"item": {"id": item.id}, "stockCount": stock_count(quantity),
            "quantity": plain_number(quantity)}


def item_document(merchant: Merchant, item: Item, expand: set[str], base_url: str) -> dict:
    doc = {
        "href": f"{base_url}/v3/merchants/{merchant.id}/items/{item.id}",
        "id": item.id, "hidden": item.hidden, "available": item.available,
        "autoManage": item.auto_manage, "name": item.name,
        "alternateName": item.alternate_name, "code": item.code, "sku": item.sku,
        "price": item.price, "priceType": item.price_type, "defaultTaxRates": True,
        "cost": item.cost, "isRevenue": True, "modifiedTime": item.modified_time,
        "deleted": False,
    }
    if "itemStock" in expand and item.stock_quantity is not None:
        doc["itemStock"] = item_stock_document(item)
    if "categories" in expand:
        category = merchant.categories.get(item.category_id)
        doc["categories"] = {"elements": [dict(category)] if category else []}
    if "modifierGroups" in expand:
        doc["modifierGroups"] = {"elements": [
            modifier_group_document(merchant, merchant.modifier_groups[g], expand=False)
            for g in item.modifier_group_ids
        ]}
    return doc


def modifier_group_document(merchant: Merchant, group: ModifierGroup, *, expand: bool) -> dict:
    doc = {"id": group.id, "name": group.name, "showByDefault": True,
           "minRequired": group.min_required, "maxAllowed": group.max_allowed,
           "modifierIds": ",".join(group.modifier_ids)}
    if expand:
        doc["modifiers"] = {"elements": [
            modifier_document(merchant.modifiers[m]) for m in group.modifier_ids
        ]}
    return doc


def modifier_document(modifier: Modifier) -> dict:
    return {"id": modifier.id, "name": modifier.name, "alternateName": "",
            "price": modifier.price, "available": True,
            "modifierGroup": {"id": modifier.group_id}}


# -- query parameters ----------------------------------------------------------------------------

_FILTER = re.compile(r"^(?P<field>[A-Za-z][A-Za-z.]*)\s*(?P<op>>=|<=|!=|=|<|>)\s*(?P<value>.*)$")
_IN_FILTER = re.compile(r"^(?P<field>[A-Za-z][A-Za-z.]*)\s+in\s*\((?P<values>.*)\)$")
_COMPARE = {
    "=": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
    ">": lambda a, b: a > b, "<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b,
}


class BadQuery(ValueError):
    """A query parameter Clover would refuse (400)."""


def parse_filters(values: list[str], fields: dict[str, type]):
    """`filter=field<op>value` parameters as predicates over `getter(field)` callables,
    including `field in ('a','b')` (https://docs.clover.com/docs/using-filters-to-retrieve-
    multiple-results-from-an-endpoint).

    `fields` maps each filterable field to its type (int, float, str or bool); any other
    field is refused, as Clover refuses filters an endpoint does not support.
    """
    predicates = []
    for text in values:
        found = _IN_FILTER.match(text.strip()) or _FILTER.match(text.strip())
        if not found or found["field"] not in fields:
            raise BadQuery(f"Invalid filter: {text}")
        kind = fields[found["field"]]
        if "values" in found.groupdict():
            wanted = {_typed(value, kind, text) for value in _in_values(found["values"], text)}
            predicates.append((found["field"], lambda value, allowed: value in allowed, wanted))
            continue
        wanted = _typed(found["value"], kind, text)
        predicates.append((found["field"], _COMPARE[found["op"]], wanted))

    def matches(getter) -> bool:
        for name, compare, wanted in predicates:
            value = getter(name)
            if value is None or not compare(value, wanted):
                return False
        return True

    return matches


def _in_values(raw: str, text: str) -> list[str]:
    values = [part.strip() for part in raw.split(",")]
    if not values or any(len(v) < 2 or v[0] != "'" or v[-1] != "'" for v in values):
        raise BadQuery(f"Invalid filter: {text}")
    return [v[1:-1] for v in values]


def _typed(raw: str, kind: type, text: str):
    try:
        if kind is bool:
            if raw not in ("true", "false"):
                raise ValueError(raw)
            return raw == "true"
        return kind(raw)
    except ValueError:
        raise BadQuery(f"Invalid filter value: {text}") from None


def parse_expand(values: list[str]) -> set[str]:
    return {part.strip() for value in values for part in value.split(",") if part.strip()}


def parse_page(limit: str | None, offset: str | None) -> tuple[int, int]:
    """Clover pages with `limit` (default 100, at most 1000) and `offset`."""
    try:
        size = 100 if limit is None else int(limit)
        start = 0 if offset is None else int(offset)
    except ValueError:
        raise BadQuery("limit and offset must be integers") from None
    if not 1 <= size <= 1000 or start < 0:
        raise BadQuery("limit must be 1..1000 and offset at least 0")
    return size, start
