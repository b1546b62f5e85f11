"""The rounding rules of apps/core/money.py: tax, discounts, pro-rata shares, points."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.core.money import (
    LineInput,
    MoneyError,
    allocate_discount,
    fixed_discount,
    line_tax,
    percent_discount,
    points_earned,
    points_value,
    price_lines,
    pro_rata_share,
)


def test_line_tax_rounds_half_up_per_line_and_exempt_lines_pay_none():
    assert line_tax(1000, 875) == 88  # 87.5
    assert line_tax(1000, 874) == 87  # 87.4
    assert line_tax(1000, 875, exempt=True) == 0


def test_tax_is_per_line_so_two_half_cents_round_up_twice():
    lines = price_lines([LineInput(1000, tax_basis_points=875), LineInput(1000, tax_basis_points=875)])
    assert [line.tax for line in lines] == [88, 88]  # not round(175.0) once


def test_discounts_are_capped_at_what_they_discount():
    assert percent_discount(999, 1000) == 100
    assert percent_discount(500, 20000) == 500
    assert fixed_discount(500, 700) == 500
    with pytest.raises(MoneyError):
        allocate_discount(11, [5, 5])


def test_order_discount_goes_by_largest_remainder_earlier_lines_winning_ties():
    lines = price_lines([LineInput(1000), LineInput(1000), LineInput(1000)], order_discount=100)
    assert [line.discount for line in lines] == [34, 33, 33]
    assert [line.net for line in lines] == [966, 967, 967]


def test_a_line_discount_comes_before_the_order_discount_and_tax_is_on_the_net():
    lines = price_lines([LineInput(2000, discount=500, tax_basis_points=1000),
                         LineInput(500, tax_basis_points=1000, tax_exempt=True)],
                        order_discount=200)
    # 1500 and 500 remain; 200 splits 150 / 50.
    assert [(line.discount, line.net, line.tax) for line in lines] == [(650, 1350, 135), (50, 450, 0)]


def test_pro_rata_share_and_points():
    assert pro_rata_share(100, 1, 3) == 33
    assert pro_rata_share(100, 2, 3) == 67
    assert pro_rata_share(100, 5, 3) == 100
    assert points_earned(1999, "USD", 1) == 19
    assert points_earned(1999, "JPY", 1) == 1999
    assert points_earned(250, "USD", 10) == 25
    assert points_value(150, 1) == 150
    with pytest.raises(MoneyError):
        pro_rata_share(100, 1, 0)


line_inputs = st.builds(
    LineInput,
    amount=st.integers(0, 10**7),
    discount=st.integers(0, 10**6),
    tax_basis_points=st.integers(0, 2500),
    tax_exempt=st.booleans(),
)


@given(st.lists(line_inputs, min_size=1, max_size=15), st.integers(0, 10**8))
def test_every_line_knows_its_net_tax_and_discount_and_the_order_adds_up(lines, wanted_discount):
    after_own = sum(line.amount - min(line.discount, line.amount) for line in lines)
    order_discount = min(wanted_discount, after_own)

    priced = price_lines(lines, order_discount=order_discount)

    own_discounts = sum(min(line.discount, line.amount) for line in lines)
    assert sum(p.discount for p in priced) == own_discounts + order_discount
    assert sum(p.net for p in priced) == sum(line.amount for line in lines) - own_discounts - order_discount
    for line, p in zip(lines, priced, strict=True):
        assert p.net >= 0 and p.tax >= 0
        assert p.net + p.discount == line.amount
        assert p.tax == (0 if line.tax_exempt else line_tax(p.net, line.tax_basis_points))
        assert all(isinstance(v, int) for v in (p.net, p.tax, p.discount, p.total))


@given(st.integers(0, 10**9), st.lists(st.integers(0, 10**7), min_size=1, max_size=20))
def test_allocated_discount_sums_exactly_and_no_line_gives_more_than_it_has(discount, amounts):
    if discount > sum(amounts):
        with pytest.raises(MoneyError):
            allocate_discount(discount, amounts)
        return
    parts = allocate_discount(discount, amounts)
    assert sum(parts) == discount
    assert all(0 <= part <= amount for part, amount in zip(parts, amounts, strict=True))


@given(st.integers(0, 10**7), st.lists(st.integers(1, 10**6), min_size=1, max_size=10))
def test_pro_rata_shares_of_a_whole_never_exceed_the_amount(amount, parts):
    whole = sum(parts)
    shares = [pro_rata_share(amount, part, whole) for part in parts]
    assert all(0 <= share <= amount for share in shares)
    assert pro_rata_share(amount, whole, whole) == amount
    # Each share is within half a unit of the exact figure.
    for part, share in zip(parts, shares, strict=True):
        assert abs(share * whole - amount * part) * 2 <= whole
