"""Customer service in a real browser: find a customer by email, preview merging a duplicate
into them, confirm, see the tombstone, undo, and every moved row is back where it was.
Each page is photographed at 1366×768 and at phone width into /tmp/shots/."""

from __future__ import annotations

import pytest

from apps.backoffice.services import create_staff_user
from apps.core.enums import ExceptionKind
from apps.core.models import AuditEntry, ExceptionItem
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
from apps.customers.services import adjust_points, issue_gift_card, issue_store_credit
from apps.orders.models import Order
from tests.backoffice.conftest import customer_sale
from tests.browser.conftest import PASSWORD, shoot, sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def who_owns_what() -> dict:
    """Every row a merge may move, with the customer or account it belongs to, and balances."""
    def rows(model, *fields):
        return sorted(model.objects.values_list("pk", *fields))

    return {
        "orders": rows(Order, "customer_id"), "emails": rows(CustomerEmail, "customer_id"),
        "phones": rows(CustomerPhone, "customer_id"), "external_ids": rows(CustomerExternalId, "customer_id"),
        "loyalty_accounts": rows(LoyaltyAccount, "customer_id", "balance"),
        "loyalty_entries": rows(LoyaltyEntry, "account_id"),
        "stored_value": rows(StoredValueAccount, "customer_id", "balance"),
        "stored_value_entries": rows(StoredValueEntry, "account_id"),
        "customers": rows(Customer, "name", "email", "phone", "notes", "merged_into_id"),
    }


@pytest.fixture
def two_records_of_ana(shop):
    ana = customer_sale("OAK", external_id="web-ana", name="Ana Ruiz", email="ana@example.com",
                        phone="+15105550123").customer
    other = customer_sale("OAK", external_id="web-dup", channel="phone", name="Ana R.",
                          email="ana.ruiz@work.example", phone="+15105550199",
                          platform_customer_id="shop-77").customer
    Customer.objects.filter(pk=other.pk).update(notes="Allergic to peanuts.")
    adjust_points(customer_id=other.pk, points=120, reason="welcome")  # beside 9 earned on the order
    issue_store_credit(customer_id=other.pk, amount=1500, currency="USD", source_reference="goodwill-1")
    issue_gift_card(amount=2500, currency="USD", customer_id=other.pk)
    # One order naming both records opens the possible duplicate a person resolves by merging.
    customer_sale("OAK", external_id="web-both", email="ana@example.com", phone="+15105550199")
    return ana, other


def test_customer_service_merges_a_duplicate_and_undoes_it(two_records_of_ana, page, live_server):
    ana, other = two_records_of_ana
    create_staff_user(username="carmen", role="customer_service", location_codes=[], password=PASSWORD)
    before = who_owns_what()
    sign_in(page, live_server, "carmen")

    duplicate = ExceptionItem.objects.get(kind=ExceptionKind.POSSIBLE_DUPLICATE_CUSTOMER)
    page.goto(f"{live_server.url}/exceptions/{duplicate.pk}/")
    preview_link = f"#duplicate-customers a[href='/customers/{ana.pk}/merge/?other={other.pk}']"
    assert page.locator(preview_link).count() == 1
    shoot(page, "exception-duplicate-customer")

    page.click("nav >> text=Customers")
    page.fill("#q", "ANA@example.com")
    page.click("form[role=search] button")
    page.wait_for_url("**/customers/?q=ANA%40example.com")
    assert page.locator("#customers tbody tr").all_inner_texts()[0].startswith(f"#{ana.pk}")
    assert page.locator("#customers tbody tr").count() == 1
    shoot(page, "customer-search")
    page.click(f"#customers a[href='/customers/{ana.pk}/'] >> nth=0")
    page.wait_for_url(f"**/customers/{ana.pk}/")
    shoot(page, "customer")

    page.click("#merge-start")
    page.fill("#q", "Ana R.")
    page.click("form[role=search] button")
    page.click(f"[data-preview='{other.pk}']")  # htmx swaps the preview in
    page.wait_for_selector("#confirm")
    moves = dict(row.split("\t") for row in page.locator("#moves tbody tr").all_inner_texts())
    assert moves["Orders"] == "1" and moves["Loyalty points"] == "129" and moves["Store credit"] == "$15.00"
    assert not CustomerMerge.objects.exists()
    shoot(page, "customer-merge-preview")

    page.click("#confirm")
    merge = CustomerMerge.objects.get()
    page.wait_for_url(f"**/customers/merges/{merge.pk}/")
    assert Order.objects.get(external_id="web-dup").customer_id == ana.pk
    shoot(page, "customer-merge-result")
    page.click("#other-link")
    assert "was merged into" in page.locator("#tombstone").inner_text()
    shoot(page, "customer-tombstone")

    page.click("#merge-link")
    page.click("#undo")
    page.wait_for_selector("#merge-state >> text=Undone")
    shoot(page, "customer-merge-undone")

    assert who_owns_what() == before
    assert list(AuditEntry.objects.filter(object_type="CustomerMerge").order_by("pk")
                .values_list("action", "actor_user__username")) == [("customer.merged", "carmen"),
                                                                   ("customer.merge_undone", "carmen")]
    assert page.outside == []
