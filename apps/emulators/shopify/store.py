"""The Shopify store the emulator holds: locations, products, inventory levels, orders,
refunds. Plain data and the operations on it; the HTTP, GraphQL and webhook layers live
in emulator.py and graphql_api.py. Callers hold the emulator's lock.

REST resource shapes follow SHOP-PY fixtures (fixtures/platforms/shopify_rest_*.json) and
CONNECTORS.md §4.2: ids are integers (they can exceed 2^53), prices are decimal strings.
"""

from __future__ import annotations

import hashlib
import itertools
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from apps.demo import demo_data
from apps.demo.dev_credentials import platform_location_id

CURRENCY = demo_data.CURRENCY
MAX_QUANTITY = 1_000_000_000  # Shopify: "The total quantity can't be higher than 1,000,000,000"


def stable_id(kind: str, key: str) -> int:
    """A deterministic 13-digit id for catalog objects, so restarts agree with Concord."""
    digest = hashlib.sha256(f"shopify:{kind}:{key}".encode()).hexdigest()
    return 1_000_000_000_000 * {"product": 8, "variant": 4, "item": 5}[kind] + int(digest[:12], 16) % 10**12


class BigIds:
    """Order, line, refund and transaction ids: time-based, so ids never repeat across
    restarts (Concord keeps the old ones), and above 2^50 like Shopify's."""

    def __init__(self):
        self._last = 0

    def next(self) -> int:
        self._last = max(self._last + 1, int(time.time() * 1000) * 1000)
        return self._last


def gid(kind: str, number: int | str) -> str:
    return f"gid://shopify/{kind}/{number}"


def parse_gid(value: object, kind: str) -> int | None:
    prefix = f"gid://shopify/{kind}/"
    if not isinstance(value, str) or not value.startswith(prefix):
        return None
    tail = value[len(prefix):]
    return int(tail) if tail.isdigit() else None


def level_gid(location_id: int, item_id: int) -> str:
    return f"gid://shopify/InventoryLevel/{location_id}?inventory_item_id={item_id}"


def decimal_text(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def cents_of(text: object) -> int | None:
    """Cents from a Shopify decimal string ("9.50") or number; None when it is not one."""
    try:
        value = round(float(str(text)) * 100)
    except (TypeError, ValueError):
        return None
    return int(value)


def rest_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def graphql_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Level:
    location_id: int
    item_id: int
    available: int
    on_hand: int
    updated_at: datetime
    unavailable: bool = False  # staff took the item off sale (the control API's available:false)

    def quantity(self, name: str) -> int:
        return {"available": self.available, "on_hand": self.on_hand,
                "committed": self.on_hand - self.available}.get(name, 0)

    def rest(self) -> dict:
        return {
            "inventory_item_id": self.item_id, "location_id": self.location_id,
            "available": self.available, "updated_at": rest_time(self.updated_at),
            "admin_graphql_api_id": level_gid(self.location_id, self.item_id),
        }


class ShopifyStore:
    def __init__(self, *, seed: bool):
        self.created = now()
        self.ids = BigIds()
        self.locations: dict[int, dict] = {}
        self.products: list[dict] = []
        self.variants: dict[int, dict] = {}
        self.variant_by_item: dict[int, dict] = {}
        self.variant_by_sku: dict[str, dict] = {}
        self.levels: dict[tuple[int, int], Level] = {}
        self.orders: dict[int, dict] = {}
        self.transactions: dict[int, list[dict]] = {}
        self.refunds: dict[int, dict] = {}
        self.order_numbers = itertools.count(1001)
        self.idempotent_results: dict[str, tuple[str, dict]] = {}
        self.clock: datetime | None = None  # a backdated control call's moment, else now
        if seed:
            self._seed()

    # -- seed -------------------------------------------------------------------------------

    def _seed(self) -> None:
        for location in demo_data.LOCATIONS:
            location_id = int(platform_location_id("shopify", location["code"]))
            self.locations[location_id] = {
                "id": location_id, "name": location["code"], "active": True,
                "country_code": "US", "legacy": False,
                "admin_graphql_api_id": gid("Location", location_id),
                "created_at": rest_time(self.created), "updated_at": rest_time(self.created),
            }
        for product in demo_data.PRODUCTS:
            self.products.append(self._product(product))
        for location_id, location in self.locations.items():
            for sku, variant in self.variant_by_sku.items():
                quantity = demo_data.opening_stock(location["name"], sku)
                item_id = variant["inventory_item_id"]
                self.levels[(location_id, item_id)] = Level(location_id, item_id, quantity, quantity,
                                                            self.created)

    def _product(self, product: dict) -> dict:
        first_sku = product["variants"][0]["sku"]
        product_id = stable_id("product", first_sku)
        stamp = rest_time(self.created)
        resource = {
            "id": product_id, "title": product["name"], "handle": _handle(product["name"]),
            "product_type": product["category"], "vendor": "Mission Street", "status": "active",
            "created_at": stamp, "updated_at": stamp, "published_at": stamp, "tags": "",
            "admin_graphql_api_id": gid("Product", product_id), "variants": [],
        }
        for position, variant in enumerate(product["variants"], start=1):
            variant_id = stable_id("variant", variant["sku"])
            item_id = stable_id("item", variant["sku"])
            record = {
                "id": variant_id, "product_id": product_id, "title": _variant_title(product, variant),
                "sku": variant["sku"], "price": decimal_text(variant["price"]), "position": position,
                "inventory_item_id": item_id, "inventory_management": "shopify",
                "inventory_policy": "deny", "requires_shipping": True, "taxable": True,
                "created_at": stamp, "updated_at": stamp,
                "admin_graphql_api_id": gid("ProductVariant", variant_id),
            }
            resource["variants"].append(record)
            self.variants[variant_id] = record
            self.variant_by_item[item_id] = record
            self.variant_by_sku[variant["sku"]] = record
        return resource

    # -- lookups ------------------------------------------------------------------------------

    def resolve_location(self, value: object) -> int | None:
        for location_id, location in self.locations.items():
            if value in (location_id, str(location_id), location["name"]):
                return location_id
        return None

    def product_of(self, variant: dict) -> dict:
        return next(p for p in self.products if p["id"] == variant["product_id"])

    def inventory_quantity(self, variant: dict) -> int:
        item_id = variant["inventory_item_id"]
        return sum(level.available for (_, item), level in self.levels.items() if item == item_id)

    # -- inventory ---------------------------------------------------------------------------

    def change(self, level: Level, name: str, delta: int) -> list[dict]:
        """Apply `delta` to quantity `name` of `level`; the changes as Shopify reports them
        (available moves on_hand with it, on_hand moves available with it)."""
        if delta == 0:
            return []
        level.available += delta
        level.on_hand += delta
        level.updated_at = now()
        names = ("available", "on_hand") if name in ("available", "on_hand") else (name,)
        return [{"name": quantity_name, "delta": delta, "quantityAfterChange": level.quantity(quantity_name),
                 "location_id": level.location_id, "item_id": level.item_id} for quantity_name in names]

    def commit(self, level: Level, quantity: int) -> None:
        """An order takes `quantity` out of `available` into committed; `on_hand` stays."""
        level.available -= quantity
        level.updated_at = now()

    # -- orders ------------------------------------------------------------------------------

    def shortages(self, location_id: int, lines: list[tuple[dict, int]]) -> list[str]:
        wanted: dict[int, int] = {}
        for variant, quantity in lines:
            wanted[variant["inventory_item_id"]] = wanted.get(variant["inventory_item_id"], 0) + quantity
        short = []
        for item_id, quantity in wanted.items():
            level = self.levels.get((location_id, item_id))
            available = 0 if level is None or level.unavailable else level.available
            if quantity > available:
                sku = self.variant_by_item[item_id]["sku"]
                short.append(f"{sku}: requested {quantity}, available {available}")
        return short

    def place_order(self, location_id: int, lines: list[tuple[dict, int]], customer: dict | None,
                    *, tax_rate: Decimal | None = None, discount: int = 0,
                    created: datetime | None = None) -> dict:
        """A paid storefront order: committed stock leaves `available`, `on_hand` stays
        until fulfilment (Shopify's committed quantity). A `discount` (cents, a code) is
        spread over the lines (`discount_allocations`); `tax_rate` (0.08875) taxes what
        each line costs after it (`tax_lines`); `subtotal_price` is after discounts,
        before tax, as in SHOP-PY's order fixture."""
        created = created or now()
        order_id = self.ids.next()
        number = next(self.order_numbers)
        line_items = [self._line_item(variant, quantity) for variant, quantity in lines]
        gross = sum(cents_of(line["price"]) * line["quantity"] for line in line_items)
        discount = min(discount, gross)
        tax = _discount_and_tax(line_items, discount, tax_rate)
        total = gross - discount + tax
        order = {
            "id": order_id, "admin_graphql_api_id": gid("Order", order_id), "name": f"#{number}",
            "order_number": number, "number": number - 1000, "email": (customer or {}).get("email", ""),
            "phone": (customer or {}).get("phone"),
            "currency": CURRENCY, "presentment_currency": CURRENCY,
            "total_price": decimal_text(total), "subtotal_price": decimal_text(gross - discount),
            "total_line_items_price": decimal_text(gross),
            "current_total_price": decimal_text(total), "total_tax": decimal_text(tax),
            "total_discounts": decimal_text(discount), "taxes_included": False,
            "tax_lines": [{"price": decimal_text(tax), "rate": float(tax_rate), "title": "Sales Tax"}]
            if tax_rate is not None else [],
            "discount_codes": [{"code": "WELCOME", "amount": decimal_text(discount), "type": "fixed_amount"}]
            if discount else [],
            "discount_applications": [{"type": "discount_code", "code": "WELCOME",
                                       "value": decimal_text(discount), "value_type": "fixed_amount",
                                       "allocation_method": "across", "target_selection": "all",
                                       "target_type": "line_item"}]
            if discount else [],
            "financial_status": "paid", "fulfillment_status": None, "confirmed": True, "test": False,
            "source_name": "web", "gateway": "shopify_payments", "tags": "", "note": None,
            "created_at": rest_time(created), "updated_at": rest_time(created),
            "processed_at": rest_time(created), "cancelled_at": None, "closed_at": None,
            "location_id": location_id, "line_items": line_items, "refunds": [],
            "customer": self._customer(customer) if customer else None,
            "shipping_lines": [], "shipping_address": None, "billing_address": None,
        }
        self.orders[order_id] = order
        self.transactions[order_id] = [self._transaction(order, "sale", total, None, created)]
        return order

    def _line_item(self, variant: dict, quantity: int) -> dict:
        line_id = self.ids.next()
        product = self.product_of(variant)
        return {
            "id": line_id, "admin_graphql_api_id": gid("LineItem", line_id),
            "variant_id": variant["id"], "product_id": variant["product_id"], "sku": variant["sku"],
            "quantity": quantity, "price": variant["price"], "title": product["title"],
            "variant_title": variant["title"], "name": f"{product['title']} - {variant['title']}",
            "fulfillable_quantity": quantity, "fulfillment_status": None, "requires_shipping": True,
            "taxable": True, "gift_card": False, "properties": [], "total_discount": "0.00",
            "tax_lines": [], "product_exists": True, "fulfillment_service": "manual",
            "variant_inventory_management": "shopify", "vendor": "Mission Street", "grams": 0,
        }

    def _customer(self, customer: dict) -> dict:
        first, _, last = (customer.get("name") or "").partition(" ")
        customer_id = self.ids.next()
        return {
            "id": customer_id, "admin_graphql_api_id": gid("Customer", customer_id),
            "email": customer.get("email"), "phone": customer.get("phone"),
            "first_name": customer.get("first_name", first or None),
            "last_name": customer.get("last_name", last or None),
        }

    def _transaction(self, order: dict, kind: str, cents: int, parent_id: int | None,
                     created: datetime) -> dict:
        transaction_id = self.ids.next()
        return {
            "id": transaction_id, "order_id": order["id"], "amount": decimal_text(cents),
            "kind": kind, "gateway": "shopify_payments", "status": "success", "message": None,
            "created_at": rest_time(created), "processed_at": rest_time(created), "test": False,
            "authorization": None, "currency": CURRENCY, "location_id": None, "user_id": None,
            "parent_id": parent_id, "device_id": None, "receipt": {}, "error_code": None,
            "source_name": "web",
            "admin_graphql_api_id": gid("OrderTransaction", transaction_id),
            "payment_details": {"credit_card_bin": "424242", "avs_result_code": None,
                                "cvv_result_code": None, "credit_card_number": "XXXX-XXXX-XXXX-4242",
                                "credit_card_company": "Visa"},
        }

    # -- refunds -----------------------------------------------------------------------------

    def refundable_cents(self, order_id: int) -> int:
        paid = sum(cents_of(t["amount"]) for t in self.transactions[order_id] if t["kind"] == "sale")
        refunded = sum(cents_of(t["amount"]) for t in self.transactions[order_id] if t["kind"] == "refund")
        return paid - refunded

    def refunded_quantity(self, order: dict, line_id: int) -> int:
        return sum(item["quantity"] for refund in order["refunds"]
                   for item in refund["refund_line_items"] if item["line_item_id"] == line_id)

    def record_refund(self, order: dict, *, note: str | None, line_refunds: list[dict],
                      refund_cents: int, parent_id: int | None) -> dict:
        """Store a validated refund: its lines, its money transaction, and the order's status."""
        created = self.clock or now()
        refund_id = self.ids.next()
        transactions = []
        if refund_cents:
            transaction = self._transaction(order, "refund", refund_cents, parent_id, created)
            self.transactions[order["id"]].append(transaction)
            transactions.append(transaction)
        refund = {
            "id": refund_id, "order_id": order["id"], "admin_graphql_api_id": gid("Refund", refund_id),
            "created_at": rest_time(created), "processed_at": rest_time(created), "note": note,
            "restock": any(item["restock_type"] != "no_restock" for item in line_refunds),
            "user_id": None, "refund_line_items": line_refunds, "transactions": transactions,
            "order_adjustments": [], "duties": [],
        }
        order["refunds"].append(refund)
        self.refunds[refund_id] = refund
        remaining = self.refundable_cents(order["id"])
        order["financial_status"] = "refunded" if remaining <= 0 else "partially_refunded"
        order["updated_at"] = rest_time(created)
        return refund


def _handle(name: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in name.lower()).split())


def _variant_title(product: dict, variant: dict) -> str:
    if len(product["variants"]) == 1:
        return "Default Title"
    prefix = f"{product['name']}, "
    return variant["name"][len(prefix):] if variant["name"].startswith(prefix) else variant["name"]


def _discount_and_tax(line_items: list[dict], discount: int, tax_rate: Decimal | None) -> int:
    """Allocate `discount` over the lines by their price (largest remainder) and tax each
    line's rest at `tax_rate`, half up; returns the order's tax."""
    amounts = [cents_of(line["price"]) * line["quantity"] for line in line_items]
    gross = sum(amounts) or 1
    shares = [discount * amount // gross for amount in amounts]
    order = sorted(range(len(amounts)), key=lambda i: -(discount * amounts[i] % gross))
    for index in order[:discount - sum(shares)]:
        shares[index] += 1
    tax = 0
    for line, amount, share in zip(line_items, amounts, shares, strict=True):
        if share:
            line["total_discount"] = decimal_text(share)
            line["discount_allocations"] = [{"amount": decimal_text(share), "discount_application_index": 0}]
        if tax_rate is not None:
            line_tax = int((Decimal(amount - share) * tax_rate).to_integral_value(ROUND_HALF_UP))
            line["tax_lines"] = [{"price": decimal_text(line_tax), "rate": float(tax_rate),
                                  "title": "Sales Tax"}]
            tax += line_tax
    return tax
