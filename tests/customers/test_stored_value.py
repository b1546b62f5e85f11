"""Gift cards and store credit: one ledger, balances never negative, liability by date."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.customers.enums import StoredValueKind
from apps.customers.exceptions import InsufficientBalance, StoredValueExpired
from apps.customers.models import StoredValueAccount, StoredValueEntry
from apps.customers.selectors import (
    balance_at,
    gift_card_document,
    outstanding_liability,
    stored_value_ledger_mismatches,
)
from apps.customers.services import (
    expire_stored_value,
    issue_gift_card,
    issue_store_credit,
    redeem_stored_value,
    refund_to_stored_value,
)
from apps.customers.services.stored_value import CODE_ALPHABET, CODE_LENGTH

pytestmark = pytest.mark.django_db


def test_a_gift_card_is_issued_with_a_readable_code_and_once_per_source():
    card = issue_gift_card(amount=5000, currency="USD", source_reference="sale-1:line-2")
    again = issue_gift_card(amount=5000, currency="USD", source_reference="sale-1:line-2")

    assert again.pk == card.pk
    assert len(card.code) == CODE_LENGTH and set(card.code) <= set(CODE_ALPHABET)
    assert card.balance == 5000
    document = gift_card_document(code=card.code.lower())
    assert document["balance"] == {"amount": 5000, "currency": "USD"}
    assert [row["kind"] for row in document["ledger"]] == ["issue"]


def test_a_card_is_never_spent_past_its_balance():
    card = issue_gift_card(amount=3000, currency="USD")
    redeem_stored_value(account_id=card.pk, amount=2000, order_id=1, source_reference="order:1")

    with pytest.raises(InsufficientBalance) as refused:
        redeem_stored_value(account_id=card.pk, amount=1001, order_id=2, source_reference="order:2")

    assert refused.value.as_errors()[0]["available"] == 1000
    card.refresh_from_db()
    assert card.balance == 1000
    assert StoredValueEntry.objects.filter(account=card).count() == 2


def test_a_refund_puts_money_back_once_per_refund():
    card = issue_gift_card(amount=3000, currency="USD")
    redeem_stored_value(account_id=card.pk, amount=3000, order_id=1, source_reference="order:1")

    refund = refund_to_stored_value(account_id=card.pk, amount=1200, refund_reference="R1", order_id=1)
    again = refund_to_stored_value(account_id=card.pk, amount=1200, refund_reference="R1", order_id=1)

    assert refund.pk == again.pk
    card.refresh_from_db()
    assert card.balance == 1200


def test_an_expired_card_cannot_be_spent_and_its_balance_is_written_off_once():
    card = issue_gift_card(amount=3000, currency="USD", expires_at=timezone.now() + timedelta(days=1))
    assert expire_stored_value(account_id=card.pk) is None  # not due yet
    StoredValueAccount.objects.filter(pk=card.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    with pytest.raises(StoredValueExpired):
        redeem_stored_value(account_id=card.pk, amount=100)
    entry = expire_stored_value(account_id=card.pk)

    assert entry.amount == -3000
    assert expire_stored_value(account_id=card.pk) is None
    card.refresh_from_db()
    assert card.balance == 0


def test_store_credit_is_one_account_per_customer_and_currency(customer):
    issue_store_credit(customer_id=customer.pk, amount=500, currency="USD", source_reference="goodwill:1")
    issue_store_credit(customer_id=customer.pk, amount=700, currency="USD", source_reference="goodwill:2")

    account = StoredValueAccount.objects.get(kind=StoredValueKind.STORE_CREDIT, customer=customer)
    assert account.balance == 1200
    with pytest.raises(IntegrityError), transaction.atomic():
        StoredValueAccount.objects.create(kind=StoredValueKind.STORE_CREDIT, customer=customer,
                                          currency="USD")


def test_finance_sees_the_outstanding_balance_at_any_date(customer):
    before_anything = timezone.now()
    card = issue_gift_card(amount=5000, currency="USD")
    after_issue = timezone.now()
    redeem_stored_value(account_id=card.pk, amount=1500, order_id=1)
    issue_store_credit(customer_id=customer.pk, amount=800, currency="USD")
    after_all = timezone.now()

    assert balance_at(account_id=card.pk, at=before_anything) == 0
    assert balance_at(account_id=card.pk, at=after_issue) == 5000
    assert balance_at(account_id=card.pk, at=after_all) == 3500
    assert outstanding_liability(kind=StoredValueKind.GIFT_CARD, at=after_issue) == {"USD": 5000}
    assert outstanding_liability(kind=StoredValueKind.GIFT_CARD, at=after_all) == {"USD": 3500}
    assert outstanding_liability(kind=StoredValueKind.STORE_CREDIT, at=after_all) == {"USD": 800}
    assert stored_value_ledger_mismatches() == []


def test_the_database_refuses_a_negative_balance():
    card = issue_gift_card(amount=100, currency="USD")
    with pytest.raises(IntegrityError), transaction.atomic():
        StoredValueAccount.objects.filter(pk=card.pk).update(balance=-1)
