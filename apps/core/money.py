"""Money: integer minor units plus an ISO 4217 currency, and every rounding rule.

Rules (one place, tested):
- Amounts are ints in the currency's minor unit. Floats never carry money.
- Decimal amounts from platforms (Shopify "9.50", Toast 9.5) convert with ROUND_HALF_UP
  after scaling; anything finer than the minor unit is a rounding, done once, here.
- Splitting an amount pro rata (refunds over tenders, discounts over lines) uses the
  largest-remainder method, so the parts always add up to the whole exactly.
- Percentages (tax, loyalty earn rates) are basis points; the product rounds half up.
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
