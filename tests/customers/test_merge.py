"""Merge preview, merge and undo: every moved row goes to the survivor, and back."""

import pytest

from apps.core.models import AuditEntry
from apps.customers.enums import StoredValueKind
from apps.customers.exceptions import MergeRefused
from apps.customers.models import (
    Customer,
    CustomerEmail,
    CustomerExternalId,
    CustomerMerge,
    CustomerPhone,
    LoyaltyAccount,
    LoyaltyEntry,
    StoredValueAccount,
    StoredValueEntry,
)
from apps.customers.selectors import (
    customer_document,
    list_customers,
    loyalty_ledger_mismatches,
    stored_value_ledger_mismatches,
)
from apps.customers.services import (
    earn_points,
    issue_gift_card,
    issue_store_credit,
    match_customer,
    merge_customers,
    preview_customer_merge,
    redeem_points,
    undo_customer_merge,
)
from apps.orders.models import Order

pytestmark = pytest.mark.django_db


def snapshot() -> dict:
    """Every row a merge may touch, with the fields it may change."""
    return {
        "customers": set(Customer.objects.values_list("pk", "name", "email", "phone", "notes",
                                                      "merged_into_id")),
        "orders": set(Order.objects.values_list("pk", "customer_id")),
        "emails": set(CustomerEmail.objects.values_list("pk", "customer_id", "email")),
        "phones": set(CustomerPhone.objects.values_list("pk", "customer_id", "phone")),
        "external_ids": set(CustomerExternalId.objects.values_list("pk", "customer_id", "external_id")),
        "loyalty_accounts": set(LoyaltyAccount.objects.values_list("pk", "customer_id", "balance")),
        "loyalty_entries": set(LoyaltyEntry.objects.values_list("pk", "account_id", "points")),
        "stored_value_accounts": set(StoredValueAccount.objects.values_list("pk", "customer_id",
                                                                            "balance")),
        "stored_value_entries": set(StoredValueEntry.objects.values_list("pk", "account_id", "amount")),
    }


@pytest.fixture
def pair(make_order):
    """Ana (the survivor) and her duplicate from the register, each with a history."""
    ana = match_customer(name="Ana Ruiz", email="ana@example.com", platform="shopify",
                         platform_customer_id="S1")
    dup = match_customer(name="A. Ruiz", phone="+15105550123", email="ana.ruiz@work.example",
                         platform="square", platform_customer_id="Q1")
    Customer.objects.filter(pk=dup.pk).update(notes="Prefers pickup at 6pm.")
    ana_orders = [make_order(ana, total=3000)]
    dup_orders = [make_order(dup, total=5000, channel="register"), make_order(dup, total=1000)]
    earn_points(customer_id=ana.pk, order_id=ana_orders[0].pk, amount=3000, currency="USD")
    for order in dup_orders:
        earn_points(customer_id=dup.pk, order_id=order.pk, amount=order.total_amount, currency="USD")
    issue_store_credit(customer_id=dup.pk, amount=750, currency="USD", source_reference="goodwill:1")
    card = issue_gift_card(amount=2500, currency="USD", customer_id=dup.pk)
    dup.refresh_from_db()
    return type("Pair", (), {"ana": ana, "dup": dup, "dup_orders": dup_orders, "card": card})


def test_preview_lists_what_moves_and_changes_nothing(pair):
    before = snapshot()

    preview = preview_customer_merge(survivor_id=pair.ana.pk, other_id=pair.dup.pk)

    assert preview.can_merge
    assert preview.moves == {"orders": 2, "emails": 1, "phones": 1, "external_ids": 1,
                             "loyalty_entries": 2, "loyalty_points": 60, "stored_value_entries": 1,
                             "store_credit": {"USD": 750}, "gift_cards": 1, "notes": 1}
    assert snapshot() == before


def test_merge_moves_everything_to_the_survivor_and_leaves_a_tombstone(pair, django_user_model):
    staff = django_user_model.objects.create(username="cs")

    merge = merge_customers(survivor_id=pair.ana.pk, other_id=pair.dup.pk, actor=staff)

    ana = Customer.objects.get(pk=pair.ana.pk)
    dup = Customer.objects.get(pk=pair.dup.pk)
    assert dup.merged_into_id == ana.pk
    assert (ana.name, ana.phone, ana.notes) == ("Ana Ruiz", "+15105550123", "Prefers pickup at 6pm.")
    assert set(Order.objects.filter(customer=ana).values_list("pk", flat=True)) >= {
        o.pk for o in pair.dup_orders}
    assert not Order.objects.filter(customer=dup).exists()
    for model in (CustomerEmail, CustomerPhone, CustomerExternalId):
        assert not model.objects.filter(customer=dup).exists()
    assert LoyaltyAccount.objects.get(customer=ana).balance == 90
    assert LoyaltyAccount.objects.get(customer=dup).balance == 0
    assert StoredValueAccount.objects.get(kind=StoredValueKind.STORE_CREDIT, customer=ana).balance == 750
    assert StoredValueAccount.objects.get(pk=pair.card.pk).customer_id == ana.pk
    assert loyalty_ledger_mismatches() == [] and stored_value_ledger_mismatches() == []
    assert merge.moved["orders"] == sorted(o.pk for o in pair.dup_orders)
    audit = AuditEntry.objects.get(action="customer.merged")
    assert (audit.actor_user, audit.object_id, audit.data["other"]) == (staff, str(merge.pk), dup.pk)
    # Found under its own identifiers, now the survivor's; the tombstone names its survivor.
    assert match_customer(phone="+15105550123").pk == ana.pk
    assert customer_document(customer_id=dup.pk)["merged_into"] == ana.pk
    assert [c.pk for c in list_customers(q="Ruiz").customers] == [ana.pk]


def test_merging_twice_into_a_tombstone_or_into_itself_is_refused_clearly(pair, make_order):
    third = Customer.objects.create(name="Third")
    merge_customers(survivor_id=pair.ana.pk, other_id=pair.dup.pk)
    before = snapshot()

    for survivor, other, code in ((pair.ana.pk, pair.dup.pk, "already_merged"),
                                  (pair.dup.pk, third.pk, "survivor_is_merged"),
                                  (third.pk, third.pk, "same_customer")):
        with pytest.raises(MergeRefused) as refused:
            merge_customers(survivor_id=survivor, other_id=other)
        assert refused.value.status == 409
        assert [e["code"] for e in refused.value.as_errors()] == [code]
        preview = preview_customer_merge(survivor_id=survivor, other_id=other)
        assert [b["code"] for b in preview.blockers] == [code]
    assert snapshot() == before
    assert CustomerMerge.objects.count() == 1


def test_undo_puts_every_moved_row_back_where_it_was(pair):
    before = snapshot()
    merge = merge_customers(survivor_id=pair.ana.pk, other_id=pair.dup.pk)
    assert snapshot() != before

    undo_customer_merge(merge_id=merge.pk, actor_label="cs")

    assert snapshot() == before
    merge.refresh_from_db()
    assert merge.undone_at is not None
    assert AuditEntry.objects.filter(action="customer.merge_undone", object_id=str(merge.pk)).exists()
    with pytest.raises(MergeRefused) as refused:
        undo_customer_merge(merge_id=merge.pk)
    assert refused.value.as_errors()[0]["code"] == "merge_already_undone"
    assert snapshot() == before
    # The two may be merged again after an undo.
    merge_customers(survivor_id=pair.ana.pk, other_id=pair.dup.pk)


def test_undo_is_refused_while_a_later_merge_depends_on_it(pair):
    third = Customer.objects.create(name="Third")
    first = merge_customers(survivor_id=pair.ana.pk, other_id=pair.dup.pk)
    second = merge_customers(survivor_id=third.pk, other_id=pair.ana.pk)
    before = snapshot()

    with pytest.raises(MergeRefused) as refused:
        undo_customer_merge(merge_id=first.pk)

    assert refused.value.as_errors()[0]["code"] == "later_merges_depend"
    assert snapshot() == before
    undo_customer_merge(merge_id=second.pk)
    undo_customer_merge(merge_id=first.pk)
    assert Customer.objects.filter(merged_into__isnull=False).count() == 0


def test_undo_is_refused_when_the_moved_points_were_spent_since(pair):
    merge = merge_customers(survivor_id=pair.ana.pk, other_id=pair.dup.pk)
    redeem_points(customer_id=pair.ana.pk, points=80, order_id=999)
    before = snapshot()

    with pytest.raises(MergeRefused) as refused:
        undo_customer_merge(merge_id=merge.pk)

    assert refused.value.as_errors()[0]["code"] == "balance_spent_since"
    assert snapshot() == before


def test_orders_placed_after_the_merge_stay_with_the_survivor(pair, make_order):
    merge = merge_customers(survivor_id=pair.ana.pk, other_id=pair.dup.pk)
    later = make_order(pair.ana, total=400)

    undo_customer_merge(merge_id=merge.pk)

    assert Order.objects.get(pk=later.pk).customer_id == pair.ana.pk
    assert set(Order.objects.filter(customer=pair.dup).values_list("pk", flat=True)) == {
        o.pk for o in pair.dup_orders}
