"""Customer pages: search, one customer across channels with their ledgers, and merge with
preview, confirm and undo through the customers' services (audited, errors by the field)."""

import re

import pytest

from apps.core.enums import ExceptionKind
from apps.core.models import AuditEntry, ExceptionItem
from apps.customers.models import Customer, CustomerMerge, LoyaltyEntry
from apps.customers.services import adjust_points, issue_gift_card, issue_store_credit
from apps.orders.models import Order
from tests.backoffice.conftest import customer_sale
from tests.helpers import CONTRACT_EXAMPLE, post_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def ana(stores, phone):
    """Ana Ruiz: a phone order at OAK (the contract's example) and a web order at BKN."""
    response = post_order(phone, CONTRACT_EXAMPLE)
    assert response.status_code == 201, response.content
    customer_sale("BKN", external_id="web-ana", email="ana@example.com")
    customer = Customer.objects.get(emails__email="ana@example.com")
    Customer.objects.filter(pk=customer.pk).update(notes="Prefers pickup after 6pm.")
    return customer


@pytest.fixture
def duplicate(stores):
    """The same person under a work email, only ever at BKN, with points, credit and a card."""
    order = customer_sale("BKN", external_id="web-dup", name="Ana R.", email="ana.ruiz@work.example",
                          phone="+15105550199", platform_customer_id="shop-77")
    customer = order.customer
    adjust_points(customer_id=customer.pk, points=120, reason="welcome")
    issue_store_credit(customer_id=customer.pk, amount=1500, currency="USD", source_reference="goodwill-1")
    issue_gift_card(amount=2500, currency="USD", customer_id=customer.pk)
    return customer


def listed(response) -> list[int]:
    return [customer.pk for customer in response.context["page"]]


@pytest.mark.parametrize("query", ["Ana Ruiz", "ANA@example.com", "(510) 555-0123", "510.555.0123",
                                   "call-8812", "#{order}", "web-ana"])
def test_the_search_finds_a_customer_by_any_of_their_names(ana, duplicate, signed_in, query):
    order = Order.objects.get(external_id="call-8812")
    response = signed_in("customer_service").get("/customers/", {"q": query.format(order=order.pk)})
    assert response.status_code == 200
    assert listed(response) == [ana.pk]


def test_the_customer_page_shows_every_order_on_every_channel_and_the_ledgers(duplicate, signed_in):
    response = signed_in("customer_service").get(f"/customers/{duplicate.pk}/")
    text = response.content.decode()
    assert response.status_code == 200
    assert [order.external_id for order in response.context["orders"]] == ["web-dup"]
    assert "ana.ruiz@work.example" in text and "+15105550199" in text and "shop-77" in text
    assert response.context["loyalty_balance"] == 129  # 9 earned on the $10.25 order, 120 given
    assert [(entry.kind, entry.points) for entry in response.context["ledger"]] == [("adjust", 120),
                                                                                    ("earn", 9)]
    accounts = {account.kind: (account.balance, [e.amount for e in account.latest])
                for account in response.context["stored_value"]}
    assert accounts == {"store_credit": (1500, [1500]), "gift_card": (2500, [2500])}
    assert "$15.00" in text and "$25.00" in text


def test_both_channels_and_the_notes_show(ana, signed_in):
    response = signed_in("finance").get(f"/customers/{ana.pk}/")
    assert sorted(order.channel for order in response.context["orders"]) == ["phone", "web"]
    assert "Prefers pickup after 6pm." in response.content.decode()
    assert not response.context["can_merge"]
    assert "Merge another customer" not in response.content.decode()


def test_the_loyalty_ledger_is_paginated(ana, signed_in):
    for number in range(30):
        adjust_points(customer_id=ana.pk, points=number + 1, reason=f"r{number}")
    client = signed_in("customer_service")
    first = client.get(f"/customers/{ana.pk}/").context["ledger"]
    second = client.get(f"/customers/{ana.pk}/", {"ledger": 2}).context["ledger"]
    assert [entry.points for entry in first] == list(range(30, 5, -1))
    assert [entry.points for entry in second if entry.kind == "adjust"] == [5, 4, 3, 2, 1]
    assert first.paginator.num_pages == 2


def test_a_store_manager_reads_only_the_customers_of_their_stores_orders(ana, duplicate, signed_in):
    client = signed_in("store_manager", "OAK")
    assert listed(client.get("/customers/")) == [ana.pk]
    page = client.get(f"/customers/{ana.pk}/")
    assert [order.location.code for order in page.context["orders"]] == ["OAK"]
    assert client.get(f"/customers/{duplicate.pk}/").status_code == 403
    assert client.get("/customers/999999/").status_code == 403
    assert client.get(f"/customers/{ana.pk}/merge/").status_code == 403


def test_the_preview_is_an_htmx_fragment_saying_what_moves(ana, duplicate, signed_in):
    response = signed_in("customer_service").get(f"/customers/{ana.pk}/merge/", {"other": duplicate.pk},
                                                 HTTP_HX_REQUEST="true")
    text = response.content.decode()
    assert response.status_code == 200
    assert text.lstrip().startswith('<section class="card" id="merge-preview"')
    assert "<html" not in text
    moves = dict(re.findall(r'<tr><td>([^<]+)</td><td class="num">([^<]+)</td></tr>', text))
    assert moves == {"Orders": "1", "Emails": "1", "Phones": "1", "Platform ids": "1",
                     "Loyalty points": "129", "Loyalty ledger entries": "2", "Store credit": "$15.00",
                     "Store credit ledger entries": "1", "Gift cards": "1", "Notes": "none"}
    assert 'id="confirm-merge"' in text
    assert not CustomerMerge.objects.exists()


def test_the_search_on_the_merge_page_lists_others_but_not_this_customer(ana, duplicate, signed_in):
    response = signed_in("customer_service").get(f"/customers/{ana.pk}/merge/", {"q": "Ana"})
    assert [customer.pk for customer in response.context["candidates"]] == [duplicate.pk]


def test_confirm_merges_as_the_user_and_undo_puts_every_row_back(ana, duplicate, signed_in):
    client = signed_in("customer_service")
    anas_own_entries = list(LoyaltyEntry.objects.filter(account__customer=ana).values_list("pk", flat=True))
    response = client.post(f"/customers/{ana.pk}/merge/", {"other": duplicate.pk})
    merge = CustomerMerge.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/customers/merges/{merge.pk}/"
    assert (merge.survivor_id, merge.other_id, merge.actor_user.username) == (ana.pk, duplicate.pk,
                                                                              "customer_service-all")
    assert Order.objects.filter(customer=ana).count() == 3
    tombstone = client.get(f"/customers/{duplicate.pk}/")
    assert "was merged into" in tombstone.content.decode()
    assert f'href="/customers/{ana.pk}/"' in tombstone.content.decode()
    assert client.get(f"/customers/merges/{merge.pk}/").context["counts"]["Orders"] == 1

    assert client.post(f"/customers/merges/{merge.pk}/undo/").status_code == 302
    assert Order.objects.get(external_id="web-dup").customer_id == duplicate.pk
    assert Order.objects.filter(customer=ana).count() == 2
    entries = LoyaltyEntry.objects.filter(account__customer=duplicate).order_by("pk")
    assert list(entries.values_list("points", flat=True)) == [9, 120]
    assert duplicate.loyalty.balance == 129
    assert list(LoyaltyEntry.objects.filter(account__customer=ana).values_list("pk", flat=True)) == (
        anas_own_entries)
    duplicate.refresh_from_db()
    assert duplicate.merged_into_id is None
    user = merge.actor_user
    audit = list(AuditEntry.objects.filter(object_type="CustomerMerge", object_id=str(merge.pk))
                 .order_by("pk").values_list("action", "actor_user"))
    assert audit == [("customer.merged", user.pk), ("customer.merge_undone", user.pk)]


def test_a_second_undo_is_refused_with_the_reason(ana, duplicate, signed_in):
    client = signed_in("admin")
    client.post(f"/customers/{ana.pk}/merge/", {"other": duplicate.pk})
    merge = CustomerMerge.objects.get()
    client.post(f"/customers/merges/{merge.pk}/undo/")
    again = client.post(f"/customers/merges/{merge.pk}/undo/", follow=True)
    assert f"Merge #{merge.pk} was already undone." in again.content.decode()
    assert AuditEntry.objects.filter(action="customer.merge_undone").count() == 1


@pytest.mark.parametrize(("other", "error"), [
    ("abc", "Give the other customer by number, such as 42."),
    ("999999", "No customer #999999."),
])
def test_an_unknown_other_customer_is_refused_next_to_the_field(ana, signed_in, other, error):
    client = signed_in("customer_service")
    for response in (client.get(f"/customers/{ana.pk}/merge/", {"other": other}),
                     client.post(f"/customers/{ana.pk}/merge/", {"other": other})):
        assert response.status_code == 200
        assert f'<p class="field-error" id="other-error">{error}</p>' in response.content.decode()
    assert not CustomerMerge.objects.exists()


def test_what_blocks_a_merge_is_shown_and_nothing_merges(ana, duplicate, signed_in):
    client = signed_in("customer_service")
    itself = client.get(f"/customers/{ana.pk}/merge/", {"other": ana.pk}).content.decode()
    assert "A customer cannot be merged into itself." in itself and 'id="confirm-merge"' not in itself
    client.post(f"/customers/{ana.pk}/merge/", {"other": duplicate.pk})
    third = customer_sale("OAK", external_id="web-3", email="third@example.com").customer
    refused = client.post(f"/customers/{third.pk}/merge/", {"other": duplicate.pk})
    assert refused.status_code == 200
    assert f"Customer #{duplicate.pk} was already merged into #{ana.pk}." in refused.content.decode()
    assert CustomerMerge.objects.count() == 1


def test_a_possible_duplicate_links_both_customers_and_the_merge_preview(ana, duplicate, signed_in):
    customer_sale("OAK", external_id="web-both", email="ana@example.com", phone="+15105550199")
    item = ExceptionItem.objects.get(kind=ExceptionKind.POSSIBLE_DUPLICATE_CUSTOMER)
    text = signed_in("customer_service").get(f"/exceptions/{item.pk}/").content.decode()
    assert f'href="/customers/{ana.pk}/"' in text and f'href="/customers/{duplicate.pk}/"' in text
    assert f'href="/customers/{ana.pk}/merge/?other={duplicate.pk}"' in text


def test_a_long_stored_value_ledger_shows_its_latest_entries_and_says_so(ana, signed_in):
    for number in range(27):
        issue_store_credit(customer_id=ana.pk, amount=100 + number, currency="USD",
                           source_reference=f"credit-{number}")
    response = signed_in("customer_service").get(f"/customers/{ana.pk}/")
    (account,) = response.context["stored_value"]
    assert [entry.amount for entry in account.latest] == list(range(126, 101, -1))
    assert "The latest 25 of 27 entries." in response.content.decode()


def test_a_shopper_with_many_platform_ids_keeps_a_short_card_the_rest_folded(ana, signed_in):
    from apps.customers.models import CustomerExternalId

    CustomerExternalId.objects.bulk_create(CustomerExternalId(customer=ana, platform="shopify",
                                                              external_id=f"shop-{n}") for n in range(40))
    html = signed_in("customer_service").get(f"/customers/{ana.pk}/").content.decode()

    shown, folded = html.split('id="external-ids">')[1].split('<details id="more-external-ids">')
    assert shown.count("shop-") == 5
    assert "<summary>35 more</summary>" in folded and folded.split("</details>")[0].count("shop-") == 35
