"""The loyalty ledger: earn once per order, redeem within the balance, reverse in
proportion on refund, return redeemed points; the balance is the ledger's sum."""

import pytest
from django.db import IntegrityError, transaction

from apps.core.errors import ValidationFailed
from apps.customers.exceptions import InsufficientBalance
from apps.customers.models import LoyaltyAccount, LoyaltyEntry, LoyaltyProgram
from apps.customers.selectors import loyalty_document, loyalty_ledger_mismatches
from apps.customers.services import (
    earn_points,
    get_loyalty_program,
    redeem_points,
    return_points,
    reverse_points,
)

pytestmark = pytest.mark.django_db


def balance(customer):
    return LoyaltyAccount.objects.get(customer=customer).balance


def test_the_first_program_comes_from_settings_and_stays_the_only_active_one(settings):
    settings.LOYALTY_POINTS_PER_UNIT = 2
    settings.LOYALTY_POINT_VALUE = 5
    program = get_loyalty_program()
    assert (program.points_per_unit, program.point_value) == (2, 5)
    assert get_loyalty_program().pk == program.pk
    with pytest.raises(IntegrityError), transaction.atomic():
        LoyaltyProgram.objects.create(points_per_unit=1, point_value=1)


def test_a_paid_order_earns_points_once(customer):
    first = earn_points(customer_id=customer.pk, order_id=41, amount=2599, currency="USD")
    again = earn_points(customer_id=customer.pk, order_id=41, amount=2599, currency="USD")

    assert first.pk == again.pk
    assert first.points == 25  # whole dollars only
    assert balance(customer) == 25
    assert earn_points(customer_id=customer.pk, order_id=42, amount=99, currency="USD") is None


def test_redeeming_more_than_the_balance_is_409_and_changes_nothing(customer):
    earn_points(customer_id=customer.pk, order_id=1, amount=5000, currency="USD")

    with pytest.raises(InsufficientBalance) as refused:
        redeem_points(customer_id=customer.pk, points=51, order_id=2)

    assert refused.value.status == 409
    assert refused.value.as_errors()[0]["code"] == "insufficient_balance"
    assert refused.value.as_errors()[0]["available"] == 50
    assert balance(customer) == 50
    assert LoyaltyEntry.objects.count() == 1


def test_redeeming_within_the_balance_and_the_minimum(customer):
    program = get_loyalty_program()
    LoyaltyProgram.objects.filter(pk=program.pk).update(min_redeem_points=20)
    earn_points(customer_id=customer.pk, order_id=1, amount=5000, currency="USD")

    with pytest.raises(ValidationFailed):
        redeem_points(customer_id=customer.pk, points=19, order_id=2)
    entry = redeem_points(customer_id=customer.pk, points=30, order_id=2)
    assert redeem_points(customer_id=customer.pk, points=30, order_id=2).pk == entry.pk  # replay

    assert entry.points == -30
    assert balance(customer) == 20


def test_a_refund_reverses_earned_points_in_proportion_and_never_past_what_was_earned(customer):
    earn_points(customer_id=customer.pk, order_id=7, amount=10000, currency="USD")  # 100 pt

    first = reverse_points(customer_id=customer.pk, order_id=7, refund_reference="r1",
                           refunded_amount=3333, order_total=10000)
    replay = reverse_points(customer_id=customer.pk, order_id=7, refund_reference="r1",
                            refunded_amount=3333, order_total=10000)
    rest = reverse_points(customer_id=customer.pk, order_id=7, refund_reference="r2",
                          refunded_amount=10000, order_total=10000)

    assert (first.points, replay.pk, rest.points) == (-33, first.pk, -67)
    assert balance(customer) == 0
    assert reverse_points(customer_id=customer.pk, order_id=7, refund_reference="r3",
                          refunded_amount=1, order_total=10000) is None


def test_points_already_spent_stay_spent_and_the_balance_stays_at_zero(customer):
    earn_points(customer_id=customer.pk, order_id=7, amount=10000, currency="USD")
    redeem_points(customer_id=customer.pk, points=80, order_id=8)

    entry = reverse_points(customer_id=customer.pk, order_id=7, refund_reference="r1",
                           refunded_amount=10000, order_total=10000)

    assert entry.points == -20
    assert "100 points were due" in entry.note
    assert balance(customer) == 0


def test_a_refund_gives_back_redeemed_points_up_to_what_the_order_redeemed(customer):
    earn_points(customer_id=customer.pk, order_id=1, amount=10000, currency="USD")
    redeem_points(customer_id=customer.pk, points=60, order_id=2)

    given = return_points(customer_id=customer.pk, order_id=2, refund_reference="r1", points=100)

    assert given.points == 60
    assert return_points(customer_id=customer.pk, order_id=2, refund_reference="r2", points=5) is None
    assert balance(customer) == 100
    assert loyalty_ledger_mismatches() == []
    document = loyalty_document(customer_id=customer.pk)
    assert document["balance"] == 100
    assert [row["kind"] for row in document["ledger"]] == ["return", "redeem", "earn"]


def test_the_database_refuses_a_negative_balance(customer):
    earn_points(customer_id=customer.pk, order_id=1, amount=1000, currency="USD")
    with pytest.raises(IntegrityError), transaction.atomic():
        LoyaltyAccount.objects.filter(customer=customer).update(balance=-1)
