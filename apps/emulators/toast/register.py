"""What happens at the Toast register itself, for the emulator's control API: a sale
rung up (turned into an Order request so it is priced and validated like any other) and
a refund recorded on the order's payment."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from apps.emulators.base import ControlError

from .menu import Restaurant, toast_amount
from .orders import business_date, toast_time


def to_cents(amount) -> int:
    return int((Decimal(str(amount)) * 100).to_integral_value())


def sale_order_body(restaurant: Restaurant, sale: dict) -> dict:
    """A control-API sale (`lines` of `sku`/`quantity`, optional `customer`) as a dine-in
    Order request."""
    dine_in = next(d for d in restaurant.dining_options if d["behavior"] == "DINE_IN")
    check = {"selections": [_selection(restaurant, line) for line in _sale_lines(sale)]}
    customer = _check_customer(sale.get("customer"))
    if customer:
        check["customer"] = customer
    return {"diningOption": {"guid": dine_in["guid"]}, "checks": [check]}


def sale_tip(tender: dict) -> int:
    """A control-API tender's `tip`, in cents."""
    tip = tender.get("tip", 0)
    if not isinstance(tip, int) or isinstance(tip, bool) or tip < 0:
        raise ControlError("tender.tip must be a non-negative integer in cents")
    return tip


def sale_discount(sale: dict) -> int:
    """A control-API sale's `discount`: cents off the check, as a manager applies one."""
    discount = sale.get("discount", 0)
    if not isinstance(discount, int) or isinstance(discount, bool) or discount < 0:
        raise ControlError("discount must be a non-negative integer in cents")
    return discount


def sale_tax(sale: dict) -> Decimal | None:
    """A control-API sale's `tax_percentage` (the restaurant's sales tax), if any."""
    value = sale.get("tax_percentage")
    if value is None:
        return None
    try:
        percentage = Decimal(str(value))
    except ArithmeticError:
        raise ControlError("tax_percentage must be a number") from None
    if not percentage.is_finite() or percentage < 0:
        raise ControlError("tax_percentage must be a non-negative number")
    return percentage


def _sale_lines(sale: dict) -> list[dict]:
    lines = sale.get("lines")
    if not isinstance(lines, list) or not lines:
        raise ControlError("lines must be a non-empty list")
    for line in lines:
        quantity = line.get("quantity") if isinstance(line, dict) else None
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
            raise ControlError("each line needs a sku and a positive integer quantity")
    return lines


def _selection(restaurant: Restaurant, line: dict) -> dict:
    item = restaurant.item_by_sku(line.get("sku"))
    if item is None:
        raise ControlError(f"unknown sku {line.get('sku')!r}")
    modifiers = []
    for modifier in line.get("modifiers") or []:
        option = next((o for o in restaurant.options.values()
                       if o.sku == modifier.get("sku")
                       and o.group_ref in item.modifier_group_refs), None)
        if option is None:
            raise ControlError(f"{modifier.get('sku')!r} is not a modifier of {item.sku}")
        modifiers.append({
            "item": {"guid": option.guid},
            "optionGroup": {"guid": restaurant.modifier_groups[option.group_ref].guid},
            "quantity": modifier.get("quantity", 1),
        })
    return {"item": {"guid": item.guid}, "itemGroup": {"guid": item.group_guid},
            "quantity": line["quantity"], "modifiers": modifiers}


def _check_customer(customer) -> dict | None:
    """A Concord-style customer (`name`, `phone`, `email`) as a Toast check customer."""
    if not isinstance(customer, dict):
        return None
    first, _, last = (customer.get("name") or "").partition(" ")
    mapped = {"firstName": first, "lastName": last or first,
              "email": customer.get("email") or "", "phone": customer.get("phone") or ""}
    return mapped if all(mapped.values()) else None


def refund_payment(restaurant: Restaurant, order: dict, amount: int, now: datetime) -> str:
    """Refund `amount` cents of the order's first payment, the way the payment shows it
    (`refundStatus`, `refund`); returns the refund transaction GUID. ControlError if the
    amount is not refundable."""
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise ControlError("amount must be a positive integer in cents")
    payment = next((p for c in order["checks"] for p in c["payments"]), None)
    if payment is None:
        raise ControlError("the order has no payment to refund")
    refunded = to_cents((payment.get("refund") or {}).get("refundAmount", 0))
    paid = to_cents(payment["amount"])
    if amount > paid - refunded:
        raise ControlError(f"amount exceeds the refundable {paid - refunded} cents")
    guid = str(uuid.uuid4())
    payment["refund"] = {
        "refundAmount": toast_amount(refunded + amount), "tipRefundAmount": 0,
        "refundDate": toast_time(now), "refundBusinessDate": business_date(restaurant, now),
        "refundTransaction": {"guid": guid, "entityType": "RefundTransaction"},
    }
    payment["refundStatus"] = "FULL" if refunded + amount >= paid else "PARTIAL"
    order["modifiedDate"] = toast_time(now)
    return guid
