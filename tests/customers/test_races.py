"""Races on real Postgres connections: one thread = one connection."""

import pytest

from apps.core.models import ExceptionItem
from apps.customers.exceptions import InsufficientBalance
from apps.customers.models import Customer, CustomerEmail, LoyaltyAccount, LoyaltyEntry, StoredValueAccount
from apps.customers.selectors import loyalty_ledger_mismatches, stored_value_ledger_mismatches
from apps.customers.services import (
    earn_points,
    issue_gift_card,
    match_customer,
    redeem_points,
    redeem_stored_value,
)
from tests.helpers import run_concurrently

pytestmark = pytest.mark.django_db(transaction=True)


def outcome(call):
    try:
        call()
        return "ok"
    except InsufficientBalance:
        return "insufficient_balance"


def test_two_redemptions_of_a_full_loyalty_balance_one_succeeds():
    customer = Customer.objects.create(name="Ana")
    earn_points(customer_id=customer.pk, order_id=1, amount=10000, currency="USD")  # 100 pt

    results = run_concurrently(2, lambda i: outcome(
        lambda: redeem_points(customer_id=customer.pk, points=100, order_id=100 + i)))

    assert sorted(results) == ["insufficient_balance", "ok"]
    assert LoyaltyAccount.objects.get(customer=customer).balance == 0
    assert LoyaltyEntry.objects.filter(kind="redeem").count() == 1
    assert loyalty_ledger_mismatches() == []


def test_three_spends_of_one_gift_card_one_succeeds():
    card = issue_gift_card(amount=5000, currency="USD")

    results = run_concurrently(3, lambda i: outcome(
        lambda: redeem_stored_value(account_id=card.pk, amount=4000, order_id=i,
                                    source_reference=f"order:{i}")))

    assert sorted(results) == ["insufficient_balance", "insufficient_balance", "ok"]
    card.refresh_from_db()
    assert card.balance == 1000
    assert card.entries.filter(kind="redeem").count() == 1
    assert stored_value_ledger_mismatches() == []
    assert StoredValueAccount.objects.count() == 1


def test_orders_racing_with_one_new_email_make_one_customer():
    results = run_concurrently(6, lambda i: match_customer(
        name=f"Ana {i}", email="ana@example.com", phone="+15105550123").pk)

    assert len(set(results)) == 1
    assert Customer.objects.count() == 1
    assert CustomerEmail.objects.get().customer_id == results[0]


def test_orders_racing_with_one_new_phone_and_their_own_emails_make_one_customer_with_every_email():
    # Each order first creates its customer and its own email; only one gets the phone,
    # so the others take back their customer and email and match the winner.
    results = run_concurrently(6, lambda i: match_customer(
        name=f"Ana {i}", email=f"ana{i}@example.com", phone="+15105550123").pk)

    assert len(set(results)) == 1
    assert Customer.objects.count() == 1
    assert sorted(CustomerEmail.objects.filter(customer_id=results[0]).values_list("email", flat=True)) \
        == [f"ana{i}@example.com" for i in range(6)]
    assert not ExceptionItem.objects.exists()
