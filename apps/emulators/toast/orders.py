"""Toast orders in the emulator: validation, pricing and the `Order` document.

Follows the Orders API v2 (CONNECTORS.md §1.2; example request/response in
fixtures/platforms/toast_order_post_*.json). Validation is what Toast documents: a
dining option and non-empty checks, selections with item/itemGroup/quantity, modifiers
inside the item's own modifier groups within min/maxSelections, a full customer on
take-out and delivery, no card payments through the API. Menu availability is not
checked (Toast accepts out-of-stock items). Amounts are computed in cents from menu
prices and converted to Toast's decimal numbers at the edge.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from .menu import MenuItem, ModifierGroup, ModifierOption, Restaurant, toast_amount

CUSTOMER_FIELDS = ("firstName", "lastName", "email", "phone")
DELIVERY_FIELDS = ("address1", "city", "state", "zipCode")
API_PAYMENT_TYPES = {"CASH", "OTHER", "GIFTCARD", "HOUSE_ACCOUNT"}  # CREDIT is refused
MAX_EMAIL_LENGTH = 53
_EMAIL = re.compile(r"^[A-Za-z0-9_.+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+$")


class OrderRejected(Exception):
    """The order breaks one of Toast's rules; answered as an ErrorMessage."""

    def __init__(self, status: int, message: str, field_name: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.field_name = field_name


@dataclass
class PricedModifier:
    option: ModifierOption
    group: ModifierGroup
    quantity: Decimal
    external_id: str | None


@dataclass
class PricedSelection:
    item: MenuItem
    quantity: Decimal
    external_id: str | None
    modifiers: list[PricedModifier] = field(default_factory=list)
    raw: dict = field(default_factory=dict)

    @property
    def unit_price(self) -> int:
        """Cents for one item with its modifiers (a modifier's quantity is per item)."""
        extras = sum(m.option.price * m.quantity for m in self.modifiers)
        return _cents(Decimal(self.item.price) + extras)

    @property
    def price(self) -> int:
        return _cents(Decimal(self.unit_price) * self.quantity)


def toast_time(moment: datetime) -> str:
    """`2021-07-30T11:57:46.235+0000`, always UTC."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def business_date(restaurant: Restaurant, moment: datetime) -> int:
    """`yyyyMMdd` of the restaurant's business day at `moment`: its local date, where the day
    starts at `closeoutHour` (a 2 AM sale with a 4 AM closeout belongs to the day before)."""
    local = moment.astimezone(ZoneInfo(restaurant.timezone)) - timedelta(hours=restaurant.closeout_hour)
    return int(local.strftime("%Y%m%d"))


def _cents(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _guid_of(value, where: str) -> str:
    if not isinstance(value, dict) or not isinstance(value.get("guid"), str) or not value["guid"]:
        raise OrderRejected(400, f"{where}.guid is required", where)
    return value["guid"]


def _quantity(value, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise OrderRejected(400, f"{where} is required and must be a number", where)
    try:
        quantity = Decimal(str(value))
    except InvalidOperation:
        raise OrderRejected(400, f"{where} must be a number", where) from None
    if not quantity.is_finite() or quantity <= 0:
        raise OrderRejected(400, f"{where} must be greater than 0", where)
    return quantity


# -- validation -------------------------------------------------------------------------------


def validate_order(restaurant: Restaurant, body: dict, *, max_checks: int) -> dict:
    """Check an Order request; returns the dining option it uses."""
    dining_option = restaurant.dining_option(_guid_of(body.get("diningOption"), "diningOption"))
    if dining_option is None:
        raise OrderRejected(404, "diningOption not found", "diningOption")
    checks = body.get("checks")
    if not isinstance(checks, list) or not checks:
        raise OrderRejected(400, "checks is required and must not be empty", "checks")
    if len(checks) > max_checks:
        raise OrderRejected(413, f"an order may have at most {max_checks} checks", "checks")
    behavior = dining_option["behavior"]
    if behavior == "DELIVERY":
        _validate_delivery_info(body.get("deliveryInfo"))
    for index, check in enumerate(checks):
        _validate_check(check, f"checks[{index}]", needs_customer=behavior != "DINE_IN")
    return dining_option


def _validate_delivery_info(info) -> None:
    if not isinstance(info, dict):
        raise OrderRejected(400, "deliveryInfo is required for DELIVERY orders", "deliveryInfo")
    for name in DELIVERY_FIELDS:
        if not isinstance(info.get(name), str) or not info[name].strip():
            raise OrderRejected(400, f"deliveryInfo.{name} is required", f"deliveryInfo.{name}")


def _validate_check(check, where: str, *, needs_customer: bool) -> None:
    if not isinstance(check, dict):
        raise OrderRejected(400, f"{where} must be an object", where)
    selections = check.get("selections")
    if not isinstance(selections, list) or not selections:
        raise OrderRejected(400, f"{where}.selections is required", f"{where}.selections")
    customer = check.get("customer")
    if customer is None and needs_customer:
        raise OrderRejected(
            400, "customer information is required for TAKE_OUT and DELIVERY orders",
            f"{where}.customer",
        )
    if customer is not None:
        _validate_customer(customer, f"{where}.customer")
    for index, payment in enumerate(check.get("payments") or []):
        _validate_payment(payment, f"{where}.payments[{index}]")


def _validate_customer(customer, where: str) -> None:
    if not isinstance(customer, dict):
        raise OrderRejected(400, f"{where} must be an object", where)
    for name in CUSTOMER_FIELDS:
        if not isinstance(customer.get(name), str) or not customer[name].strip():
            raise OrderRejected(400, f"{where}.{name} is required", f"{where}.{name}")
    email = customer["email"]
    if len(email) > MAX_EMAIL_LENGTH or not email.isascii() or not _EMAIL.match(email):
        raise OrderRejected(400, f"{where}.email is not a valid email", f"{where}.email")


def _validate_payment(payment, where: str) -> None:
    kind = payment.get("type") if isinstance(payment, dict) else None
    if kind not in API_PAYMENT_TYPES:
        raise OrderRejected(400, f"payment type {kind!r} is not supported", f"{where}.type")


def price_selections(restaurant: Restaurant, check: dict, where: str) -> list[PricedSelection]:
    """Resolve a check's selections against the menu (404 for unknown GUIDs)."""
    return [
        _price_selection(restaurant, selection, f"{where}.selections[{index}]")
        for index, selection in enumerate(check["selections"])
    ]


def _price_selection(restaurant: Restaurant, selection, where: str) -> PricedSelection:
    if not isinstance(selection, dict):
        raise OrderRejected(400, f"{where} must be an object", where)
    item_guid = _guid_of(selection.get("item"), f"{where}.item")
    group_guid = _guid_of(selection.get("itemGroup"), f"{where}.itemGroup")
    quantity = _quantity(selection.get("quantity"), f"{where}.quantity")
    item = restaurant.items.get(item_guid)
    if item is None:
        raise OrderRejected(404, f"menu item {item_guid} not found", f"{where}.item")
    if group_guid not in restaurant.groups:
        raise OrderRejected(404, f"menu group {group_guid} not found", f"{where}.itemGroup")
    if item.group_guid != group_guid:
        raise OrderRejected(400, f"menu item {item_guid} is not in menu group {group_guid}",
                            f"{where}.itemGroup")
    priced = PricedSelection(item=item, quantity=quantity,
                             external_id=selection.get("externalId"), raw=selection)
    modifiers = selection.get("modifiers") or []
    if not isinstance(modifiers, list):
        raise OrderRejected(400, f"{where}.modifiers must be a list", f"{where}.modifiers")
    for index, modifier in enumerate(modifiers):
        priced.modifiers.append(
            _price_modifier(restaurant, item, modifier, f"{where}.modifiers[{index}]")
        )
    _check_selection_counts(restaurant, priced, where)
    return priced


def _price_modifier(restaurant: Restaurant, item: MenuItem, modifier, where: str):
    if not isinstance(modifier, dict):
        raise OrderRejected(400, f"{where} must be an object", where)
    option_guid = _guid_of(modifier.get("item"), f"{where}.item")
    group_guid = _guid_of(modifier.get("optionGroup"), f"{where}.optionGroup")
    quantity = _quantity(modifier.get("quantity"), f"{where}.quantity")
    option = restaurant.option_by_guid(option_guid)
    group = restaurant.modifier_group_by_guid(group_guid)
    if option is None:
        raise OrderRejected(404, f"modifier option {option_guid} not found", f"{where}.item")
    if group is None:
        raise OrderRejected(404, f"modifier group {group_guid} not found",
                            f"{where}.optionGroup")
    if group.reference_id not in item.modifier_group_refs:
        raise OrderRejected(400, f"modifier group {group_guid} does not apply to {item.guid}",
                            f"{where}.optionGroup")
    if option.reference_id not in group.option_refs:
        raise OrderRejected(400, f"modifier option {option_guid} is not in group {group_guid}",
                            f"{where}.item")
    if quantity != 1 and not option.allows_duplicates:
        raise OrderRejected(400, f"modifier option {option_guid} does not allow duplicates",
                            f"{where}.quantity")
    return PricedModifier(option=option, group=group, quantity=quantity,
                          external_id=modifier.get("externalId"))


def _check_selection_counts(restaurant: Restaurant, priced: PricedSelection, where: str) -> None:
    for ref in priced.item.modifier_group_refs:
        group = restaurant.modifier_groups[ref]
        chosen = [m for m in priced.modifiers if m.group is group]
        seen: set[str] = set()
        for modifier in chosen:
            if modifier.option.guid in seen and not modifier.option.allows_duplicates:
                raise OrderRejected(400, f"{modifier.option.name} was chosen twice",
                                    f"{where}.modifiers")
            seen.add(modifier.option.guid)
        count = sum(m.quantity for m in chosen)
        if count < group.min_selections or count > group.max_selections:
            raise OrderRejected(
                400,
                f"{group.name} needs between {group.min_selections} and "
                f"{group.max_selections} selections, got {count}",
                f"{where}.modifiers",
            )


def external_ids(body: dict, checks: list[list[PricedSelection]]) -> list[str]:
    """Every externalId the request sets (order, checks, selections, modifiers)."""
    found = [body.get("externalId")]
    for check, selections in zip(body["checks"], checks, strict=True):
        found.append(check.get("externalId"))
        for selection in selections:
            found.append(selection.external_id)
            found.extend(m.external_id for m in selection.modifiers)
    return [value for value in found if value is not None]


# -- documents --------------------------------------------------------------------------------


def _ref(guid: str | None, entity_type: str) -> dict | None:
    if guid is None:
        return None
    return {"guid": guid, "entityType": entity_type, "externalId": None}


@dataclass
class OrderContext:
    """What every part of one new order shares."""

    restaurant: Restaurant
    dining_option: dict
    now: datetime
    source: str
    approval_status: str

    @property
    def stamp(self) -> str:
        return toast_time(self.now)

    @property
    def business_date(self) -> int:
        return business_date(self.restaurant, self.now)


def order_document(
    ctx: OrderContext, body: dict, checks: list[list[PricedSelection]], display_numbers
) -> dict:
    """The `Order` Toast answers with; `display_numbers()` gives the next check number."""
    guid = str(uuid.uuid4())
    check_docs = [
        _check_document(ctx, guid, check, selections, display_numbers)
        for check, selections in zip(body["checks"], checks, strict=True)
    ]
    prep = body.get("requiredPrepTime")
    promised = body.get("promisedDate")
    return {
        "guid": guid, "entityType": "Order", "externalId": body.get("externalId"),
        "revenueCenter": body.get("revenueCenter"), "server": body.get("server"),
        "lastModifiedDevice": {"id": None}, "source": ctx.source, "voidDate": None,
        "duration": None, "businessDate": ctx.business_date, "paidDate": None,
        "restaurantService": None, "voided": False,
        "estimatedFulfillmentDate": promised or toast_time(ctx.now + timedelta(minutes=15)),
        "table": body.get("table"), "requiredPrepTime": prep,
        "approvalStatus": "FUTURE" if promised else ctx.approval_status,
        "deliveryInfo": _delivery_document(body.get("deliveryInfo")), "serviceArea": None,
        "curbsidePickupInfo": body.get("curbsidePickupInfo"),
        "numberOfGuests": body.get("numberOfGuests", 1),
        "diningOption": _ref(ctx.dining_option["guid"], "DiningOption"),
        "openedDate": body.get("openedDate") or ctx.stamp, "voidBusinessDate": None,
        "checks": check_docs, "deleted": False, "createdDevice": {"id": None},
        "createdDate": ctx.stamp, "closedDate": None, "deletedDate": None,
        "modifiedDate": ctx.stamp, "promisedDate": promised, "pricingFeatures": ["TAXESV2"],
    }


def _delivery_document(info) -> dict | None:
    if not isinstance(info, dict):
        return None
    return {**info, "deliveredDate": None, "dispatchedDate": None,
            "deliveryEmployee": None, "deliveryState": None}


def _check_document(ctx, order_guid, check, selections, display_numbers) -> dict:
    guid = str(uuid.uuid4())
    amount = sum(s.price for s in selections)
    payments = [
        _payment_document(ctx, order_guid, guid, payment) for payment in check.get("payments") or []
    ]
    return {
        "guid": guid, "entityType": "Check", "externalId": check.get("externalId"),
        "displayNumber": check.get("displayNumber") or display_numbers(),
        "payments": payments, "appliedDiscounts": [], "lastModifiedDevice": {"id": None},
        "voidDate": None, "paidDate": None, "appliedLoyaltyInfo": None, "voided": False,
        "paymentStatus": "OPEN", "amount": toast_amount(amount),
        "tabName": check.get("tabName"), "taxExempt": bool(check.get("taxExempt", False)),
        "openedDate": ctx.stamp, "totalAmount": toast_amount(amount),
        "selections": [_selection_document(ctx, s) for s in selections],
        "voidBusinessDate": None, "createdDate": ctx.stamp, "deleted": False,
        "createdDevice": {"id": None}, "closedDate": None, "deletedDate": None,
        "modifiedDate": ctx.stamp, "taxAmount": 0, "appliedServiceCharges": [],
        "customer": _customer_document(check.get("customer")),
    }


def _customer_document(customer) -> dict | None:
    if not isinstance(customer, dict):
        return None
    return {
        "guid": str(uuid.uuid4()), "entityType": "Customer",
        "firstName": customer["firstName"], "lastName": customer["lastName"],
        # Toast stores the digits only ("555-555-5555" comes back as "5555555555").
        "phone": re.sub(r"\D", "", customer["phone"]), "email": customer["email"],
    }


def _payment_document(ctx, order_guid, check_guid, payment: dict) -> dict:
    other = payment.get("otherPayment")
    return {
        "guid": str(uuid.uuid4()), "entityType": "OrderPayment", "externalId": None,
        "originalProcessingFee": None, "server": None, "cashDrawer": None,
        "lastModifiedDevice": {"id": None}, "refundStatus": "NONE", "type": payment["type"],
        "voidInfo": None, "checkGuid": check_guid,
        "otherPayment": _ref(other.get("guid"), "AlternatePaymentType")
        if isinstance(other, dict) else None,
        "paidDate": ctx.stamp, "orderGuid": order_guid, "cardEntryMode": None,
        "paymentStatus": "CAPTURED", "amount": payment.get("amount", 0),
        "tipAmount": _number(payment.get("tipAmount", 0)), "amountTendered": None,
        "cardType": payment.get("cardType"), "houseAccount": None,
        "mcaRepaymentAmount": None, "createdDevice": {"id": None},
        "paidBusinessDate": ctx.business_date, "last4Digits": payment.get("last4Digits"),
        "refund": None,
    }


def _number(value) -> int | float:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return 0
    return int(number) if number == number.to_integral_value() else float(number)


def _selection_document(ctx: OrderContext, selection: PricedSelection) -> dict:
    item = selection.item
    quantity = _number(selection.quantity)
    doc = _selection_base(ctx, selection.external_id, item.name, quantity)
    doc.update({
        "entityType": "MenuItemSelection",
        "item": _ref(item.guid, "MenuItem"), "itemGroup": _ref(item.group_guid, "MenuGroup"),
        "optionGroup": None, "price": toast_amount(selection.price),
        "preDiscountPrice": toast_amount(selection.price),
        "receiptLinePrice": toast_amount(selection.unit_price),
        "modifiers": [
            _modifier_document(ctx, m, selection.quantity) for m in selection.modifiers
        ],
        "selectionType": selection.raw.get("selectionType", "NONE"),
        "seatNumber": selection.raw.get("seatNumber", -1),
    })
    return doc


def _modifier_document(ctx: OrderContext, modifier: PricedModifier, parent_qty: Decimal):
    option = modifier.option
    price = _cents(Decimal(option.price) * modifier.quantity * parent_qty)
    doc = _selection_base(ctx, modifier.external_id, option.name, _number(modifier.quantity))
    doc.update({
        "entityType": "MenuItemSelection",
        "item": _ref(option.guid, "MenuItem"), "itemGroup": None,
        "optionGroup": _ref(modifier.group.guid, "MenuOptionGroup"),
        "price": toast_amount(price), "preDiscountPrice": toast_amount(price),
        "receiptLinePrice": toast_amount(option.price), "modifiers": [],
        "selectionType": "NONE", "seatNumber": -1,
    })
    return doc


def _selection_base(ctx: OrderContext, external_id, name: str, quantity) -> dict:
    return {
        "guid": str(uuid.uuid4()), "externalId": external_id, "deferred": False,
        "voidReason": None, "displayName": name, "appliedDiscounts": [], "voidDate": None,
        "fulfillmentStatus": "NEW", "optionGroupPricingMode": None, "salesCategory": None,
        "voided": False, "appliedTaxes": [], "taxInclusion": "NOT_INCLUDED",
        "quantity": quantity, "unitOfMeasure": "NONE", "refundDetails": None, "tax": 0,
        "diningOption": _ref(ctx.dining_option["guid"], "DiningOption"),
        "voidBusinessDate": None, "createdDate": ctx.stamp, "preModifier": None,
        "modifiedDate": ctx.stamp,
    }


def apply_check_discount(order: dict, discount: int) -> None:
    """A fixed check discount (`discount` cents off the first check) as TOAST-ORD
    `Check.appliedDiscounts[]`: `discountAmount`, and the check's `amount` after it."""
    check = order["checks"][0]
    amount = _cents(Decimal(str(check["amount"])) * 100)
    discount = min(discount, amount)
    check["appliedDiscounts"] = [{
        "guid": str(uuid.uuid4()), "entityType": "CheckAppliedDiscount", "externalId": None,
        "name": "Register discount", "discountAmount": toast_amount(discount),
        "nonTaxDiscountAmount": toast_amount(discount), "discountType": "FIXED",
        "discountPercent": None, "discount": None, "appliedPromoCode": None,
    }]
    check.update(amount=toast_amount(amount - discount), totalAmount=toast_amount(amount - discount))


def apply_check_tax(order: dict, percentage: Decimal) -> None:
    """The restaurant's sales tax on each check: `taxAmount`, and `totalAmount` = `amount`
    (after discounts, before tax) + tax, as TOAST-ORD `Check` carries them (decimals)."""
    for check in order["checks"]:
        amount = _cents(Decimal(str(check["amount"])) * 100)
        tax = int((Decimal(amount) * percentage / 100).to_integral_value(ROUND_HALF_UP))
        check.update(taxAmount=toast_amount(tax), totalAmount=toast_amount(amount + tax))


def register_payment(ctx: OrderContext, order: dict, tender_type: str, *, tip: int = 0,
                     fee: Callable[[int], int] | None = None) -> dict:
    """Pay and close each check the way the register does (card or cash, in full). The
    first check's payment carries the tip (TOAST-ORD: `amount` excludes it); a card
    payment's `originalProcessingFee` is `fee(amount + tip)` when given (Toast fills it
    once the payment is captured)."""
    for index, check in enumerate(order["checks"]):
        kind = "CASH" if tender_type == "cash" else "CREDIT"
        check_tip = tip if index == 0 else 0
        payment = _payment_document(ctx, order["guid"], check["guid"], {
            "type": kind, "amount": check["totalAmount"], "tipAmount": toast_amount(check_tip),
            "cardType": "VISA" if kind == "CREDIT" else None,
            "last4Digits": "1111" if kind == "CREDIT" else None,
        })
        if kind == "CREDIT" and fee is not None:
            paid = _cents(Decimal(str(check["totalAmount"])) * 100) + check_tip
            payment["originalProcessingFee"] = toast_amount(fee(paid))
        check["payments"].append(payment)
        check.update(paymentStatus="CLOSED", paidDate=ctx.stamp, closedDate=ctx.stamp)
    order.update(paidDate=ctx.stamp, closedDate=ctx.stamp, approvalStatus="APPROVED")
    return order
