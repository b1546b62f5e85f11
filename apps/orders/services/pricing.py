"""An order's money: lines priced from the catalog (or a platform's own prices), then
discounts, tax and totals through apps/core/money.py, where every rounding rule lives."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from apps.core import money
from apps.core.errors import ValidationFailed
from apps.inventory.exceptions import ItemUnavailable
from apps.orders.exceptions import UnknownSku
from apps.orders.selectors import (
    SellableVariant,
    get_modifiers,
    get_product_modifier_groups,
    get_sellable_variants,
)
from apps.orders.services.inputs import DiscountInput, ExternalOrderInput, LineInput

if TYPE_CHECKING:
    from apps.inventory.models import Location


@dataclass
class PricedLine:
    number: int
    variant: SellableVariant
    quantity: int
    unit_price: int
    modifiers: list[dict]
    note: str
    discount: int = 0
    tax: int = 0
    tax_rate_bps: int = 0

    @property
    def total(self) -> int:
        return self.unit_price * self.quantity

    @property
    def net(self) -> int:
        return self.total - self.discount


@dataclass(frozen=True)
class OrderTotals:
    currency: str
    subtotal: int
    discount: int
    tax: int
    adjustment: int = 0

    @property
    def total(self) -> int:
        return self.subtotal - self.discount + self.tax + self.adjustment


# ---------------------------------------------------------------- the catalog


def price_lines(*, location: Location, lines: tuple[LineInput, ...], require_stocked: bool = True
                ) -> list[PricedLine]:
    """Lines priced from the catalog, modifiers validated against the product's groups."""
    variants = get_sellable_variants(location_id=location.pk, skus=[line.sku for line in lines])
    modifiers = get_modifiers(sorted({m.sku for line in lines for m in line.modifiers}))
    # Group rules matter only for lines with modifiers or products that require some.
    lines_with_modifiers = {line.sku for line in lines if line.modifiers}
    products_with_rules = {v.product_id for v in variants.values()
                           if v.sku in lines_with_modifiers or v.has_required_modifiers}
    # Most orders have none: skip even building the (empty) query.
    groups = get_product_modifier_groups(products_with_rules) if products_with_rules else {}
    priced = []
    for index, line in enumerate(lines):
        variant = variants.get(line.sku)
        if variant is None:
            raise UnknownSku(f"Unknown SKU {line.sku!r}.", field=f"lines[{index}].sku")
        if require_stocked:
            _check_sellable(variant, location, index)
        line_modifiers, delta = _price_modifiers(line, index, modifiers,
                                                 groups.get(variant.product_id, {}))
        unit_price = variant.price + delta if line.unit_price is None else line.unit_price
        priced.append(PricedLine(index + 1, variant, line.quantity, unit_price, line_modifiers,
                                 line.note))
    _check_single_currency(priced)
    return priced


def _check_sellable(variant: SellableVariant, location: Location, index: int) -> None:
    field_name = f"lines[{index}].sku"
    if not variant.is_active or variant.level_id is None:
        raise ItemUnavailable(f"{variant.sku} is not sold at {location.code}.", field=field_name)
    if variant.is_86d:
        raise ItemUnavailable(f"{variant.sku} is 86'd at {location.code}.", field=field_name)


def _price_modifiers(line: LineInput, index: int, modifiers: dict, allowed: dict
                     ) -> tuple[list[dict], int]:
    chosen: list[dict] = []
    per_group: dict[int, int] = {}
    delta = 0
    for m_index, wanted in enumerate(line.modifiers):
        field_name = f"lines[{index}].modifiers[{m_index}].sku"
        modifier = modifiers.get(wanted.sku)
        if modifier is None or not modifier["is_active"]:
            raise UnknownSku(f"Unknown modifier {wanted.sku!r}.", field=field_name)
        if modifier["group_id"] not in allowed:
            raise ValidationFailed(f"{wanted.sku} is not a modifier of {line.sku}.",
                                   field=field_name, extra={"code": "modifier_not_allowed"})
        per_group[modifier["group_id"]] = per_group.get(modifier["group_id"], 0) + wanted.quantity
        delta += modifier["price_delta"] * wanted.quantity
        chosen.append({"sku": modifier["sku"], "name": modifier["name"],
                       "quantity": wanted.quantity, "price_delta": modifier["price_delta"]})
    for group_id, (minimum, maximum, name) in allowed.items():
        count = per_group.get(group_id, 0)
        if not minimum <= count <= maximum:
            raise ValidationFailed(
                f"{line.sku} takes {minimum} to {maximum} choices of {name}; got {count}.",
                field=f"lines[{index}].modifiers", extra={"code": "modifier_count"},
            )
    return chosen, delta


def _check_single_currency(priced: list[PricedLine]) -> None:
    currencies = {line.variant.currency for line in priced}
    if len(currencies) > 1:
        raise ValidationFailed("An order's lines must share one currency.", field="lines")


# ---------------------------------------------------------------- discounts and tax


def apply_discounts_and_tax(*, priced: list[PricedLine], lines: tuple[LineInput, ...],
                            order_discounts: tuple[DiscountInput, ...], location: Location
                            ) -> OrderTotals:
    """A refusable order's discounts and the location's tax, per line (money.price_lines);
    sets each line's discount and tax and returns the order's totals."""
    currency = priced[0].variant.currency
    exempt = set(location.tax_exempt_categories or ())
    inputs = [
        money.LineInput(
            amount=line.total,
            discount=money.apply_discounts(line.total, _discounts(given.discounts, currency,
                                                                  f"lines[{index}].discounts")),
            tax_basis_points=location.tax_rate_bps,
            tax_exempt=line.variant.tax_category in exempt,
        )
        for index, (line, given) in enumerate(zip(priced, lines, strict=True))
    ]
    after_own = sum(item.amount - item.discount for item in inputs)
    order_discount = money.apply_discounts(after_own, _discounts(order_discounts, currency, "discounts"))
    for line, item, amounts in zip(priced, inputs,
                                   money.price_lines(inputs, order_discount=order_discount), strict=True):
        line.discount, line.tax = amounts.discount, amounts.tax
        line.tax_rate_bps = 0 if item.tax_exempt else item.tax_basis_points
    return totals_of(priced, currency)


def _discounts(given: tuple[DiscountInput, ...], currency: str, where: str) -> list[money.Discount]:
    for index, discount in enumerate(given):
        if not discount.percent_bps and discount.currency != currency:
            raise ValidationFailed(f"The order is in {currency}, not {discount.currency}.",
                                   field=f"{where}[{index}].amount.currency",
                                   extra={"code": "currency_mismatch"})
    return [money.Discount(amount=d.amount, basis_points=d.percent_bps) for d in given]


def keep_platform_figures(*, priced: list[PricedLine], order: ExternalOrderInput) -> OrderTotals:
    """A platform's own discounts and tax, kept as it computed them: a line's own figures,
    the order's discount spread by largest remainder, the order's tax spread over the nets.
    The platform's total, when given, is the total; what it holds beyond lines, discounts
    and tax (shipping, service charges) is the order's adjustment."""
    currency = priced[0].variant.currency
    inputs = [money.LineInput(amount=line.total, discount=min(max(given.discount or 0, 0), line.total))
              for line, given in zip(priced, order.lines, strict=True)]
    after_own = sum(item.amount - item.discount for item in inputs)
    order_discount = min(max(order.discount or 0, 0), after_own)
    for line, amounts in zip(priced, money.price_lines(inputs, order_discount=order_discount),
                             strict=True):
        line.discount = amounts.discount
    for line, tax in zip(priced, _platform_taxes(priced, order), strict=True):
        if tax < 0:
            raise ValidationFailed("A platform's tax cannot be negative.", field="tax")
        line.tax = tax
    totals = totals_of(priced, currency)
    if order.total is None:
        return totals
    return OrderTotals(currency, totals.subtotal, totals.discount, totals.tax,
                       adjustment=order.total - totals.total)


def _platform_taxes(priced: list[PricedLine], order: ExternalOrderInput) -> list[int]:
    if order.tax is not None:
        return money.spread(order.tax, [line.net for line in priced], [line.total for line in priced])
    return [given.tax or 0 for given in order.lines]


def totals_of(priced: list[PricedLine], currency: str) -> OrderTotals:
    return OrderTotals(currency=currency, subtotal=sum(line.total for line in priced),
                       discount=sum(line.discount for line in priced),
                       tax=sum(line.tax for line in priced))
