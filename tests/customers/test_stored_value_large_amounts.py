"""Amounts past 2**31 on bigint balances (the gift-card bug): Django passes a plain int in
`F("balance") + amount` as psycopg's Int4, and with server-side binding psycopg's binary
dumper packed it into 4 bytes, so 2**31 reached Postgres as -2**31 (the CHECK refused the
card) and 2**32 + 5 as 5 (a silently wrong balance). apps/core/integer_params sends such a
value as int8 instead; a value that cannot fit an int4 column is refused, never wrapped."""

import pytest
from django.db import DataError, connection, transaction
from psycopg.types.numeric import Int2, Int4

from apps.core.errors import ValidationFailed
from apps.customers.models import LoyaltyAccount, StoredValueAccount
from apps.customers.selectors import loyalty_ledger_mismatches, stored_value_ledger_mismatches
from apps.customers.services import adjust_points, issue_gift_card, issue_store_credit, redeem_stored_value
from apps.customers.services.stored_value import MAX_BALANCE
from apps.inventory.models import StockLevel, StockMovement
from apps.inventory.services import adjust_stock
from apps.returns.services import refund_order
from tests.factories import LocationFactory, VariantFactory
from tests.returns.conftest import register_sale

pytestmark = pytest.mark.django_db


def test_a_gift_card_of_2_to_the_31_is_issued_and_spent_exactly():
    card = issue_gift_card(amount=2**31, currency="USD")
    assert card.balance == 2**31

    redeem_stored_value(account_id=card.pk, amount=2**31 - 1, order_id=1, source_reference="order:1")

    card.refresh_from_db()
    assert card.balance == 1
    assert stored_value_ledger_mismatches() == []


@pytest.mark.parametrize("amount", [2**32 + 5, 2**40, MAX_BALANCE])
def test_larger_loads_are_kept_to_the_unit_not_wrapped(amount):
    card = issue_gift_card(amount=amount, currency="USD")

    card.refresh_from_db()
    assert card.balance == amount
    assert stored_value_ledger_mismatches() == []


def test_store_credit_and_loyalty_counters_take_large_amounts(customer):
    entry = issue_store_credit(customer_id=customer.pk, amount=3 * 2**31, currency="USD")
    adjust_points(customer_id=customer.pk, points=2**31 + 7, reason="migration from the old program")

    assert StoredValueAccount.objects.get(pk=entry.account_id).balance == 3 * 2**31
    assert LoyaltyAccount.objects.get(customer=customer).balance == 2**31 + 7
    assert (stored_value_ledger_mismatches(), loyalty_ledger_mismatches()) == ([], [])


def test_a_load_beyond_a_bigint_is_a_validation_error_not_a_server_error():
    with pytest.raises(ValidationFailed) as refused:
        issue_gift_card(amount=MAX_BALANCE + 1, currency="USD")

    assert refused.value.as_errors()[0]["code"] == "max_value"


@pytest.mark.parametrize("wrapper", [Int2, Int4])
def test_an_int4_or_int2_parameter_past_its_range_reaches_postgres_unchanged(wrapper):
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::text, %s::text, %s::text",
                       [wrapper(2**31), wrapper(-(2**32) - 5), wrapper(7)])
        assert cursor.fetchone() == (str(2**31), str(-(2**32) - 5), "7")


def test_a_stock_change_an_int4_column_cannot_hold_is_refused_not_wrapped():
    level_of = {"location": LocationFactory(code="OAK"), "variant": VariantFactory(sku="TACO")}
    adjust_stock(location_id=level_of["location"].pk, variant_id=level_of["variant"].pk, delta=5,
                 reason="receipt", actor="test")

    with pytest.raises(DataError), transaction.atomic():
        adjust_stock(location_id=level_of["location"].pk, variant_id=level_of["variant"].pk,
                     delta=2**32 + 1, reason="receipt", actor="test")

    assert StockLevel.objects.get().on_hand == 5
    assert StockMovement.objects.count() == 1


def test_a_refund_past_2_to_the_31_raises_the_order_counters_exactly(shop):
    """The order's refund counters are bigint too and moved by the same kind of UPDATE."""
    order = register_sale(quantity=6_000_000)  # 375 each: 2,250,000,000
    refund = refund_order(order_id=order.pk, amount=2**31 + 1, reason="test")

    order.refresh_from_db()
    assert (refund.amount, order.refunded_amount) == (2**31 + 1, 2**31 + 1)
    assert order.payments.get().refunded_amount == 2**31 + 1
