"""Hypothesis over random orders, tenders, discounts, tax and refunds: totals stay exact,
ledgers equal their balances, and nothing goes negative."""

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.core import money
from apps.customers.exceptions import InsufficientBalance
from apps.customers.models import Customer, LoyaltyAccount, LoyaltyEntry, StoredValueAccount
from apps.customers.selectors import loyalty_ledger_mismatches, stored_value_ledger_mismatches
from apps.customers.services import (
    earn_points,
    get_loyalty_program,
    issue_gift_card,
    redeem_points,
    redeem_stored_value,
    refund_to_stored_value,
    return_points,
    reverse_points,
)

pytestmark = pytest.mark.django_db
PROPERTY_SETTINGS = settings(max_examples=40, deadline=None,
                             suppress_health_check=[HealthCheck.function_scoped_fixture])
order_ids = itertools.count(10_000)
refund_ids = itertools.count(1)

loyalty_steps = st.lists(st.one_of(
    st.tuples(st.just("earn"), st.integers(0, 50_000)),
    st.tuples(st.just("redeem"), st.integers(1, 600)),
    st.tuples(st.just("refund"), st.integers(0, 100)),  # percent of an earlier order
), min_size=1, max_size=12)


@PROPERTY_SETTINGS
@given(steps=loyalty_steps)
def test_the_loyalty_ledger_always_equals_its_balance_and_never_goes_negative(db, steps):
    customer = Customer.objects.create(name="Prop")
    expected = 0
    earned_orders = []  # (order id, amount)
    redeemed_orders = []  # (order id, points)
    for step, value in steps:
        if step == "earn":
            order_id = next(order_ids)
            entry = earn_points(customer_id=customer.pk, order_id=order_id, amount=value, currency="USD")
            points = money.points_earned(value, "USD", get_loyalty_program().points_per_unit)
            assert (entry.points if entry else 0) == points
            expected += points
            earned_orders.append((order_id, value))
        elif step == "redeem":
            order_id = next(order_ids)
            try:
                redeem_points(customer_id=customer.pk, points=value, order_id=order_id)
            except InsufficientBalance:
                assert value > expected
            else:
                assert value <= expected
                expected -= value
                redeemed_orders.append((order_id, value))
        elif earned_orders:
            order_id, amount = earned_orders[value % len(earned_orders)]
            refund = f"prop-{next(refund_ids)}"
            reversed_entry = reverse_points(customer_id=customer.pk, order_id=order_id,
                                            refund_reference=refund,
                                            refunded_amount=amount * value // 100, order_total=amount)
            expected += reversed_entry.points if reversed_entry else 0
            if redeemed_orders:
                redeemed_order, points = redeemed_orders[value % len(redeemed_orders)]
                returned = return_points(customer_id=customer.pk, order_id=redeemed_order,
                                         refund_reference=refund, points=points)
                expected += returned.points if returned else 0
        account = LoyaltyAccount.objects.filter(customer=customer).first()
        balance = account.balance if account else 0
        assert balance == expected >= 0
    assert loyalty_ledger_mismatches() == []
    # Reversals never take more than an order earned, returns never more than it redeemed.
    for order_id, _ in earned_orders:
        on_order = LoyaltyEntry.objects.filter(order_id=order_id)
        assert sum(e.points for e in on_order) >= 0


card_steps = st.lists(st.one_of(
    st.tuples(st.just("redeem"), st.integers(1, 20_000)),
    st.tuples(st.just("refund"), st.integers(1, 5_000)),
), min_size=1, max_size=15)


@PROPERTY_SETTINGS
@given(loaded=st.integers(1, 20_000), steps=card_steps)
def test_a_card_ledger_always_equals_its_balance_and_is_never_overspent(db, loaded, steps):
    card = issue_gift_card(amount=loaded, currency="USD")
    expected = loaded
    for step, amount in steps:
        if step == "redeem":
            try:
                redeem_stored_value(account_id=card.pk, amount=amount)
            except InsufficientBalance:
                assert amount > expected
            else:
                expected -= amount
        else:
            refund_to_stored_value(account_id=card.pk, amount=amount,
                                   refund_reference=f"prop-card-{next(refund_ids)}")
            expected += amount
        assert StoredValueAccount.objects.get(pk=card.pk).balance == expected >= 0
    assert stored_value_ledger_mismatches() == []


lines = st.lists(st.builds(money.LineInput, amount=st.integers(0, 20_000), discount=st.integers(0, 3_000),
                           tax_basis_points=st.integers(0, 1_500), tax_exempt=st.booleans()),
                 min_size=1, max_size=6)


@PROPERTY_SETTINGS
@given(order_lines=lines, discount_bp=st.integers(0, 10_000), card_share=st.integers(0, 100),
       points_share=st.integers(0, 100), refund_share=st.integers(0, 100))
def test_an_order_paid_with_card_points_and_cash_adds_up_and_refunds_stay_within_it(
        db, order_lines, discount_bp, card_share, points_share, refund_share):
    # The order: line discounts, a percent order discount, tax per line.
    after_own = sum(line.amount - min(line.discount, line.amount) for line in order_lines)
    order_discount = money.percent_discount(after_own, discount_bp)
    priced = money.price_lines(order_lines, order_discount=order_discount)
    total = sum(line.total for line in priced)
    assert total == sum(line.net for line in priced) + sum(line.tax for line in priced)
    assert sum(line.discount for line in priced) == (
        sum(min(line.discount, line.amount) for line in order_lines) + order_discount)

    # Tenders: part gift card, part loyalty points, the rest cash; they sum to the total.
    customer = Customer.objects.create(name="Tender")
    program = get_loyalty_program()
    earn_points(customer_id=customer.pk, order_id=next(order_ids), amount=100_000, currency="USD")
    card = issue_gift_card(amount=max(1, total), currency="USD")
    card_part = total * card_share // 100
    points = min((total - card_part) * points_share // 100 // program.point_value, 1000)
    points_part = money.points_value(points, program.point_value)
    cash_part = total - card_part - points_part
    order_id = next(order_ids)
    if card_part:
        redeem_stored_value(account_id=card.pk, amount=card_part, order_id=order_id)
    if points:
        redeem_points(customer_id=customer.pk, points=points, order_id=order_id)
    assert card_part + points_part + cash_part == total and cash_part >= 0
    earned = earn_points(customer_id=customer.pk, order_id=order_id, amount=total, currency="USD")

    # A refund of part of the order, split over the tenders by largest remainder.
    refunded = total * refund_share // 100
    if total:
        parts = money.allocate(refunded, [card_part, points_part, cash_part]) if refunded else [0, 0, 0]
        assert sum(parts) == refunded and all(0 <= p <= t for p, t in
                                              zip(parts, (card_part, points_part, cash_part), strict=True))
        if parts[0]:
            refund_to_stored_value(account_id=card.pk, amount=parts[0], refund_reference=f"o{order_id}")
        if parts[1]:
            return_points(customer_id=customer.pk, order_id=order_id, refund_reference=f"o{order_id}",
                          points=parts[1] // program.point_value)
        reverse_points(customer_id=customer.pk, order_id=order_id, refund_reference=f"o{order_id}",
                       refunded_amount=refunded, order_total=total)
        reversed_points = -sum(LoyaltyEntry.objects.filter(order_id=order_id, kind="reverse")
                               .values_list("points", flat=True))
        assert reversed_points <= (earned.points if earned else 0)

    assert StoredValueAccount.objects.get(pk=card.pk).balance >= 0
    assert LoyaltyAccount.objects.get(customer=customer).balance >= 0
    assert loyalty_ledger_mismatches() == [] and stored_value_ledger_mismatches() == []
