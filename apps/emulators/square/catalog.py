"""The Square catalog the emulator serves, built from the demo merchant.

Object shapes follow SQ-SPEC `CatalogObject`, `CatalogItem`, `CatalogItemVariation`,
`CatalogModifierList`, `CatalogModifier`, `CatalogCategory` and
`fixtures/platforms/square_catalog_list_response.json`. Ids are derived from SKUs and
group codes (`catalog_id`), so they survive restarts.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from apps.demo import demo_data

from .support import catalog_id, money

# Types returned by ListCatalog when `types` is not given: top-level types only. Nested
# types (ITEM_VARIATION, MODIFIER) come back only when asked for [SQ-SPEC ListCatalog].
TOP_LEVEL_TYPES = ("ITEM", "CATEGORY", "MODIFIER_LIST", "TAX", "DISCOUNT", "IMAGE")
KNOWN_TYPES = (
    *TOP_LEVEL_TYPES, "ITEM_VARIATION", "MODIFIER", "PRICING_RULE", "PRODUCT_SET",
    "TIME_PERIOD", "MEASUREMENT_UNIT", "SUBSCRIPTION_PLAN", "ITEM_OPTION", "ITEM_OPTION_VAL",
    "CUSTOM_ATTRIBUTE_DEFINITION", "QUICK_AMOUNTS_SETTINGS", "COMPONENT", "COMPOSITION",
    "RESOURCE", "CHECKOUT_LINK", "ADDRESS", "SUBSCRIPTION_PRODUCT",
)


@dataclass
class Catalog:
    """All catalog objects in listing order, with the indexes the endpoints need."""

    objects: list[dict] = field(default_factory=list)
    by_id: dict[str, dict] = field(default_factory=dict)
    variation_by_sku: dict[str, dict] = field(default_factory=dict)
    modifier_by_sku: dict[str, dict] = field(default_factory=dict)

    def add(self, obj: dict) -> None:
        self.objects.append(obj)
        self.by_id[obj["id"]] = obj

    def of_type(self, types: tuple[str, ...]) -> list[dict]:
        return [obj for obj in self.objects if obj["type"] in types]

    def modifier_list_ids_of(self, variation: dict) -> set[str]:
        item = self.by_id[variation["item_variation_data"]["item_id"]]
        return {info["modifier_list_id"] for info in item["item_data"].get("modifier_list_info", [])}


def _object(kind: str, object_id: str, version: int, updated_at: str, data: dict) -> dict:
    return {
        "type": kind, "id": object_id, "updated_at": updated_at, "version": version,
        "is_deleted": False, "present_at_all_locations": True,
        f"{kind.lower()}_data": data,
    }


def build_catalog(*, version: int, updated_at: str, location_ids: list[str]) -> Catalog:
    catalog = Catalog()
    for name in sorted({product["category"] for product in demo_data.PRODUCTS}):
        catalog.add(_object("CATEGORY", catalog_id("category", name), version, updated_at,
                            {"name": name}))
    for ordinal, (code, group) in enumerate(demo_data.MODIFIER_GROUPS.items()):
        modifier_list = _modifier_list(code, group, ordinal, version, updated_at)
        catalog.add(modifier_list)
        for modifier in modifier_list["modifier_list_data"]["modifiers"]:
            catalog.by_id[modifier["id"]] = modifier
    for product in demo_data.PRODUCTS:
        item = _item(product, version, updated_at, location_ids)
        catalog.add(item)
        for variation in item["item_data"]["variations"]:
            catalog.by_id[variation["id"]] = variation
            catalog.variation_by_sku[variation["item_variation_data"]["sku"]] = variation
    # Nested objects are also listable on their own (types=ITEM_VARIATION / MODIFIER).
    for obj in list(catalog.by_id.values()):
        if obj["type"] in ("ITEM_VARIATION", "MODIFIER"):
            catalog.objects.append(obj)
    for _name, _low, _high, options in demo_data.MODIFIER_GROUPS.values():
        for sku, *_ in options:
            catalog.modifier_by_sku[sku] = catalog.by_id[catalog_id("modifier", sku)]
    return catalog


def _modifier_list(code: str, group: tuple, ordinal: int, version: int, updated_at: str) -> dict:
    name, _minimum, maximum, options = group
    list_id = catalog_id("modifier_list", code)
    modifiers = [
        _object("MODIFIER", catalog_id("modifier", sku), version, updated_at, {
            "name": option_name, "price_money": money(price), "ordinal": index + 1,
            "modifier_list_id": list_id,
        })
        for index, (sku, option_name, price) in enumerate(options)
    ]
    return _object("MODIFIER_LIST", list_id, version, updated_at, {
        "name": name, "ordinal": ordinal + 1,
        "selection_type": "SINGLE" if maximum == 1 else "MULTIPLE",
        "modifiers": modifiers,
    })


def _item(product: dict, version: int, updated_at: str, location_ids: list[str]) -> dict:
    item_id = catalog_id("item", product["variants"][0]["sku"])
    variations = [
        _object("ITEM_VARIATION", catalog_id("variation", variant["sku"]), version, updated_at, {
            "item_id": item_id, "name": variant["name"], "sku": variant["sku"],
            "ordinal": index + 1, "pricing_type": "FIXED_PRICING",
            "price_money": money(variant["price"]), "track_inventory": True,
            "sellable": True, "stockable": True,
            "location_overrides": [
                {"location_id": location_id, "track_inventory": True, "sold_out": False}
                for location_id in location_ids
            ],
        })
        for index, variant in enumerate(product["variants"])
    ]
    modifier_info = []
    for code in product["modifier_groups"]:
        _name, minimum, maximum, _options = demo_data.MODIFIER_GROUPS[code]
        modifier_info.append({
            "modifier_list_id": catalog_id("modifier_list", code), "enabled": True,
            "min_selected_modifiers": minimum, "max_selected_modifiers": maximum,
        })
    category_id = catalog_id("category", product["category"])
    return _object("ITEM", item_id, version, updated_at, {
        "name": product["name"], "description": "", "is_taxable": True,
        "product_type": "REGULAR", "categories": [{"id": category_id}],
        "category_id": category_id, "modifier_list_info": modifier_info,
        "variations": variations,
    })


def render(obj: dict, sold_out: dict[tuple[str, str], bool]) -> dict:
    """A copy of `obj` with each variation's `location_overrides[].sold_out` filled in from
    the live stock (`sold_out[(location_id, variation_id)]`)."""
    rendered = copy.deepcopy(obj)
    if rendered["type"] == "ITEM":
        for variation in rendered["item_data"]["variations"]:
            _fill_sold_out(variation, sold_out)
    elif rendered["type"] == "ITEM_VARIATION":
        _fill_sold_out(rendered, sold_out)
    return rendered


def _fill_sold_out(variation: dict, sold_out: dict[tuple[str, str], bool]) -> None:
    for override in variation["item_variation_data"].get("location_overrides", []):
        override["sold_out"] = sold_out.get((override["location_id"], variation["id"]), False)
