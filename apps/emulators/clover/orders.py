"""Clover orders in the emulator: line items, totals and the Order document.

Follows CONNECTORS.md §3.2: the atomic flow (`orderCart`, totals computed by Clover, at
most 3,000 line items) and the custom flow (an order shell, then line items; Clover does
not recompute a custom order's `total`). A line item names an inventory item or carries
its own `price`; each modification snapshots a modifier and adds its price. Money is in
cents and times in epoch milliseconds. No verbatim Clover order example exists in our
facts, so the response shape is [secondary].
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from apps.emulators.base import ControlError

from .data import Item, Merchant, new_id

MAX_LINE_ITEMS = 3000
# [unverified] whether `unitQty` counts thousandths (1000 = one unit) or units; Clover's
# per-unit items use thousandths, so that is the emulator's reading.
UNIT_QTY_SCALE = 1000


class OrderRejected(Exception):
    """A request Clover answers with 400 (or `status`)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass
class Order:
    id: str
    merchant_id: str
    created: int
    modified: int
    source: str  # who made it: "api", "api-atomic" or "register" (the emulator's own tag)
    state: str | None = None  # None = "unfinished": fetchable by id, never listed
    title: str | None = None
    note: str | None = None
    order_type_id: str | None = None
    currency: str = "USD"
    total: int = 0
    tax_removed: bool = False
    test_mode: bool = False
    manual_transaction: bool = False
    group_line_items: bool = False
    payment_state: str | None = "OPEN"
    line_items: list[dict] = field(default_factory=list)
    payments: list[dict] = field(default_factory=list)
    refunds: list[dict] = field(default_factory=list)
    customers: list[dict] = field(default_factory=list)

    # Fields `POST /orders` and `POST /orders/{id}` may set, by their API name.
    WRITABLE = {"state": "state", "title": "title", "note": "note", "currency": "currency",
                "total": "total", "taxRemoved": "tax_removed", "testMode": "test_mode",
                "manualTransaction": "manual_transaction",
                "groupLineItems": "group_line_items"}


def line_units(line: dict) -> Decimal:
    unit_qty = line.get("unitQty")
    return Decimal(1) if unit_qty is None else Decimal(unit_qty) / UNIT_QTY_SCALE


def line_total(line: dict) -> int:
    extras = sum(m["amount"] for m in line["modifications"]["elements"])
    value = (Decimal(line["price"]) + extras) * line_units(line)
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def build_line_item(merchant: Merchant, body, order_id: str, now: int, where: str) -> dict:
    """A line item from a request body; OrderRejected when Clover would refuse it."""
    if not isinstance(body, dict):
        raise OrderRejected(f"{where} must be an object")
    item = _referenced_item(merchant, body.get("item"), where)
    price = body.get("price", item.price if item else None)
    if not _is_int(price):
        raise OrderRejected(f"{where} needs an inventory item or a price in cents")
    unit_qty = body.get("unitQty")
    if unit_qty is not None and (not _is_int(unit_qty) or unit_qty <= 0):
        raise OrderRejected(f"{where}.unitQty must be a positive integer")
    line = {
        "id": new_id(), "orderRef": {"id": order_id}, "name": body.get("name") or (
            item.name if item else ""),
        "alternateName": body.get("alternateName", item.alternate_name if item else ""),
        "price": price, "itemCode": item.code if item else None, "printed": False,
        "createdTime": now, "orderClientCreatedTime": now, "exchanged": False,
        "refunded": False, "isRevenue": True, "note": body.get("note"),
        "modifications": {"elements": _modifications(merchant, body, where)},
    }
    if item is not None:
        line["item"] = {"id": item.id}
    if unit_qty is not None:
        line["unitQty"] = unit_qty
    return line


def _referenced_item(merchant: Merchant, reference, where: str) -> Item | None:
    if reference is None:
        return None
    item_id = reference.get("id") if isinstance(reference, dict) else None
    item = merchant.items.get(item_id) if isinstance(item_id, str) else None
    if item is None:
        raise OrderRejected(f"{where}.item: no inventory item {item_id!r}")
    return item


def _modifications(merchant: Merchant, body: dict, where: str) -> list[dict]:
    requested = body.get("modifications") or []
    if not isinstance(requested, list):
        raise OrderRejected(f"{where}.modifications must be a list")
    found = []
    for index, modification in enumerate(requested):
        reference = modification.get("modifier") if isinstance(modification, dict) else None
        modifier_id = reference.get("id") if isinstance(reference, dict) else None
        modifier = merchant.modifiers.get(modifier_id) if isinstance(modifier_id, str) else None
        if modifier is None:
            raise OrderRejected(f"{where}.modifications[{index}]: no modifier {modifier_id!r}")
        found.append({"id": new_id(), "name": modifier.name, "alternateName": "",
                      "amount": modifier.price, "modifier": {"id": modifier.id}})
    return found


def cart_line_items(merchant: Merchant, cart: dict, order_id: str, now: int) -> list[dict]:
    lines = cart.get("lineItems")
    if not isinstance(lines, list) or not lines:
        raise OrderRejected("orderCart.lineItems must be a non-empty list")
    if len(lines) > MAX_LINE_ITEMS:
        raise OrderRejected(f"an order may hold at most {MAX_LINE_ITEMS} line items")
    return [build_line_item(merchant, line, order_id, now, f"orderCart.lineItems[{index}]")
            for index, line in enumerate(lines)]


def order_type_id(merchant: Merchant, reference) -> str | None:
    if reference is None:
        return None
    type_id = reference.get("id") if isinstance(reference, dict) else None
    if type_id not in merchant.order_types:
        raise OrderRejected(f"orderType: no order type {type_id!r}")
    return type_id


def apply_order_fields(order: Order, merchant: Merchant, body: dict) -> None:
    """Set the writable fields a create/update body names (others are ignored)."""
    for api_name, attribute in Order.WRITABLE.items():
        if api_name in body:
            value = body[api_name]
            if attribute == "total" and not _is_int(value):
                raise OrderRejected("total must be an integer amount in cents")
            setattr(order, attribute, value)
    if "orderType" in body:
        order.order_type_id = order_type_id(merchant, body["orderType"])


def order_document(order: Order, expand: set[str], base_url: str) -> dict:
    doc = {
        "href": f"{base_url}/v3/merchants/{order.merchant_id}/orders/{order.id}",
        "id": order.id, "currency": order.currency, "total": order.total,
        "title": order.title, "note": order.note, "taxRemoved": order.tax_removed,
        "isVat": False, "state": order.state, "manualTransaction": order.manual_transaction,
        "groupLineItems": order.group_line_items, "testMode": order.test_mode,
        "payType": "FULL" if order.payments else None, "paymentState": order.payment_state,
        "createdTime": order.created, "clientCreatedTime": order.created,
        "modifiedTime": order.modified,
    }
    if order.order_type_id:
        doc["orderType"] = {"id": order.order_type_id}
    if "lineItems" in expand or "lineItems.modifications" in expand:
        doc["lineItems"] = {"elements": [
            _line_document(line, with_modifications="lineItems.modifications" in expand)
            for line in order.line_items
        ]}
    if "payments" in expand:
        doc["payments"] = {"elements": [dict(p) for p in order.payments]}
    if "customers" in expand:
        doc["customers"] = {"elements": [_customer_document(c, expand) for c in order.customers]}
    if "refunds" in expand:
        doc["refunds"] = {"elements": [dict(r) for r in order.refunds]}
    return doc


def _customer_document(customer: dict, expand: set[str]) -> dict:
    """CLV-SDK `Customer`; its email addresses and phone numbers when expanded."""
    doc = {k: v for k, v in customer.items() if k not in ("emailAddresses", "phoneNumbers")}
    for nested in ("emailAddresses", "phoneNumbers"):
        if f"customers.{nested}" in expand:
            doc[nested] = {"elements": [dict(e) for e in customer[nested]]}
    return doc


def sale_customers(customer, created: int) -> list[dict]:
    """A control-API sale's `customer` (`name`, `email`, `phone`) as the register's
    Customer on the order (CLV-SDK `Customer`, `EmailAddress`, `PhoneNumber`)."""
    if not isinstance(customer, dict) or not customer:
        return []
    first, _, last = (customer.get("name") or "").partition(" ")
    customer_id = new_id()
    emails = [{"id": new_id(), "emailAddress": customer["email"], "primaryEmail": True,
               "customer": {"id": customer_id}}] if customer.get("email") else []
    phones = [{"id": new_id(), "phoneNumber": customer["phone"], "customer": {"id": customer_id}}
              ] if customer.get("phone") else []
    return [{"id": customer_id, "firstName": first or None, "lastName": last or None,
             "marketingAllowed": False, "customerSince": created,
             "emailAddresses": emails, "phoneNumbers": phones}]


def sale_tip(tender: dict) -> int:
    tip = tender.get("tip", 0)
    if not isinstance(tip, int) or isinstance(tip, bool) or tip < 0:
        raise ControlError("tender.tip must be a non-negative integer in cents")
    return tip


def sale_tax(subtotal: int, percentage) -> int:
    """The merchant's sales tax on a register sale, in cents (half up)."""
    if percentage is None:
        return 0
    try:
        rate = Decimal(str(percentage))
    except ArithmeticError:
        raise ControlError("tax_percentage must be a number") from None
    if not rate.is_finite() or rate < 0:
        raise ControlError("tax_percentage must be a non-negative number")
    return int((Decimal(subtotal) * rate / 100).to_integral_value(ROUND_HALF_UP))


def _line_document(line: dict, *, with_modifications: bool) -> dict:
    doc = {k: v for k, v in line.items() if k != "modifications"}
    if with_modifications:
        doc["modifications"] = {"elements": [dict(m) for m in line["modifications"]["elements"]]}
    return doc


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
