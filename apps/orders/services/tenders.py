"""Tenders of an order: checked against its total, redeemed from stored value and loyalty
in the order's own transaction, and the loyalty an order earns once it is paid.

A tender's amount pays toward the order's total; its tip is on top. A `pay_at_pickup`
tender is the remainder, taken at the POS (pending until the order is fulfilled). Every
other tender is taken at placement; a stored-value or loyalty tender is redeemed with one
conditional UPDATE through apps/customers, so a failure refuses and rolls back the order.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Sum

from apps.core import money
from apps.core.errors import NotFound, ValidationFailed
from apps.customers import services as customers
from apps.customers.exceptions import InsufficientBalance
from apps.customers.selectors import get_gift_card
from apps.orders.enums import STORED_VALUE_TENDERS, PaymentStatus, TenderType
from apps.orders.exceptions import TendersMismatch
from apps.orders.models import Order, Payment
from apps.orders.services.inputs import TenderInput
from apps.orders.services.pricing import OrderTotals

NEEDS_CUSTOMER = (TenderType.STORE_CREDIT, TenderType.LOYALTY)
TIPPABLE = (TenderType.CARD,)


@dataclass
class PlannedTender:
    index: int
    type: str
    amount: int
    tip: int = 0
    points: int = 0
    code: str = ""
    account_id: int | None = None
    reference: str = ""

    @property
    def status(self) -> str:
        return PaymentStatus.PENDING if self.type == TenderType.PAY_AT_PICKUP else PaymentStatus.PAID


def plan_tenders(*, tenders: tuple[TenderInput, ...], totals: OrderTotals, where: str
                 ) -> list[PlannedTender]:
    """The tenders as they will be taken, checked field by field and against the total
    (422 `tenders_mismatch`). Reads a gift card by its code and the loyalty program only
    when a tender needs them."""
    planned, remainder_index = [], None
    for index, tender in enumerate(tenders):
        path = f"{where}[{index}]" if where == "tenders" else where
        if tender.type == TenderType.PAY_AT_PICKUP:
            remainder_index = _check_remainder(tender, path, remainder_index, index)
            continue
        amount = _amount(tender, totals, path, alone=len(tenders) == 1)
        planned.append(PlannedTender(index=index, type=tender.type, amount=amount,
                                     tip=_tip(tender, totals, path), points=tender.points,
                                     code=tender.code, reference=tender.reference))
    _check_duplicates(planned, where)
    tendered = sum(tender.amount for tender in planned)
    remainder = totals.total - tendered
    if remainder < 0 or (remainder and remainder_index is None):
        raise TendersMismatch(
            f"The tenders add up to {tendered} {totals.currency}; the order totals "
            f"{totals.total} {totals.currency}.", field=where,
            extra={"total": {"amount": totals.total, "currency": totals.currency},
                   "tendered": {"amount": tendered, "currency": totals.currency}})
    if remainder_index is not None:
        planned.append(PlannedTender(index=remainder_index, type=TenderType.PAY_AT_PICKUP,
                                     amount=remainder))
    return sorted(planned, key=lambda tender: tender.index)


def _check_remainder(tender: TenderInput, path: str, seen: int | None, index: int) -> int:
    if tender.amount is not None or tender.tip or tender.points or tender.code:
        raise ValidationFailed("A pay_at_pickup tender is the remainder; it takes no amount.",
                               field=f"{path}.amount")
    if seen is not None:
        raise ValidationFailed("One pay_at_pickup tender at most.", field=path,
                               extra={"code": "duplicate_tender"})
    return index


def _amount(tender: TenderInput, totals: OrderTotals, path: str, *, alone: bool) -> int:
    if tender.type == TenderType.LOYALTY:
        if tender.amount is not None or tender.points <= 0:
            raise ValidationFailed("A loyalty tender names its points, not an amount.",
                                   field=f"{path}.points", extra={"code": "required"})
        program = customers.get_loyalty_program()
        if tender.points < program.min_redeem_points:
            raise ValidationFailed(f"At least {program.min_redeem_points} points must be redeemed.",
                                   field=f"{path}.points", extra={"code": "below_minimum_redemption"})
        return money.points_value(tender.points, program.point_value)
    if tender.points:
        raise ValidationFailed("Only a loyalty tender takes points.", field=f"{path}.points")
    if tender.type == TenderType.GIFT_CARD and not tender.code:
        raise ValidationFailed("A gift card tender needs the card's code.", field=f"{path}.code",
                               extra={"code": "required"})
    if tender.amount is None:
        if not alone:
            raise ValidationFailed("Each of several tenders needs an amount.", field=f"{path}.amount",
                                   extra={"code": "required"})
        return totals.total
    _check_currency(tender.currency, totals.currency, f"{path}.amount.currency")
    if tender.amount == 0 and tender.type in STORED_VALUE_TENDERS:
        raise ValidationFailed("Redeem a positive amount.", field=f"{path}.amount.amount")
    return tender.amount


def _tip(tender: TenderInput, totals: OrderTotals, path: str) -> int:
    if not tender.tip:
        return 0
    if tender.type not in TIPPABLE:
        raise ValidationFailed("Only a card tender carries a tip.", field=f"{path}.tip")
    _check_currency(tender.currency or totals.currency, totals.currency, f"{path}.tip.currency")
    return tender.tip


def _check_currency(given: str, expected: str, field: str) -> None:
    if given != expected:
        raise ValidationFailed(f"The order is in {expected}, not {given}.", field=field,
                               extra={"code": "currency_mismatch"})


def _check_duplicates(planned: list[PlannedTender], where: str) -> None:
    seen = set()
    for tender in planned:
        key = (tender.type, tender.code) if tender.type == TenderType.GIFT_CARD else tender.type
        if tender.type in (*NEEDS_CUSTOMER, TenderType.GIFT_CARD) and key in seen:
            raise ValidationFailed(f"The same {tender.type} is named twice.",
                                   field=f"{where}[{tender.index}]", extra={"code": "duplicate_tender"})
        seen.add(key)


# ---------------------------------------------------------------- taking them


def find_accounts(planned: list[PlannedTender], *, customer_id: int | None, currency: str,
                  where: str) -> None:
    """The gift card or store credit each tender draws on; store credit and loyalty are
    the customer's, so they need a matched customer (422 `customer_required`)."""
    for tender in planned:
        path = f"{where}[{tender.index}]" if where == "tenders" else where
        if tender.type in NEEDS_CUSTOMER and customer_id is None:
            raise ValidationFailed(
                f"A {tender.type} tender is the customer's: send customer.email or customer.phone.",
                field=path, extra={"code": "customer_required"})
        if tender.type == TenderType.GIFT_CARD:
            tender.account_id = _gift_card_id(tender.code, currency, path)
            tender.reference = tender.reference or _masked(tender.code)
        elif tender.type == TenderType.STORE_CREDIT:
            tender.account_id = customers.ensure_store_credit_account(
                customer_id=customer_id, currency=currency).pk


def _gift_card_id(code: str, currency: str, path: str) -> int:
    try:
        card = get_gift_card(code=code)
    except NotFound:  # a wrong code is a field of this body, not a missing resource
        raise ValidationFailed("No gift card with this code.", field=f"{path}.code",
                               extra={"code": "unknown_gift_card"}) from None
    _check_currency(card.currency, currency, f"{path}.code")
    return card.pk


def _masked(code: str) -> str:
    code = customers.normalize_gift_card_code(code)
    return f"…{code[-4:]}"


def redeem_tenders(planned: list[PlannedTender], *, order: Order, where: str, actor: str) -> None:
    """Take stored value and points, each with its own conditional UPDATE: beyond a
    balance is 409 `insufficient_balance` naming the tender, and the order rolls back.
    Accounts are touched in a fixed order (stored value by id, then points), so two
    orders drawing on the same cards cannot deadlock."""
    for tender in sorted(planned, key=lambda t: (t.type == TenderType.LOYALTY, t.account_id or 0)):
        path = f"{where}[{tender.index}]" if where == "tenders" else where
        source = f"order:{order.pk}:tender:{tender.index}"
        try:
            if tender.type in STORED_VALUE_TENDERS:
                customers.redeem_stored_value(account_id=tender.account_id, amount=tender.amount,
                                              order_id=order.pk, source_reference=source, actor=actor)
            elif tender.type == TenderType.LOYALTY:
                customers.redeem_points(customer_id=order.customer_id, points=tender.points,
                                        order_id=order.pk, reference=source, actor=actor)
        except InsufficientBalance as exc:
            unit = "points" if tender.type == TenderType.LOYALTY else order.currency
            raise InsufficientBalance(
                requested=exc.extra["requested"], available=exc.extra["available"], unit=unit,
                field=f"{path}.points" if tender.type == TenderType.LOYALTY else f"{path}.amount",
            ) from None


def create_payments(planned: list[PlannedTender], *, order: Order) -> list[Payment]:
    return Payment.objects.bulk_create([
        Payment(order=order, tender_type=tender.type, status=tender.status, amount=tender.amount,
                tip_amount=tender.tip, currency=order.currency, points=tender.points,
                stored_value_account_id=tender.account_id, reference=tender.reference)
        for tender in planned
    ])


# ---------------------------------------------------------------- loyalty earned


def loyalty_earn_base(*, order: Order, points_redeemed: int) -> int:
    """What earns points: the goods after discounts (no tax, no tip), less what was paid
    with points, so points never earn points."""
    program_value = customers.get_loyalty_program().point_value if points_redeemed else 0
    spent_points = money.points_value(points_redeemed, program_value)
    return max(0, order.subtotal_amount - order.discount_amount - spent_points)


def earn_loyalty(*, order: Order, points_redeemed: int | None = None, actor: str = "") -> int:
    """The points a paid order earns its customer, once per order (the ledger's unique
    source); the order keeps the figure for its document."""
    if order.customer_id is None:
        return 0
    if points_redeemed is None:
        points_redeemed = (Payment.objects.filter(order=order, tender_type=TenderType.LOYALTY)
                           .aggregate(points=Sum("points"))["points"] or 0)
    entry = customers.earn_points(
        customer_id=order.customer_id, order_id=order.pk, currency=order.currency, actor=actor,
        amount=loyalty_earn_base(order=order, points_redeemed=points_redeemed))
    earned = entry.points if entry is not None else 0
    if earned:
        Order.objects.filter(pk=order.pk).update(loyalty_points_earned=earned)
        order.loyalty_points_earned = earned
    return earned
