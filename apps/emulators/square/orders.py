"""Validating a CreateOrder request and pricing the order the way Square does.

Request and response fields follow SQ-SPEC `CreateOrderRequest`, `Order`, `OrderLineItem`,
`OrderLineItemModifier`, `OrderLineItemTax` and the pair
fixtures/platforms/square_create_order_request.json / _response.json. Money is integer
cents; quantities are strings. Taxes are supported as ADDITIVE percentages (order or line
scope), rounded per line, as in the fixture. Discounts, service charges and inclusive
taxes are not emulated and are refused with a detail that says so.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from .catalog import Catalog
from .support import (
    CURRENCY,
    SquareError,
    invalid,
    missing,
    money,
    parse_quantity,
    random_id,
    rfc3339,
)

ORDER_STATES_ON_CREATE = ("OPEN", "DRAFT")
FULFILLMENT_TYPES = ("PICKUP", "SHIPMENT", "DELIVERY")
NOT_EMULATED = ("service_charges", "rewards", "pricing_options")


class OrderBuilder:
    """Builds the stored `Order` from a CreateOrder `order` body, or raises SquareError."""

    def __init__(self, *, catalog: Catalog, location_ids: set[str], default_source: str):
        self.catalog = catalog
        self.location_ids = location_ids
        self.default_source = default_source

    def build(self, body: object, *, order_id: str, created_at: datetime) -> dict:
        if not isinstance(body, dict):
            raise missing("order")
        location_id = self._location(body)
        state = body.get("state", "OPEN")
        if state not in ORDER_STATES_ON_CREATE:
            raise invalid("INVALID_VALUE", f"Orders cannot be created in state `{state}`.",
                          "order.state")
        for key in NOT_EMULATED:
            if body.get(key):
                raise invalid("BAD_REQUEST", f"`{key}` is not supported by the Concord emulator.",
                              f"order.{key}")
        _check_length(body, "reference_id", 40)
        _check_length(body, "ticket_name", 30)
        taxes = self._taxes(body.get("taxes") or [])
        lines = [self._line(line, f"order.line_items[{index}]", taxes)
                 for index, line in enumerate(_list(body, "line_items", "order.line_items"))]
        discounts = [_order_discount(discount, f"order.discounts[{index}]")
                     for index, discount in enumerate(_list(body, "discounts", "order.discounts"))]
        for discount in discounts:
            _apply_order_discount(discount, lines, taxes)
        order = {
            "id": order_id, "location_id": location_id,
            "source": {"name": _source_name(body) or self.default_source},
            "line_items": lines, "state": state, "version": 1,
            "created_at": rfc3339(created_at), "updated_at": rfc3339(created_at),
        }
        for key in ("reference_id", "customer_id", "ticket_name", "metadata"):
            if body.get(key) is not None:
                order[key] = body[key]
        if taxes:
            order["taxes"] = [_applied_order_tax(tax, lines) for tax in taxes.values()]
        if discounts:
            order["discounts"] = discounts
        fulfillments = self._fulfillments(body.get("fulfillments"))
        if fulfillments:
            order["fulfillments"] = fulfillments
        add_totals(order)
        return order

    # -- parts -------------------------------------------------------------------------------

    def _location(self, body: dict) -> str:
        location_id = body.get("location_id")
        if not location_id:
            raise missing("order.location_id")
        if location_id not in self.location_ids:
            # [unverified] the exact status/code Square uses for an unknown location.
            raise SquareError(404, "INVALID_REQUEST_ERROR", "NOT_FOUND",
                              f"Location `{location_id}` not found.", "order.location_id")
        return location_id

    def _taxes(self, taxes: object) -> dict[str, dict]:
        if not isinstance(taxes, list):
            raise invalid("INVALID_VALUE", "Expected an array.", "order.taxes")
        result = {}
        for index, tax in enumerate(taxes):
            path = f"order.taxes[{index}]"
            if not isinstance(tax, dict) or not tax.get("uid"):
                raise missing(f"{path}.uid")
            if tax.get("type", "ADDITIVE") != "ADDITIVE":
                raise invalid("BAD_REQUEST", "Only ADDITIVE taxes are emulated.", f"{path}.type")
            percentage = parse_quantity(tax.get("percentage"))
            if percentage is None or percentage < 0:
                raise invalid("INVALID_VALUE", "Expected a percentage string.", f"{path}.percentage")
            scope = tax.get("scope", "ORDER")
            if scope not in ("ORDER", "LINE_ITEM"):
                raise invalid("INVALID_ENUM_VALUE", f"`{scope}` is not a valid scope.", f"{path}.scope")
            result[tax["uid"]] = {**tax, "type": "ADDITIVE", "scope": scope,
                                  "_percentage": percentage}
        return result

    def _line(self, line: object, path: str, taxes: dict[str, dict]) -> dict:
        if not isinstance(line, dict):
            raise invalid("INVALID_VALUE", "Expected an object.", path)
        quantity = _whole_quantity(line.get("quantity"), f"{path}.quantity")
        result: dict = {"uid": line.get("uid") or random_id(22), "quantity": str(quantity)}
        variation = self._variation(line, path)
        if variation is not None:
            data = variation["item_variation_data"]
            item = self.catalog.by_id[data["item_id"]]
            result.update(catalog_object_id=variation["id"], catalog_version=variation["version"],
                          name=item["item_data"]["name"], variation_name=data["name"],
                          item_type="ITEM")
            base = _money_amount(line.get("base_price_money"), f"{path}.base_price_money",
                                 default=data["price_money"]["amount"])
        else:
            if not line.get("name"):
                raise missing(f"{path}.name")
            base = _money_amount(line.get("base_price_money"), f"{path}.base_price_money")
            result.update(name=line["name"], item_type="ITEM")
        for key in ("note", "metadata"):
            if line.get(key) is not None:
                result[key] = line[key]
        allowed_lists = self.catalog.modifier_list_ids_of(variation) if variation else set()
        modifiers = [self._modifier(mod, f"{path}.modifiers[{index}]", allowed_lists, quantity)
                     for index, mod in enumerate(_list(line, "modifiers", f"{path}.modifiers"))]
        if modifiers:
            result["modifiers"] = modifiers
        result["base_price_money"] = money(base)
        _price_line(result, base, quantity, modifiers, self._line_taxes(line, taxes, path))
        return result

    def _variation(self, line: dict, path: str) -> dict | None:
        object_id = line.get("catalog_object_id")
        if not object_id:
            return None
        obj = self.catalog.by_id.get(object_id)
        if obj is None:
            # [unverified] Square's exact code for an unknown catalog id in an order.
            raise invalid("INVALID_VALUE", f"Catalog object `{object_id}` not found.",
                          f"{path}.catalog_object_id")
        if obj["type"] != "ITEM_VARIATION":
            raise invalid("INVALID_VALUE",
                          f"Catalog object `{object_id}` is a {obj['type']}, not an ITEM_VARIATION.",
                          f"{path}.catalog_object_id")
        return obj

    def _modifier(self, mod: object, path: str, allowed_lists: set[str], line_qty: int) -> dict:
        if not isinstance(mod, dict):
            raise invalid("INVALID_VALUE", "Expected an object.", path)
        quantity = _whole_quantity(mod.get("quantity", "1"), f"{path}.quantity")
        result: dict = {"uid": mod.get("uid") or random_id(22), "quantity": str(quantity)}
        object_id = mod.get("catalog_object_id")
        if object_id:
            modifier = self.catalog.by_id.get(object_id)
            if modifier is None or modifier["type"] != "MODIFIER":
                raise invalid("INVALID_VALUE", f"Modifier `{object_id}` not found.",
                              f"{path}.catalog_object_id")
            data = modifier["modifier_data"]
            if data["modifier_list_id"] not in allowed_lists:
                # [unverified] Square's check that a modifier belongs to the item.
                raise invalid("INVALID_VALUE",
                              f"Modifier `{object_id}` does not apply to this item.",
                              f"{path}.catalog_object_id")
            base = data["price_money"]["amount"]
            result.update(catalog_object_id=object_id, catalog_version=modifier["version"],
                          name=data["name"])
        else:
            if not mod.get("name"):
                raise missing(f"{path}.name")
            base = _money_amount(mod.get("base_price_money"), f"{path}.base_price_money")
            result["name"] = mod["name"]
        result["base_price_money"] = money(base)
        result["total_price_money"] = money(base * quantity * line_qty)
        return result

    def _line_taxes(self, line: dict, taxes: dict[str, dict], path: str) -> list[dict]:
        applied = [tax for tax in taxes.values() if tax["scope"] == "ORDER"]
        for index, ref in enumerate(line.get("applied_taxes") or []):
            uid = ref.get("tax_uid") if isinstance(ref, dict) else None
            if uid not in taxes:
                raise invalid("INVALID_VALUE", f"No tax with uid `{uid}`.",
                              f"{path}.applied_taxes[{index}].tax_uid")
            if taxes[uid] not in applied:
                applied.append(taxes[uid])
        return applied

    def _fulfillments(self, fulfillments: object) -> list[dict]:
        if not fulfillments:
            return []
        if not isinstance(fulfillments, list):
            raise invalid("INVALID_VALUE", "Expected an array.", "order.fulfillments")
        if len(fulfillments) > 1:
            raise invalid("INVALID_VALUE", "At most one fulfillment may be set when creating an order.",
                          "order.fulfillments")
        fulfillment = dict(fulfillments[0])
        if fulfillment.get("type") not in FULFILLMENT_TYPES:
            raise invalid("INVALID_ENUM_VALUE", "Invalid fulfillment type.", "order.fulfillments[0].type")
        fulfillment.setdefault("uid", random_id(22))
        fulfillment.setdefault("state", "PROPOSED")
        return [fulfillment]


# -- pricing ---------------------------------------------------------------------------------


def _price_line(line: dict, base: int, quantity: int, modifiers: list[dict],
                taxes: list[dict]) -> None:
    gross = base * quantity + sum(mod["total_price_money"]["amount"] for mod in modifiers)
    applied = []
    for tax in taxes:
        amount = int((Decimal(gross) * tax["_percentage"] / 100).to_integral_value(ROUND_HALF_UP))
        applied.append({"uid": random_id(22), "tax_uid": tax["uid"], "applied_money": money(amount)})
    tax_total = sum(entry["applied_money"]["amount"] for entry in applied)
    if applied:
        line["applied_taxes"] = applied
    line.update(
        variation_total_price_money=money(base * quantity), gross_sales_money=money(gross),
        total_tax_money=money(tax_total), total_discount_money=money(0),
        total_service_charge_money=money(0), total_money=money(gross + tax_total),
    )


def _order_discount(discount: object, path: str) -> dict:
    """SQ-SPEC `OrderLineItemDiscount`; the emulator takes FIXED_AMOUNT at ORDER scope."""
    if not isinstance(discount, dict) or not discount.get("uid"):
        raise missing(f"{path}.uid")
    if discount.get("type") != "FIXED_AMOUNT" or discount.get("scope", "ORDER") != "ORDER":
        raise invalid("BAD_REQUEST", "Only FIXED_AMOUNT discounts at ORDER scope are emulated.", path)
    amount = _money_amount(discount.get("amount_money"), f"{path}.amount_money")
    return {**discount, "scope": "ORDER", "amount_money": money(amount)}


def _apply_order_discount(discount: dict, lines: list[dict], taxes: dict[str, dict]) -> None:
    """Spread an order discount over the lines by their gross sales (largest remainder),
    then tax what each line costs after it, as Square applies discounts before taxes."""
    grosses = [line["gross_sales_money"]["amount"] - line["total_discount_money"]["amount"] for line in lines]
    whole = sum(grosses)
    amount = min(discount["amount_money"]["amount"], whole)
    shares = [amount * gross // whole if whole else 0 for gross in grosses]
    by_remainder = sorted(range(len(lines)), key=lambda i: -(amount * grosses[i] % whole) if whole else 0)
    for index in by_remainder[:amount - sum(shares)]:
        shares[index] += 1
    for line, share in zip(lines, shares, strict=True):
        line.setdefault("applied_discounts", []).append(
            {"uid": random_id(22), "discount_uid": discount["uid"], "applied_money": money(share)})
        discounted = line["total_discount_money"]["amount"] + share
        net = line["gross_sales_money"]["amount"] - discounted
        for entry in line.get("applied_taxes", []):
            rate = taxes[entry["tax_uid"]]["_percentage"]
            entry["applied_money"] = money(int((Decimal(net) * rate / 100).to_integral_value(ROUND_HALF_UP)))
        tax = sum(entry["applied_money"]["amount"] for entry in line.get("applied_taxes", []))
        line.update(total_discount_money=money(discounted), total_tax_money=money(tax),
                    total_money=money(net + tax))
    discount["applied_money"] = money(sum(shares))


def _applied_order_tax(tax: dict, lines: list[dict]) -> dict:
    amount = sum(entry["applied_money"]["amount"] for line in lines
                 for entry in line.get("applied_taxes", []) if entry["tax_uid"] == tax["uid"])
    public = {key: value for key, value in tax.items() if not key.startswith("_")}
    return {**public, "applied_money": money(amount)}


def add_totals(order: dict) -> None:
    """Order-level totals from the priced lines (and tips and refunds already on it)."""
    lines = order["line_items"]
    tax = sum(line["total_tax_money"]["amount"] for line in lines)
    discount = sum(line["total_discount_money"]["amount"] for line in lines)
    total = sum(line["total_money"]["amount"] for line in lines)
    tip = order.get("total_tip_money", money(0))["amount"]
    order.update(
        total_money=money(total + tip), total_tax_money=money(tax),
        total_discount_money=money(discount), total_tip_money=money(tip),
        total_service_charge_money=money(0),
        net_amounts={
            "total_money": money(total + tip), "tax_money": money(tax),
            "discount_money": money(discount), "tip_money": money(tip),
            "service_charge_money": money(0),
        },
    )
    paid = sum(t["amount_money"]["amount"] for t in order.get("tenders", []))
    order["net_amount_due_money"] = money(max(0, total + tip - paid))


# -- small validators ------------------------------------------------------------------------


def _list(body: dict, key: str, path: str) -> list:
    value = body.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise invalid("INVALID_VALUE", "Expected an array.", path)
    return value


def _whole_quantity(raw: object, path: str) -> int:
    if raw is None:
        raise missing(path)
    if not isinstance(raw, str):
        raise invalid("EXPECTED_STRING", "Expected a string value.", path)
    quantity = parse_quantity(raw)
    if quantity is None or quantity <= 0:
        raise invalid("INVALID_VALUE", f"Invalid quantity `{raw}`.", path)
    if quantity != quantity.to_integral_value():
        # Fractional quantities need a measurement unit, which the demo catalog never has.
        raise invalid("INVALID_VALUE", "Quantity must be a whole number for this item.", path)
    return int(quantity)


def _money_amount(value: object, path: str, default: int | None = None) -> int:
    if value is None:
        if default is None:
            raise missing(path)
        return default
    if not isinstance(value, dict) or not isinstance(value.get("amount"), int) \
            or isinstance(value.get("amount"), bool):
        raise invalid("INVALID_VALUE", "Expected Money with an integer amount.", path)
    if value.get("currency", CURRENCY) != CURRENCY:
        raise invalid("CURRENCY_MISMATCH", f"Currency must be {CURRENCY}.", f"{path}.currency")
    if value["amount"] < 0:
        raise invalid("INVALID_VALUE", "Amount must not be negative.", f"{path}.amount")
    return value["amount"]


def _check_length(body: dict, key: str, limit: int) -> None:
    value = body.get(key)
    if value is not None and (not isinstance(value, str) or len(value) > limit):
        raise invalid("VALUE_TOO_LONG", f"Must be at most {limit} characters long.", f"order.{key}")


def _source_name(body: dict) -> str | None:
    source = body.get("source")
    if source is None:
        return None
    if not isinstance(source, dict) or not isinstance(source.get("name", ""), str):
        raise invalid("INVALID_VALUE", "Expected {\"name\": string}.", "order.source")
    return source.get("name") or None
