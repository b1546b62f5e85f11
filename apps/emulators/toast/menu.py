"""The Toast emulator's restaurant: its menu, dining options and stock (stdlib only).

Built from the demo seed (`apps.demo.demo_data`) with ids derived from the restaurant
and the SKU, so every restart of the emulator hands out the same GUIDs. Shapes follow the
Toast Menus API v2 (`Restaurant`, `Menu`, `MenuGroup`, `MenuItem`, `ModifierGroup`,
`ModifierOption`), the Stock API (`MenuItemInventory`) and the configuration API
(`DiningOption`), as summarised in CONNECTORS.md §1.3–1.4.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from apps.demo import demo_data
from apps.demo.dev_credentials import platform_location_id

_NAMESPACE = uuid.UUID("1b0f3c56-2f7e-4d0a-9a57-6c2f0f8e7a31")

IN_STOCK, QUANTITY, OUT_OF_STOCK = "IN_STOCK", "QUANTITY", "OUT_OF_STOCK"
STOCK_STATUSES = (IN_STOCK, QUANTITY, OUT_OF_STOCK)
LOW_QUANTITY_THRESHOLD = 5  # fixed by Toast (stock API docs)

VISIBILITY = ["POS", "KIOSK", "TOAST_ONLINE_ORDERING", "ORDERING_PARTNERS"]

# (name, behavior): Toast's own three plus one per Concord fulfillment type, so the
# channel shows on the ticket (CONNECTORS.md, "Decisions").
DINING_OPTIONS = [
    ("Take Out", "TAKE_OUT"),
    ("Delivery", "DELIVERY"),
    ("Dine In", "DINE_IN"),
    ("Concord Pickup", "TAKE_OUT"),
    ("Concord Delivery", "DELIVERY"),
]


def stable_guid(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, ":".join(parts)))


def multi_location_id(*parts: str) -> str:
    """Toast's numeric multi-location id: the same item in every location of a group."""
    digest = hashlib.sha256(":".join(parts).encode()).hexdigest()
    return str(100000000000000000 + int(digest[:15], 16) % 10**17)


def toast_amount(cents: int) -> int | float:
    """Toast carries money as a decimal number of currency units (9.5, 5)."""
    value = Decimal(cents) / 100
    return int(value) if value == value.to_integral_value() else float(value)


@dataclass
class MenuItem:
    guid: str
    sku: str
    name: str
    price: int  # cents; converted with toast_amount at the edge
    group_guid: str
    modifier_group_refs: list[int]
    multi_location_id: str


@dataclass
class ModifierGroup:
    reference_id: int
    guid: str
    code: str
    name: str
    min_selections: int
    max_selections: int
    option_refs: list[int]
    multi_location_id: str


@dataclass
class ModifierOption:
    reference_id: int
    guid: str
    sku: str
    name: str
    price: int  # cents
    group_ref: int
    allows_duplicates: bool
    multi_location_id: str


@dataclass
class MenuGroup:
    guid: str
    name: str
    item_guids: list[str]
    multi_location_id: str


@dataclass
class StockEntry:
    """What Toast knows about one item's stock.

    `quantity` is the tracked count (None when untracked, i.e. IN_STOCK). It is signed:
    a register keeps selling an item Toast shows as OUT_OF_STOCK, and the emulator keeps
    the count so a test can see the oversell; the API reports only what Toast would.
    `eighty_sixed` is the staff switch that makes an item OUT_OF_STOCK whatever its count.
    """

    quantity: float | None = None
    eighty_sixed: bool = False

    @property
    def status(self) -> str:
        if self.eighty_sixed:
            return OUT_OF_STOCK
        if self.quantity is None:
            return IN_STOCK
        return QUANTITY if self.quantity > 0 else OUT_OF_STOCK

    @property
    def reported_quantity(self) -> float | None:
        return float(self.quantity) if self.status == QUANTITY else None


@dataclass
class Restaurant:
    guid: str
    code: str
    name: str
    timezone: str
    menu_guid: str
    groups: dict[str, MenuGroup] = field(default_factory=dict)
    items: dict[str, MenuItem] = field(default_factory=dict)
    modifier_groups: dict[int, ModifierGroup] = field(default_factory=dict)
    options: dict[int, ModifierOption] = field(default_factory=dict)
    dining_options: list[dict] = field(default_factory=list)
    stock: dict[str, StockEntry] = field(default_factory=dict)
    last_updated: str = ""
    closeout_hour: int = 4  # TOAST-RST general.closeoutHour: the business day starts then

    def item_by_sku(self, sku: str) -> MenuItem | None:
        return next((i for i in self.items.values() if i.sku == sku), None)

    def item_by_multi_location_id(self, value: str) -> MenuItem | None:
        return next((i for i in self.items.values() if i.multi_location_id == value), None)

    def option_by_guid(self, guid: str) -> ModifierOption | None:
        return next((o for o in self.options.values() if o.guid == guid), None)

    def modifier_group_by_guid(self, guid: str) -> ModifierGroup | None:
        return next((g for g in self.modifier_groups.values() if g.guid == guid), None)

    def dining_option(self, guid: str) -> dict | None:
        return next((d for d in self.dining_options if d["guid"] == guid), None)


def build_restaurant(code: str, *, seeded_at: str) -> Restaurant:
    """The demo store `code` as a Toast restaurant, with its opening stock."""
    location = next(loc for loc in demo_data.LOCATIONS if loc["code"] == code)
    guid = platform_location_id("toast", code)
    restaurant = Restaurant(
        guid=guid, code=code, name=location["name"], timezone=location["timezone"],
        menu_guid=stable_guid(guid, "menu"), last_updated=seeded_at,
        closeout_hour=location.get("business_day_starts_at", 4),
    )
    _add_modifier_groups(restaurant)
    _add_items(restaurant)
    restaurant.dining_options = [
        {"guid": stable_guid(guid, "dining", name), "entityType": "DiningOption",
         "externalId": None, "name": name, "behavior": behavior, "curbside": False}
        for name, behavior in DINING_OPTIONS
    ]
    return restaurant


def _add_modifier_groups(restaurant: Restaurant) -> None:
    option_ref = 1000
    for group_ref, (group_code, (name, low, high, options)) in enumerate(
        demo_data.MODIFIER_GROUPS.items(), start=1
    ):
        group = ModifierGroup(
            reference_id=group_ref, guid=stable_guid(restaurant.guid, "modgroup", group_code),
            code=group_code, name=name, min_selections=low, max_selections=high,
            option_refs=[], multi_location_id=multi_location_id("modgroup", group_code),
        )
        for sku, option_name, price in options:
            option_ref += 1
            restaurant.options[option_ref] = ModifierOption(
                reference_id=option_ref, guid=stable_guid(restaurant.guid, "option", sku),
                sku=sku, name=option_name, price=price, group_ref=group_ref,
                allows_duplicates=high > 1, multi_location_id=multi_location_id("option", sku),
            )
            group.option_refs.append(option_ref)
        restaurant.modifier_groups[group_ref] = group


def _add_items(restaurant: Restaurant) -> None:
    refs_by_code = {g.code: ref for ref, g in restaurant.modifier_groups.items()}
    for product in demo_data.PRODUCTS:
        group = _menu_group(restaurant, product["category"])
        for variant in product["variants"]:
            item = MenuItem(
                guid=stable_guid(restaurant.guid, "item", variant["sku"]), sku=variant["sku"],
                name=variant["name"], price=variant["price"], group_guid=group.guid,
                modifier_group_refs=[refs_by_code[c] for c in product["modifier_groups"]],
                multi_location_id=multi_location_id("item", variant["sku"]),
            )
            restaurant.items[item.guid] = item
            group.item_guids.append(item.guid)
            opening = demo_data.opening_stock(restaurant.code, item.sku)
            restaurant.stock[item.guid] = StockEntry(quantity=float(opening))


def _menu_group(restaurant: Restaurant, category: str) -> MenuGroup:
    guid = stable_guid(restaurant.guid, "group", category)
    if guid not in restaurant.groups:
        restaurant.groups[guid] = MenuGroup(
            guid=guid, name=category, item_guids=[],
            multi_location_id=multi_location_id("group", category),
        )
    return restaurant.groups[guid]


# -- documents (what the API returns) -----------------------------------------------------


def menus_document(restaurant: Restaurant) -> dict:
    """GET /menus/v2/menus: the `Restaurant` document."""
    return {
        "restaurantGuid": restaurant.guid,
        "lastUpdated": restaurant.last_updated,
        "restaurantTimeZone": restaurant.timezone,
        "menus": [_menu_document(restaurant)],
        "modifierGroupReferences": {
            str(ref): _modifier_group_document(group)
            for ref, group in restaurant.modifier_groups.items()
        },
        "modifierOptionReferences": {
            str(ref): _option_document(option) for ref, option in restaurant.options.items()
        },
        "preModifierGroupReferences": {},
    }


def _menu_document(restaurant: Restaurant) -> dict:
    return {
        "name": "Mission Street", "guid": restaurant.menu_guid,
        "multiLocationId": multi_location_id("menu"), "masterId": int(multi_location_id("menu")),
        "description": "", "posName": "Mission Street", "posButtonColorLight": "#FFFFFF",
        "posButtonColorDark": "#000000", "highResImage": None, "image": None,
        "visibility": VISIBILITY,
        "availability": {"alwaysAvailable": True, "schedule": None},
        "menuGroups": [
            _group_document(restaurant, group) for group in restaurant.groups.values()
        ],
    }


def _group_document(restaurant: Restaurant, group: MenuGroup) -> dict:
    return {
        "name": group.name, "guid": group.guid, "multiLocationId": group.multi_location_id,
        "masterId": int(group.multi_location_id), "description": "", "posName": group.name,
        "posButtonColorLight": "#FFFFFF", "posButtonColorDark": "#000000", "image": None,
        "visibility": VISIBILITY, "itemTags": [], "menuGroups": [],
        "menuItems": [_item_document(restaurant.items[guid]) for guid in group.item_guids],
    }


def _item_document(item: MenuItem) -> dict:
    return {
        "name": item.name, "kitchenName": item.name, "guid": item.guid,
        "multiLocationId": item.multi_location_id, "masterId": int(item.multi_location_id),
        "description": "", "posName": item.name, "posButtonColorLight": "#FFFFFF",
        "posButtonColorDark": "#000000", "image": None, "visibility": VISIBILITY,
        "price": toast_amount(item.price), "pricingStrategy": "BASE_PRICE",
        "pricingRules": None, "isDeferred": False, "isDiscountable": True,
        "salesCategory": None, "taxInfo": [], "taxInclusion": "NOT_INCLUDED", "itemTags": [],
        "plu": "", "sku": item.sku, "calories": None, "contentAdvisories": None,
        "unitOfMeasure": "NONE", "portions": [], "prepTime": None, "prepStations": [],
        "modifierGroupReferences": list(item.modifier_group_refs), "allergens": [],
        "sortOrder": 0,
    }


def _modifier_group_document(group: ModifierGroup) -> dict:
    return {
        "referenceId": group.reference_id, "guid": group.guid, "name": group.name,
        "multiLocationId": group.multi_location_id, "masterId": int(group.multi_location_id),
        "posName": group.name, "posButtonColorLight": "#FFFFFF",
        "posButtonColorDark": "#000000", "visibility": VISIBILITY,
        "pricingStrategy": "NONE", "pricingRules": None,
        "defaultOptionsChargePrice": "NO", "defaultOptionsSubstitutionPricing": "NO",
        "minSelections": group.min_selections, "maxSelections": group.max_selections,
        "requiredMode": "REQUIRED" if group.min_selections > 0 else "OPTIONAL",
        "isMultiSelect": group.max_selections > 1, "preModifierGroupReference": None,
        "modifierOptionReferences": list(group.option_refs),
    }


def _option_document(option: ModifierOption) -> dict:
    return {
        "referenceId": option.reference_id, "guid": option.guid, "name": option.name,
        "multiLocationId": option.multi_location_id, "masterId": int(option.multi_location_id),
        "kitchenName": option.name, "description": "", "posName": option.name,
        "posButtonColorLight": "#FFFFFF", "posButtonColorDark": "#000000", "image": None,
        "visibility": VISIBILITY, "price": toast_amount(option.price),
        "pricingStrategy": "BASE_PRICE", "pricingRules": None, "salesCategory": None,
        "taxInfo": [], "itemTags": [], "plu": "", "sku": option.sku, "calories": None,
        "contentAdvisories": None, "unitOfMeasure": "NONE", "isDefault": False,
        "allowsDuplicates": option.allows_duplicates, "portions": [], "prepStations": [],
        "modifierGroupReferences": [], "allergens": [],
    }


def inventory_document(item: MenuItem, entry: StockEntry) -> dict:
    """One `MenuItemInventory`."""
    return {
        "guid": item.guid, "itemGuidValidity": "VALID", "status": entry.status,
        "quantity": entry.reported_quantity, "multiLocationId": item.multi_location_id,
        "versionId": item.guid,
    }


def invalid_inventory_document(*, guid: str | None, multi_location_id: str | None) -> dict:
    return {"guid": guid, "itemGuidValidity": "INVALID", "status": None, "quantity": None,
            "multiLocationId": multi_location_id, "versionId": None}


# -- stock rules -------------------------------------------------------------------------------


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def inventory_update_problem(entry) -> str | None:
    """Why one `PUT /stock/v1/inventory/update` entry is refused (400), or None."""
    if not isinstance(entry, dict):
        return "each entry must be a MenuItemInventory object"
    if not entry.get("guid") and not entry.get("multiLocationId"):
        return "each entry needs guid or multiLocationId"
    status, quantity = entry.get("status"), entry.get("quantity")
    if status not in STOCK_STATUSES:
        return f"status must be one of {', '.join(STOCK_STATUSES)}"
    if status == QUANTITY:
        if not _is_number(quantity) or quantity <= 0:
            return "quantity must be a number greater than 0 with status QUANTITY"
    elif quantity is not None:
        return "quantity may be sent only with status QUANTITY"
    return None


def stock_event_type(status_before: str, quantity_before, entry: StockEntry) -> str | None:
    """The stock webhook a change causes: a change of status, and every change at or under
    the low-quantity threshold."""
    status, quantity = entry.status, entry.reported_quantity
    if status == OUT_OF_STOCK:
        return "out_of_stock" if status_before != OUT_OF_STOCK else None
    if status == QUANTITY and quantity <= LOW_QUANTITY_THRESHOLD:
        changed = status_before != QUANTITY or quantity_before != quantity
        return "low_quantity" if changed else None
    return "in_stock" if status_before != status else None
