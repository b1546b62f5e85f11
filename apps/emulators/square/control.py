"""What staff do at the Square register, for the control API (`/__emulator/sale`, `stock`,
`refund`): each changes the emulator's state and sends the webhooks Square would send.

Payment and tender shapes follow SQ-SPEC `Payment`, `Tender` and
fixtures/platforms/square_webhook_payment_updated.json.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from apps.emulators.base import ControlError

from .inventory import Change
from .orders import add_totals
from .support import SquareError, money, now, random_id, rfc3339

if TYPE_CHECKING:
    from .emulator import SquareEmulator

POS_SOURCE = "Square Point of Sale"


def ring_sale(emulator: SquareEmulator, body: dict) -> dict:
    location_id = emulator.resolve_location(body.get("location"))
    order_body = {
        "location_id": location_id, "source": {"name": POS_SOURCE},
        "line_items": [_line(emulator, line, index) for index, line in enumerate(_lines(body))],
    }
    created = now()
    try:
        order = emulator.builder().build(order_body, order_id=random_id(), created_at=created)
    except SquareError as error:
        raise ControlError(f"sale rejected: {error.detail}") from error
    customer_id = _customer(emulator, body.get("customer"), created)
    if customer_id:
        order["customer_id"] = customer_id
    payment = _pay(emulator, order, (body.get("tender") or {}).get("type", "card"), created)
    if customer_id:
        payment["customer_id"] = customer_id
    emulator.store_order(order, None)
    return {"accepted": True, "order_id": order["id"], "payment_id": payment["id"]}


def _lines(body: dict) -> list[dict]:
    lines = body.get("lines")
    if not isinstance(lines, list) or not lines:
        raise ControlError("lines must be a non-empty list")
    return lines


def _line(emulator: SquareEmulator, line: dict, index: int) -> dict:
    if not isinstance(line, dict):
        raise ControlError(f"lines[{index}] must be an object")
    variation = emulator.catalog.variation_by_sku.get(line.get("sku"))
    if variation is None:
        raise ControlError(f"lines[{index}]: unknown sku {line.get('sku')!r}")
    quantity = line.get("quantity", 1)
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
        raise ControlError(f"lines[{index}].quantity must be a positive integer")
    result = {"catalog_object_id": variation["id"], "quantity": str(quantity)}
    modifiers = []
    for mod in line.get("modifiers") or []:
        modifier = emulator.catalog.modifier_by_sku.get(mod.get("sku"))
        if modifier is None:
            raise ControlError(f"lines[{index}]: unknown modifier sku {mod.get('sku')!r}")
        modifiers.append({"catalog_object_id": modifier["id"], "quantity": str(mod.get("quantity", 1))})
    if modifiers:
        result["modifiers"] = modifiers
    return result


def _customer(emulator: SquareEmulator, customer: object, created) -> str | None:
    if not isinstance(customer, dict) or not customer:
        return None
    given, _, family = (customer.get("name") or "").partition(" ")
    record = {"id": random_id(26), "created_at": rfc3339(created), "updated_at": rfc3339(created),
              "given_name": customer.get("given_name", given),
              "family_name": customer.get("family_name", family),
              "email_address": customer.get("email"), "phone_number": customer.get("phone"),
              "creation_source": "THIRD_PARTY"}
    record = {key: value for key, value in record.items() if value}
    emulator.customers[record["id"]] = record
    return record["id"]


def _pay(emulator: SquareEmulator, order: dict, tender_type: str, created) -> dict:
    """Close the order with one tender paying it in full, and the matching Payment."""
    amount = order["total_money"]["amount"]
    payment_id = random_id()
    stamp = rfc3339(created)
    is_cash = str(tender_type).lower() == "cash"
    tender = {"id": payment_id, "location_id": order["location_id"], "transaction_id": order["id"],
              "created_at": stamp, "amount_money": money(amount), "type": "CASH" if is_cash else "CARD"}
    payment = {
        "id": payment_id, "created_at": stamp, "updated_at": stamp, "amount_money": money(amount),
        "total_money": money(amount), "approved_money": money(amount), "status": "COMPLETED",
        "source_type": "CASH" if is_cash else "CARD", "location_id": order["location_id"],
        "order_id": order["id"], "receipt_number": payment_id[:4], "version_token": random_id(45),
    }
    if is_cash:
        tender["cash_details"] = {"buyer_tendered_money": money(amount), "change_back_money": money(0)}
        payment["cash_details"] = dict(tender["cash_details"])
    else:
        card = {"card_brand": "VISA", "last_4": "1111", "card_type": "CREDIT"}
        tender["card_details"] = {"status": "CAPTURED", "card": card, "entry_method": "EMV"}
        payment["card_details"] = {"status": "CAPTURED", "card": card, "entry_method": "EMV"}
    order.update(tenders=[tender], state="COMPLETED", closed_at=stamp)
    add_totals(order)
    emulator.payments[payment_id] = payment
    return payment


def set_stock(emulator: SquareEmulator, body: dict) -> dict:
    """Staff recount or 86 an item: a physical count and/or the seller's sold-out flag."""
    location_id = emulator.resolve_location(body.get("location"))
    variation = emulator.catalog.variation_by_sku.get(body.get("sku"))
    if variation is None:
        raise ControlError(f"unknown sku {body.get('sku')!r}")
    quantity = body.get("quantity")
    if quantity is not None:
        if not isinstance(quantity, int) or isinstance(quantity, bool):
            raise ControlError("quantity must be an integer or null")
        emulator.apply_changes(
            [Change("count", location_id, variation["id"], Decimal(quantity), now())],
            ignore_unchanged=True)
    cell = emulator.stock_cell(location_id, variation["id"], now())
    if "available" in body:
        if not isinstance(body["available"], bool):
            raise ControlError("available must be true or false")
        wanted = not body["available"]
        if cell.manual_sold_out != wanted:
            cell.manual_sold_out = wanted
            _bump_catalog_version(emulator, variation)
    return {"ok": True, "count": cell.count(), "sold_out": cell.sold_out}


def _bump_catalog_version(emulator: SquareEmulator, variation: dict) -> None:
    stamp = now()
    emulator.catalog_version = max(emulator.catalog_version + 1, int(stamp.timestamp() * 1000))
    emulator.catalog_updated_at = rfc3339(stamp)
    variation["version"] = emulator.catalog_version
    variation["updated_at"] = emulator.catalog_updated_at
    emulator.send_event("catalog.version.updated", "catalog_version", random_id(36),
                    {"catalog_version": {"updated_at": emulator.catalog_updated_at}})


def make_refund(emulator: SquareEmulator, body: dict) -> dict:
    """A refund made at the register against the order's payment (amount in cents; default
    everything still refundable). The lines are recorded on the refund's reason only:
    Square's return orders are not emulated."""
    order = emulator.orders.get(body.get("order_id"))
    if order is None:
        raise ControlError(f"unknown order {body.get('order_id')!r}", status=404)
    payment = next((p for p in emulator.payments.values() if p["order_id"] == order["id"]), None)
    if payment is None:
        raise ControlError("the order has no payment to refund", status=409)
    remaining = payment["amount_money"]["amount"] - emulator.refunded_or_pending(payment["id"])
    amount = body.get("amount", remaining)
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise ControlError("amount must be a positive integer (cents)")
    try:
        refund = emulator.create_refund(payment, amount, body.get("reason") or "Refund at register",
                                         None)
    except SquareError as error:
        raise ControlError(error.detail, status=409) from error
    return {"accepted": True, "refund_id": refund["id"], "order_id": order["id"], "amount": amount}
