"""What staff do at the Square register, for the control API (`/__emulator/sale`, `stock`,
`refund`): each changes the emulator's state and sends the webhooks Square would send.

Payment and tender shapes follow SQ-SPEC `Payment`, `Tender` and
fixtures/platforms/square_webhook_payment_updated.json.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from apps.emulators.base import ControlError
from apps.emulators.settlement import optional_instant

from .inventory import Change
from .orders import add_totals
from .support import SquareError, invalid, missing, money, not_found, now, random_id, rfc3339

if TYPE_CHECKING:
    from .emulator import SquareEmulator

POS_SOURCE = "Square Point of Sale"


def ring_sale(emulator: SquareEmulator, body: dict) -> dict:
    location_id = emulator.resolve_location(body.get("location"))
    order_body = {
        "location_id": location_id, "source": {"name": POS_SOURCE},
        "line_items": [_line(emulator, line, index) for index, line in enumerate(_lines(body))],
    }
    if body.get("tax_percentage") is not None:  # the seller's sales tax on the whole order
        order_body["taxes"] = [{"uid": "sales-tax", "name": "Sales Tax", "type": "ADDITIVE",
                                "percentage": str(body["tax_percentage"]), "scope": "ORDER"}]
    if body.get("discount"):  # cents off the order, as staff key a discount at the register
        order_body["discounts"] = [{"uid": "register-discount", "name": "Register discount",
                                    "type": "FIXED_AMOUNT", "amount_money": money(body["discount"]),
                                    "scope": "ORDER"}]
    created = optional_instant(body) or now()  # a backdated sale keeps its day
    try:
        order = emulator.builder().build(order_body, order_id=random_id(), created_at=created)
    except SquareError as error:
        raise ControlError(f"sale rejected: {error.detail}") from error
    customer_id = _customer(emulator, body.get("customer"), created)
    if customer_id:
        order["customer_id"] = customer_id
    tender = body.get("tender") or {}
    payment = _pay(emulator, order, tender.get("type", "card"), created, tip=_tip(tender),
                   online=tender.get("entry") == "online")
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


def _tip(tender: dict) -> int:
    tip = tender.get("tip", 0)
    if not isinstance(tip, int) or isinstance(tip, bool) or tip < 0:
        raise ControlError("tender.tip must be a non-negative integer in cents")
    return tip


def _pay(emulator: SquareEmulator, order: dict, tender_type: str, created, *, tip: int = 0,
         online: bool = False) -> dict:
    """Close the order with one tender paying it in full (plus the tip), and the matching
    Payment. As SQ-SPEC: `Payment.amount_money` excludes the tip, `total_money` and the
    Tender's `amount_money` include it; a card's processing fee shows on the tender, at the
    in-person rate or (`online`, card on file) the online one; the card money is recorded
    for the payouts."""
    amount = order["total_money"]["amount"]
    payment_id = random_id()
    stamp = rfc3339(created)
    is_cash = str(tender_type).lower() == "cash"
    tender = {"id": payment_id, "location_id": order["location_id"], "transaction_id": order["id"],
              "created_at": stamp, "amount_money": money(amount + tip), "tip_money": money(tip),
              "type": "CASH" if is_cash else "CARD", "payment_id": payment_id}
    payment = {
        "id": payment_id, "created_at": stamp, "updated_at": stamp, "amount_money": money(amount),
        "tip_money": money(tip), "total_money": money(amount + tip),
        "approved_money": money(amount + tip), "status": "COMPLETED",
        "source_type": "CASH" if is_cash else "CARD", "location_id": order["location_id"],
        "order_id": order["id"], "receipt_number": payment_id[:4], "version_token": random_id(45),
        "processing_fee": [],
    }
    fee = 0 if is_cash else (emulator.online_card_fee if online else emulator.card_fee)(amount + tip)
    if not is_cash and emulator.card_fee_shown_at_once:
        tender["processing_fee_money"] = money(fee)
        payment["processing_fee"] = [{"effective_at": stamp, "type": "INITIAL",
                                      "amount_money": money(fee)}]
    if is_cash:
        tender["cash_details"] = {"buyer_tendered_money": money(amount), "change_back_money": money(0)}
        payment["cash_details"] = dict(tender["cash_details"])
    else:
        card = {"card_brand": "VISA", "last_4": "1111", "card_type": "CREDIT"}
        entry_method = "ON_FILE" if online else "EMV"
        tender["card_details"] = {"status": "CAPTURED", "card": card, "entry_method": entry_method}
        payment["card_details"] = {"status": "CAPTURED", "card": card, "entry_method": entry_method,
                                   "card_payment_timeline": {"authorized_at": stamp,
                                                             "captured_at": stamp}}
    order.update(tenders=[tender], state="COMPLETED", closed_at=stamp, total_tip_money=money(tip))
    add_totals(order)
    emulator.payments[payment_id] = payment
    emulator.record_charge(payment, fee)
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
                                         None, created=optional_instant(body))
    except SquareError as error:
        raise ControlError(error.detail, status=409) from error
    return {"accepted": True, "refund_id": refund["id"], "order_id": order["id"], "amount": amount}


# -- an order's state, from the register or through UpdateOrder --------------------------------

# [unverified] whether canceling an order gives its units back to Square's count: the
# emulator takes them when the order is created, so a cancel puts them back.
RESTOCK_ON_CANCEL = True
FINAL_STATES = ("COMPLETED", "CANCELED")


def set_order_state(emulator: SquareEmulator, order_id: str, state: str) -> dict:
    """Staff complete an open order at the register (it is paid, `closed`) or cancel it
    (`voided`/`cancelled`: Square calls both CANCELED). A COMPLETED or CANCELED order
    cannot change (UpdateOrder says so), hence 409."""
    order = emulator.orders.get(order_id)
    if order is None:
        raise ControlError(f"unknown order {order_id!r}", status=404)
    if order["state"] in FINAL_STATES:
        raise ControlError(f"order {order_id} is {order['state']}; Square cannot change it", status=409)
    if state == "closed":
        _pay(emulator, order, "card", now())
        _set_fulfillments(order, "COMPLETED")
        change_state(emulator, order, "COMPLETED")
    else:
        change_state(emulator, order, "CANCELED")
    return {"order_id": order_id, "state": order["state"], "version": order["version"]}


def update_order(emulator: SquareEmulator, order_id: str, body: dict) -> tuple[int, dict]:
    """UpdateOrder (SQ-SPEC `PUT /v2/orders/{order_id}`) as far as Concord uses it: a sparse
    order with the current `version`, moving an OPEN order to CANCELED (its fulfillments
    with it). Orders that are COMPLETED or CANCELED cannot be updated."""
    order = emulator.orders.get(order_id)
    if order is None:
        raise not_found(f"Order `{order_id}` not found.")
    sparse = body.get("order")
    if not isinstance(sparse, dict):
        raise missing("order")
    if sparse.get("version") != order["version"]:
        # [unverified] Square's code for a stale version; CONNECTORS.md: VERSION_MISMATCH is
        # not in the spec's enum, so the emulator answers CONFLICT.
        raise SquareError(409, "INVALID_REQUEST_ERROR", "CONFLICT",
                          f"Order version {sparse.get('version')} is not the current "
                          f"version {order['version']}.", "order.version")
    if order["state"] in FINAL_STATES:
        raise invalid("BAD_REQUEST", f"Orders in state {order['state']} cannot be updated.", "order.state")
    wanted = sparse.get("state", order["state"])
    if wanted not in ("OPEN", "CANCELED"):
        raise invalid("BAD_REQUEST", f"Cannot move an order to `{wanted}` with UpdateOrder.", "order.state")
    if wanted == "CANCELED":
        _set_fulfillments(order, "CANCELED")
        change_state(emulator, order, "CANCELED")
    return 200, {"order": order}


def change_state(emulator: SquareEmulator, order: dict, state: str) -> None:
    """A new version of the order in `state`, and the order.updated webhook Square sends."""
    stamp = rfc3339(now())
    order.update(state=state, version=order["version"] + 1, updated_at=stamp)
    if state in FINAL_STATES:
        order["closed_at"] = order.get("closed_at") or stamp
    if state == "CANCELED" and RESTOCK_ON_CANCEL:
        emulator.apply_changes([
            Change("delta", order["location_id"], line["catalog_object_id"],
                   Decimal(line["quantity"]), now())
            for line in order["line_items"] if line.get("catalog_object_id")
        ], ignore_unchanged=False)
    emulator.order_event("order.updated", order)


def _set_fulfillments(order: dict, state: str) -> None:
    for fulfillment in order.get("fulfillments") or []:
        fulfillment["state"] = state
