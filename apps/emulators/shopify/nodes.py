"""GraphQL objects over the emulator's store: each node is a dict whose argument-taking
fields are callables, which graphql-core's default resolver calls with `(info, **args)`.

Also: Relay-style connections with Shopify's paging rules (one of `first`/`last`, at most
250) and the subset of Shopify's search syntax (`query:` arguments) the emulator needs.
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime

from graphql import GraphQLError

from .store import (
    CURRENCY,
    Level,
    ShopifyStore,
    cents_of,
    decimal_text,
    gid,
    graphql_time,
    level_gid,
    parse_gid,
)

MAX_PAGE = 250


# -- connections -------------------------------------------------------------------------------


def connection(items: list, *, first=None, after=None, last=None, before=None, **_ignored) -> dict:
    if first is None and last is None:
        raise GraphQLError("you must provide one of first or last")
    for name, size in (("first", first), ("last", last)):
        if size is not None and not 0 <= size <= MAX_PAGE:
            raise GraphQLError(f"{name} must be between 0 and {MAX_PAGE}")
    start, end = 0, len(items)
    if after is not None:
        start = _cursor_position(after) + 1
    if before is not None:
        end = min(end, _cursor_position(before))
    window = list(enumerate(items))[start:end]
    if first is not None:
        window = window[:first]
    if last is not None:
        window = window[-last:] if last else []
    edges = [{"cursor": _cursor(index), "node": node} for index, node in window]
    return {
        "edges": edges, "nodes": [edge["node"] for edge in edges],
        "pageInfo": {
            "hasNextPage": bool(window) and window[-1][0] < end - 1,
            "hasPreviousPage": bool(window) and window[0][0] > start,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


def _cursor(index: int) -> str:
    return base64.b64encode(f'{{"last_id":{index}}}'.encode()).decode()


def _cursor_position(cursor: str) -> int:
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode()
        return int(re.fullmatch(r'\{"last_id":(\d+)\}', text).group(1))
    except (ValueError, AttributeError, UnicodeDecodeError) as exc:
        raise GraphQLError(f"Invalid cursor for current pagination sort: {cursor}") from exc


# -- search syntax -----------------------------------------------------------------------------

_TERM = re.compile(r"""(-?)(\w+):(>=|<=|>|<)?("[^"]*"|'[^']*'|\S+)|(\S+)""")


def matches(record: dict, query: str | None) -> bool:
    """True when `record` (search field -> value) satisfies every term of `query`.

    Supports `field:value`, `field:>value` (also >=, <, <=), quoted values, `-field:value`
    and bare words (matched against "title"); AND is implied, OR is not supported.
    """
    if not query:
        return True
    for negate, name, op, raw, bare in _TERM.findall(query):
        if bare:
            if bare.upper() in ("AND",):
                continue
            ok = bare.lower() in str(record.get("title", "")).lower()
        else:
            ok = _compare(record.get(name.lower()), op, raw.strip("\"'"))
        if ok == bool(negate):
            return False
    return True


def _compare(value, op: str, wanted: str) -> bool:
    if value is None:
        return False
    if isinstance(value, datetime):
        bound = _parse_time(wanted)
        if bound is None:
            return False
        return _ordered(value, op, bound)
    if isinstance(value, int) and wanted.lstrip("-").isdigit():
        return _ordered(value, op, int(wanted))
    if op:
        return _ordered(str(value), op, wanted)
    return str(value).lower() == wanted.lower()


def _ordered(value, op: str, bound) -> bool:
    return {"": value == bound, ">": value > bound, ">=": value >= bound,
            "<": value < bound, "<=": value <= bound}[op]


def _parse_time(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# -- nodes ---------------------------------------------------------------------------------------


def money_bag(cents: int) -> dict:
    money = {"amount": decimal_text(cents), "currencyCode": CURRENCY}
    return {"shopMoney": money, "presentmentMoney": dict(money)}


class Nodes:
    """Builds GraphQL node dicts from store records."""

    def __init__(self, store: ShopifyStore, shop_domain: str):
        self.store = store
        self.shop_domain = shop_domain

    def shop(self) -> dict:
        return {"id": gid("Shop", 1), "name": "Mission Street Kitchen & Market",
                "myshopifyDomain": self.shop_domain, "currencyCode": CURRENCY}

    def product(self, product: dict) -> dict:
        variants = product["variants"]
        return {
            "id": product["admin_graphql_api_id"], "legacyResourceId": str(product["id"]),
            "title": product["title"], "handle": product["handle"], "status": "ACTIVE",
            "productType": product["product_type"], "vendor": product["vendor"],
            "createdAt": _gql_time(product["created_at"]), "updatedAt": _gql_time(product["updated_at"]),
            "totalInventory": sum(self.store.inventory_quantity(v) for v in variants),
            "variants": lambda info, **args: connection([self.variant(v) for v in variants], **args),
        }

    def variant(self, variant: dict) -> dict:
        product = self.store.product_of(variant)
        return {
            "id": variant["admin_graphql_api_id"], "legacyResourceId": str(variant["id"]),
            "sku": variant["sku"], "price": variant["price"], "title": variant["title"],
            "displayName": f"{product['title']} - {variant['title']}", "position": variant["position"],
            "inventoryQuantity": self.store.inventory_quantity(variant),
            "inventoryItem": lambda info: self.item(variant["inventory_item_id"]),
            "product": lambda info: self.product(product),
            "createdAt": _gql_time(variant["created_at"]), "updatedAt": _gql_time(variant["updated_at"]),
        }

    def item(self, item_id: int) -> dict | None:
        variant = self.store.variant_by_item.get(item_id)
        if variant is None:
            return None
        return {
            "id": gid("InventoryItem", item_id), "legacyResourceId": str(item_id),
            "sku": variant["sku"], "tracked": True,
            "variant": lambda info: self.variant(variant),
            "createdAt": _gql_time(variant["created_at"]), "updatedAt": _gql_time(variant["updated_at"]),
            "inventoryLevels": lambda info, **args: connection(
                [self.level(lv) for (_, item), lv in self.store.levels.items() if item == item_id], **args),
            "inventoryLevel": lambda info, locationId: self._level_at(parse_gid(locationId, "Location"),
                                                                      item_id),
        }

    def location(self, location_id: int) -> dict | None:
        location = self.store.locations.get(location_id)
        if location is None:
            return None
        return {
            "id": location["admin_graphql_api_id"], "legacyResourceId": str(location_id),
            "name": location["name"], "isActive": location["active"],
            "inventoryLevels": lambda info, **args: connection(
                [self.level(lv) for (loc, _), lv in self.store.levels.items() if loc == location_id],
                **args),
            "inventoryLevel": lambda info, inventoryItemId: self._level_at(
                location_id, parse_gid(inventoryItemId, "InventoryItem")),
        }

    def _level_at(self, location_id: int | None, item_id: int | None) -> dict | None:
        level = self.store.levels.get((location_id, item_id))
        return self.level(level) if level else None

    def level(self, level: Level) -> dict:
        level_id = level_gid(level.location_id, level.item_id)
        return {
            "id": level_id,
            "location": lambda info: self.location(level.location_id),
            "item": lambda info: self.item(level.item_id),
            "quantities": lambda info, names: [
                {"id": f"{level_id}&name={name}", "name": name, "quantity": level.quantity(name),
                 "updatedAt": graphql_time(level.updated_at)} for name in names],
            "createdAt": graphql_time(self.store.created), "updatedAt": graphql_time(level.updated_at),
        }

    def order(self, order: dict) -> dict:
        total = cents_of(order["total_price"])
        refunded = total - self.store.refundable_cents(order["id"])
        customer = order.get("customer")
        return {
            "id": order["admin_graphql_api_id"], "legacyResourceId": str(order["id"]),
            "name": order["name"], "email": order["email"], "test": order["test"],
            "createdAt": _gql_time(order["created_at"]), "updatedAt": _gql_time(order["updated_at"]),
            "processedAt": _gql_time(order["processed_at"]), "cancelledAt": None,
            "sourceName": order["source_name"], "currencyCode": CURRENCY,
            "displayFinancialStatus": order["financial_status"].upper(),
            "totalPriceSet": money_bag(total), "currentTotalPriceSet": money_bag(total - refunded),
            "totalRefundedSet": money_bag(refunded),
            "lineItems": lambda info, **args: connection(
                [self.line_item(order, line) for line in order["line_items"]], **args),
            "customer": self._customer(customer) if customer else None,
            "refunds": lambda info, first=None: [self._refund(r) for r in order["refunds"]][:first],
        }

    def line_item(self, order: dict, line: dict) -> dict:
        refunded = self.store.refunded_quantity(order, line["id"])
        variant = self.store.variants.get(line["variant_id"])
        return {
            "id": line["admin_graphql_api_id"], "name": line["name"], "title": line["title"],
            "sku": line["sku"], "quantity": line["quantity"],
            "currentQuantity": line["quantity"] - refunded,
            "refundableQuantity": line["quantity"] - refunded,
            "variant": (lambda info: self.variant(variant)) if variant else None,
            "originalUnitPriceSet": money_bag(cents_of(line["price"])),
        }

    @staticmethod
    def _customer(customer: dict) -> dict:
        name = " ".join(filter(None, (customer.get("first_name"), customer.get("last_name"))))
        return {"id": customer["admin_graphql_api_id"], "email": customer.get("email"),
                "phone": customer.get("phone"), "firstName": customer.get("first_name"),
                "lastName": customer.get("last_name"), "displayName": name or customer.get("email") or ""}

    @staticmethod
    def _refund(refund: dict) -> dict:
        cents = sum(cents_of(t["amount"]) for t in refund["transactions"])
        return {"id": refund["admin_graphql_api_id"], "createdAt": _gql_time(refund["created_at"]),
                "note": refund["note"], "totalRefundedSet": money_bag(cents)}


def _gql_time(rest_stamp: str) -> str:
    return graphql_time(datetime.fromisoformat(rest_stamp))
