import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.core.money import Money, MoneyError, allocate, apply_basis_points, decimal_string, from_decimal


def test_money_adds_and_multiplies_exactly():
    assert Money(950, "USD") * 2 + Money(200, "USD") * 2 == Money(2300, "USD")


def test_money_refuses_floats_and_mixed_currencies():
    with pytest.raises(MoneyError):
        Money(9.5, "USD")
    with pytest.raises(MoneyError):
        Money(1, "USD") + Money(1, "EUR")
    with pytest.raises(MoneyError):
        Money(1, "USD") * 1.5


@pytest.mark.parametrize("value, currency, expected", [
    ("9.50", "USD", 950), (9.5, "USD", 950), ("0.005", "USD", 1), ("0.004", "USD", 0),
    ("-0.005", "USD", -1), ("1200", "JPY", 1200), (8.5, "USD", 850),
])
def test_from_decimal_rounds_half_up(value, currency, expected):
    assert from_decimal(value, currency) == expected


def test_decimal_string():
    assert decimal_string(950, "USD") == "9.50"
    assert decimal_string(5, "USD") == "0.05"
    assert decimal_string(1200, "JPY") == "1200"


def test_apply_basis_points_rounds_half_up():
    assert apply_basis_points(1000, 875) == 88  # 87.5
    assert apply_basis_points(999, 1000) == 100  # 99.9


def test_allocate_gives_leftover_cents_to_largest_remainders():
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]
    assert allocate(-100, [1, 1, 1]) == [-34, -33, -33]
    assert allocate(1000, [2300, 700]) == [767, 233]


@given(st.integers(-10**9, 10**9), st.lists(st.integers(0, 10**6), min_size=1, max_size=12)
       .filter(lambda w: sum(w) > 0))
def test_allocate_always_sums_to_the_total(total, weights):
    parts = allocate(total, weights)
    assert sum(parts) == total
    assert all(part == 0 for part, weight in zip(parts, weights, strict=True) if weight == 0)
