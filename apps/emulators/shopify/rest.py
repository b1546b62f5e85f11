"""The legacy REST Admin endpoints the emulator serves (CONNECTORS.md §4.3, §4.4).

Shapes follow SHOP-PY fixtures (fixtures/platforms/shopify_rest_inventory_level(s).json,
shopify_rest_refund.json). Errors use Shopify's REST envelope `{"errors": ...}`: 404
`"Not Found"`, 422 with a field -> messages map. The exact 422 wording is [unverified].
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from apps.emulators.base import Request

from .store import MAX_QUANTITY, Level, cents_of, decimal_text

if TYPE_CHECKING:
    from .emulator import ShopifyEmulator

DEFAULT_LIMIT = 50
MAX_LIMIT = 250
RESTOCK_TYPES = ("no_restock", "cancel", "return", "legacy_restock")


class RestError(Exception):
    def __init__(self, status: int, errors):
        super().__init__(str(errors))
        self.status = status
        self.errors = errors


def not_found() -> RestError:
    return RestError(404, "Not Found")


def unprocessable(field: str, message: str) -> RestError:
    return RestError(422, {field: [message]})


class RestApi:
    def __init__(self, emulator: ShopifyEmulator):
        self.emulator = emulator
        self.store = emulator.store

    # -- reads -------------------------------------------------------------------------------

    def products(self, request: Request) -> dict:
        limit = _limit(request)
        ids = _id_list(request, "ids")
        since_id = _int_arg(request, "since_id") or 0
        products = [p for p in self.store.products
                    if p["id"] > since_id and (ids is None or p["id"] in ids)]
        products.sort(key=lambda p: p["id"])
        return {"products": [self._product(p) for p in products[:limit]]}

    def _product(self, product: dict) -> dict:
        variants = [{**v, "inventory_quantity": self.store.inventory_quantity(v)}
                    for v in product["variants"]]
        return {**product, "variants": variants}

    def locations(self, request: Request) -> dict:
        return {"locations": list(self.store.locations.values())}

    def inventory_levels(self, request: Request) -> dict:
        item_ids = _id_list(request, "inventory_item_ids")
        location_ids = _id_list(request, "location_ids")
        if item_ids is None and location_ids is None:
            raise unprocessable("base", "inventory_item_ids, location_ids, or both are required")
        limit = _limit(request)
        levels = [level.rest() for (location_id, item_id), level in self.store.levels.items()
                  if (item_ids is None or item_id in item_ids)
                  and (location_ids is None or location_id in location_ids)]
        return {"inventory_levels": levels[:limit]}

    def orders(self, request: Request) -> dict:
        limit = _limit(request)
        ids = _id_list(request, "ids")
        since_id = _int_arg(request, "since_id") or 0
        status = request.arg("status", "open")
        if status not in ("open", "closed", "cancelled", "any"):
            raise unprocessable("status", "is invalid")
        orders = [o for o in self.store.orders.values()
                  if o["id"] > since_id and (ids is None or o["id"] in ids)
                  and status in ("open", "any") and _in_time_window(o, request)]
        orders.sort(key=lambda o: o["id"])
        return {"orders": orders[:limit]}

    def order(self, request: Request) -> dict:
        return {"order": self._order(request)}

    def transactions(self, request: Request) -> dict:
        """`GET orders/{id}/transactions.json` (SHOP-JS `transaction.ts`), oldest first."""
        return {"transactions": list(self.store.transactions[self._order(request)["id"]])}

    def refunds(self, request: Request) -> dict:
        """`GET orders/{id}/refunds.json` (PLATFORM_MONEY §2.2: refunds are per order), oldest first."""
        return {"refunds": list(self._order(request)["refunds"])}

    def _order(self, request: Request) -> dict:
        order = self.store.orders.get(int(request.params["order_id"]))
        if order is None:
            raise not_found()
        return order

    # -- inventory writes ------------------------------------------------------------------------

    def set_level(self, body: dict) -> dict:
        level = self._level(body)
        available = body.get("available")
        if not isinstance(available, int) or isinstance(available, bool):
            raise unprocessable("available", "must be an integer")
        if abs(available) > MAX_QUANTITY:
            raise unprocessable("available", "must be less than or equal to 1000000000")
        if self.store.change(level, "available", available - level.available):
            self.emulator.send_level_updates([level])
        return {"inventory_level": level.rest()}

    def adjust_level(self, body: dict) -> dict:
        level = self._level(body)
        delta = body.get("available_adjustment")
        if not isinstance(delta, int) or isinstance(delta, bool):
            raise unprocessable("available_adjustment", "must be an integer")
        if self.store.change(level, "available", delta):
            self.emulator.send_level_updates([level])
        return {"inventory_level": level.rest()}

    def _level(self, body: dict) -> Level:
        location_id = body.get("location_id")
        item_id = body.get("inventory_item_id")
        if location_id not in self.store.locations:
            raise unprocessable("location_id", "is invalid")
        if item_id not in self.store.variant_by_item:
            raise unprocessable("inventory_item_id", "is invalid")
        level = self.store.levels.get((location_id, item_id))
        if level is None:
            raise unprocessable("base", "Inventory item is not stocked at the location")
        return level

    # -- refunds ----------------------------------------------------------------------------------

    def create_refund(self, order: dict, refund: object) -> dict:
        """Validate and record `POST /orders/{id}/refunds.json`'s `refund` object."""
        if not isinstance(refund, dict):
            raise RestError(400, {"refund": "Required parameter missing or invalid"})
        line_refunds = [self._line_refund(order, item, index)
                        for index, item in enumerate(refund.get("refund_line_items") or [])]
        self._check_line_totals(order, line_refunds)
        cents, parent_id = self._transactions(order, refund.get("transactions") or [])
        recorded = self.store.record_refund(order, note=refund.get("note"), line_refunds=line_refunds,
                                            refund_cents=cents, parent_id=parent_id)
        for transaction in recorded["transactions"]:  # the money leaves the Payments balance
            self.emulator.payments.refund(order, transaction)
        self._restock(line_refunds)
        self.emulator.send_webhook_topic("refunds/create", recorded)
        return recorded

    def _line_refund(self, order: dict, item: object, index: int) -> dict:
        field = f"refund_line_items[{index}]"
        if not isinstance(item, dict):
            raise unprocessable(field, "is invalid")
        line = next((li for li in order["line_items"] if li["id"] == item.get("line_item_id")), None)
        if line is None:
            raise unprocessable(f"{field}.line_item_id", "is invalid")
        quantity = item.get("quantity")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
            raise unprocessable(f"{field}.quantity", "must be greater than 0")
        restock_type = item.get("restock_type", "no_restock")
        if restock_type not in RESTOCK_TYPES:
            raise unprocessable(f"{field}.restock_type", "is not included in the list")
        location_id = item.get("location_id") or order.get("location_id")
        if restock_type != "no_restock" and location_id not in self.store.locations:
            raise unprocessable(f"{field}.location_id", "is invalid")
        return {
            "id": self.store.ids.next(), "quantity": quantity, "line_item_id": line["id"],
            "location_id": location_id if restock_type != "no_restock" else None,
            "restock_type": restock_type,
            "subtotal": decimal_text(cents_of(line["price"]) * quantity), "total_tax": "0.00",
            "line_item": dict(line),
        }

    def _check_line_totals(self, order: dict, line_refunds: list[dict]) -> None:
        wanted: dict[int, int] = {}
        for item in line_refunds:
            wanted[item["line_item_id"]] = wanted.get(item["line_item_id"], 0) + item["quantity"]
        for line in order["line_items"]:
            already = self.store.refunded_quantity(order, line["id"])
            if wanted.get(line["id"], 0) + already > line["quantity"]:
                raise unprocessable("refund_line_items.quantity",
                                    "cannot refund more items than were purchased")

    def _transactions(self, order: dict, transactions: object) -> tuple[int, int | None]:
        if not isinstance(transactions, list):
            raise unprocessable("transactions", "is invalid")
        sales = {t["id"] for t in self.store.transactions[order["id"]] if t["kind"] == "sale"}
        total, parent_id = 0, None
        for index, transaction in enumerate(transactions):
            field = f"transactions[{index}]"
            if not isinstance(transaction, dict) or transaction.get("kind", "refund") != "refund":
                raise unprocessable(f"{field}.kind", "must be refund")
            if transaction.get("parent_id") not in sales:
                raise unprocessable(f"{field}.parent_id", "is invalid")
            cents = cents_of(transaction.get("amount"))
            if cents is None or cents <= 0:
                raise unprocessable(f"{field}.amount", "must be greater than 0")
            total += cents
            parent_id = transaction["parent_id"]
        remaining = self.store.refundable_cents(order["id"])
        if total > remaining:
            raise unprocessable("base", f"Refund amount ${decimal_text(total)} is greater than net "
                                        f"payment received ${decimal_text(remaining)}")
        return total, parent_id

    def _restock(self, line_refunds: list[dict]) -> None:
        moved = []
        for item in line_refunds:
            if item["restock_type"] == "no_restock":
                continue
            variant = self.store.variants[item["line_item"]["variant_id"]]
            level = self.store.levels.get((item["location_id"], variant["inventory_item_id"]))
            if level is not None and self.store.change(level, "available", item["quantity"]):
                moved.append(level)
        self.emulator.send_level_updates(moved)


def _limit(request: Request) -> int:
    limit = _int_arg(request, "limit")
    if limit is None:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise RestError(400, {"limit": f"must be between 1 and {MAX_LIMIT}"})
    return limit


def _int_arg(request: Request, name: str) -> int | None:
    raw = request.arg(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit():
        raise RestError(400, {name: "is invalid"})
    return int(raw)


def _id_list(request: Request, name: str) -> set[int] | None:
    raw = request.arg(name)
    if not raw:
        return None
    parts = [part.strip() for part in raw.split(",") if part.strip()]
    if not all(part.isdigit() for part in parts):
        raise RestError(400, {name: "is invalid"})
    return {int(part) for part in parts}


def _in_time_window(order: dict, request: Request) -> bool:
    for key, field in (("created_at_min", "created_at"), ("created_at_max", "created_at"),
                       ("updated_at_min", "updated_at"), ("updated_at_max", "updated_at")):
        raw = request.arg(key)
        if not raw:
            continue
        try:
            bound = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError as exc:
            raise RestError(400, {key: "is invalid"}) from exc
        value = datetime.fromisoformat(order[field])
        if bound.tzinfo is None:
            bound = bound.replace(tzinfo=value.tzinfo)
        if (key.endswith("_min") and value < bound) or (key.endswith("_max") and value > bound):
            return False
    return True
