"""Money: integer minor units plus an ISO 4217 currency, and every rounding rule.

Rules (one place, tested):
- Amounts are ints in the currency's minor unit. Floats never carry money.
- Decimal amounts from platforms (Shopify "9.50", Toast 9.5) convert with ROUND_HALF_UP
  after scaling; anything finer than the minor unit is a rounding, done once, here.
- Splitting an amount pro rata (refunds over tenders, discounts over lines) uses the
  largest-remainder method, so the parts always add up to the whole exactly.
- Percentages (tax, loyalty earn rates) are basis points; the product rounds half up.
- Tax is computed per line, on the line's net (its amount less its share of every
  discount), rounded half up on that line; the order's tax is the sum of its lines' tax,
  never a separately rounded figure. An exempt line (a tax category the location exempts,
  e.g. groceries) is taxed at 0.
- A percent discount is the amount times the basis points, rounded half up; a fixed
  discount is its face value. Either is capped at what it discounts, so no net goes
  below zero. Several discounts on one line (or on one order) apply in the order given,
  each to what the ones before it left. An order discount is allocated to lines by
  largest remainder, weighted by each line's amount after its own discount (earlier
  lines win ties).
- An order's total is subtotal - discounts + tax (+ a platform's adjustment: shipping,
  service charges). Tips sit beside the total, never in it: the tenders' amounts add up
  to the total, and each tender carries its own tip.
- A figure a platform gives for the whole order (its tax) is allocated to lines by
  largest remainder over the lines' nets (their gross amounts when every net is zero).
- A pro-rata share (a refund's share of earned points, of a tender, of tax) is
  amount * part / whole rounded half up, and never more than the amount.
- Refunds give back a share cumulatively: the first k of n units (or of a tender's money)
  are worth pro_rata_share(amount, k, n), and a refund of m more is the difference
  share(k + m) - share(k) (`cumulative_share`). Refunds in any steps therefore add up to
  exactly the amount once everything is back, and never more.
- Loyalty points are earned on whole currency units only: floor(amount * points per unit
  / 10**exponent), so a point is never given for money not spent. Points are worth
  points * point value (minor units), exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

MINOR_UNIT_EXPONENT = {"USD": 2, "EUR": 2, "GBP": 2, "CAD": 2, "MXN": 2, "JPY": 0}


class MoneyError(ValueError):
    pass


def exponent_of(currency: str) -> int:
    try:
        return MINOR_UNIT_EXPONENT[currency]
    except KeyError:
        raise MoneyError(f"unsupported currency {currency!r}") from None


@dataclass(frozen=True, slots=True)
class Money:
    amount: int
    currency: str

    def __post_init__(self):
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise MoneyError("money amounts are integers in minor units")
        exponent_of(self.currency)

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, quantity: int) -> Money:
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            raise MoneyError("money multiplies by integer quantities only")
        return Money(self.amount * quantity, self.currency)

    __rmul__ = __mul__

    def _same_currency(self, other: Money) -> None:
        if self.currency != other.currency:
            raise MoneyError(f"cannot mix {self.currency} and {other.currency}")

    def as_dict(self) -> dict:
        return {"amount": self.amount, "currency": self.currency}

    def to_decimal_string(self) -> str:
        return decimal_string(self.amount, self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)


def from_decimal(value: str | int | float | Decimal, currency: str) -> int:
    """Minor units from a platform's decimal amount ("9.50", 9.5), rounding half up."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise MoneyError(f"not a decimal amount: {value!r}") from None
    if not amount.is_finite():
        raise MoneyError(f"not a finite amount: {value!r}")
    scaled = amount.scaleb(exponent_of(currency))
    return int(scaled.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def decimal_string(amount: int, currency: str) -> str:
    """"9.50" for 950 USD: the form Shopify and Toast take."""
    exponent = exponent_of(currency)
    return str(Decimal(amount).scaleb(-exponent).quantize(Decimal(1).scaleb(-exponent)))


def apply_basis_points(amount: int, basis_points: int) -> int:
    """amount * bp / 10000, rounded half up (away from zero for negatives)."""
    product = Decimal(amount) * Decimal(basis_points) / Decimal(10000)
    return int(product.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def allocate(total: int, weights: list[int]) -> list[int]:
    """Split `total` over `weights` pro rata; parts sum to `total` exactly.

    Largest remainder: each part gets its floor share, and the leftover units go one by
    one to the parts with the largest remainders (earlier parts win ties).
    """
    if not weights:
        raise MoneyError("allocate needs at least one weight")
    if any(w < 0 for w in weights):
        raise MoneyError("weights must not be negative")
    weight_sum = sum(weights)
    if weight_sum == 0:
        raise MoneyError("weights must not all be zero")
    sign = -1 if total < 0 else 1
    magnitude = abs(total)
    floors = [magnitude * w // weight_sum for w in weights]
    remainders = [magnitude * w % weight_sum for w in weights]
    leftover = magnitude - sum(floors)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in by_remainder[:leftover]:
        floors[i] += 1
    return [sign * part for part in floors]


def _require_non_negative(**values: int) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int):
            raise MoneyError(f"{name} must be an integer")
        if value < 0:
            raise MoneyError(f"{name} must not be negative")


def line_tax(net_amount: int, rate_basis_points: int, *, exempt: bool = False) -> int:
    """The tax on one line's net amount: half up, per line (see the module rules)."""
    _require_non_negative(net_amount=net_amount, rate_basis_points=rate_basis_points)
    if exempt:
        return 0
    return apply_basis_points(net_amount, rate_basis_points)


def percent_discount(amount: int, basis_points: int) -> int:
    """A percent-off discount on `amount` (1000 bp = 10%), rounded half up, capped at it."""
    _require_non_negative(amount=amount, basis_points=basis_points)
    return min(apply_basis_points(amount, basis_points), amount)


def fixed_discount(amount: int, discount: int) -> int:
    """A fixed-amount discount on `amount`, capped at it."""
    _require_non_negative(amount=amount, discount=discount)
    return min(discount, amount)


def allocate_discount(discount: int, line_amounts: list[int]) -> list[int]:
    """An order discount spread over lines by their amounts; parts sum to it exactly."""
    _require_non_negative(discount=discount)
    if discount > sum(line_amounts):
        raise MoneyError("a discount cannot exceed what it discounts")
    if discount == 0:
        return [0] * len(line_amounts)
    return allocate(discount, line_amounts)


@dataclass(frozen=True, slots=True)
class LineInput:
    amount: int  # quantity * unit price, minor units
    discount: int = 0  # the line's own discount, already an amount
    tax_basis_points: int = 0
    tax_exempt: bool = False


@dataclass(frozen=True, slots=True)
class LineAmounts:
    amount: int
    discount: int  # the line's own discount plus its share of the order discount
    net: int
    tax: int

    @property
    def total(self) -> int:
        return self.net + self.tax


def price_lines(lines: list[LineInput], *, order_discount: int = 0) -> list[LineAmounts]:
    """Every line's discount, net and tax: line discounts first, then the order discount
    by largest remainder over what is left, then tax per line on the net."""
    if not lines:
        raise MoneyError("an order has at least one line")
    after_own = []
    for line in lines:
        _require_non_negative(amount=line.amount, discount=line.discount)
        after_own.append(line.amount - fixed_discount(line.amount, line.discount))
    if sum(after_own) == 0:
        shares = [0] * len(lines)
        if order_discount:
            raise MoneyError("a discount cannot exceed what it discounts")
    else:
        shares = allocate_discount(order_discount, after_own)
    priced = []
    for line, remaining, share in zip(lines, after_own, shares, strict=True):
        net = remaining - share
        priced.append(LineAmounts(
            amount=line.amount, discount=line.amount - net, net=net,
            tax=line_tax(net, line.tax_basis_points, exempt=line.tax_exempt),
        ))
    return priced


@dataclass(frozen=True, slots=True)
class Discount:
    """A fixed amount off (minor units) or a percentage off (basis points)."""

    amount: int = 0
    basis_points: int = 0


def apply_discounts(amount: int, discounts) -> int:
    """What `discounts` take off `amount` together: one after another, each on what the
    ones before it left, so the result is within [0, amount]."""
    remaining = amount
    for discount in discounts:
        if discount.basis_points:
            remaining -= percent_discount(remaining, discount.basis_points)
        else:
            remaining -= fixed_discount(remaining, discount.amount)
    return amount - remaining


def spread(total: int, line_nets: list[int], line_amounts: list[int]) -> list[int]:
    """A whole-order figure (a platform's tax) over lines: by net, by gross when every net
    is zero, evenly when the lines are all free; parts sum to `total` exactly."""
    for weights in (line_nets, line_amounts, [1] * len(line_nets)):
        if sum(weights) > 0:
            return allocate(total, weights)
    raise MoneyError("an order has at least one line")


def pro_rata_share(amount: int, part: int, whole: int) -> int:
    """amount * part / whole, half up, within [0, amount] (a refund's share of points)."""
    _require_non_negative(amount=amount, part=part, whole=whole)
    if whole == 0:
        raise MoneyError("a share of nothing is undefined")
    share = (Decimal(amount) * Decimal(part) / Decimal(whole)).quantize(
        Decimal(1), rounding=ROUND_HALF_UP)
    return min(int(share), amount)


def cumulative_share(amount: int, *, done: int, more: int, whole: int) -> int:
    """The share of `amount` that `more` parts of `whole` are worth after `done` parts were
    already given back: share(done + more) - share(done). Steps add up to `amount` exactly."""
    _require_non_negative(done=done, more=more)
    if done + more > whole:
        raise MoneyError("cannot give back more parts than the whole")
    return pro_rata_share(amount, done + more, whole) - pro_rata_share(amount, done, whole)


def points_earned(amount: int, currency: str, points_per_unit: int) -> int:
    """Points for spending `amount` minor units: whole currency units only, rounded down."""
    _require_non_negative(amount=amount, points_per_unit=points_per_unit)
    return amount * points_per_unit // 10 ** exponent_of(currency)


def points_value(points: int, point_value: int) -> int:
    """What `points` are worth in minor units, exactly."""
    _require_non_negative(points=points, point_value=point_value)
    return points * point_value
