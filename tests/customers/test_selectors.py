"""Finding customers and the customer document."""

import pytest

from apps.customers.selectors import customer_document, list_customers
from apps.customers.services import earn_points, issue_store_credit, match_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(make_order):
    ana = match_customer(name="Ana Ruiz", email="ana@example.com", phone="+15105550123",
                         platform="square", platform_customer_id="SQ-ANA")
    bob = match_customer(name="Bob Stone", email="bob@example.com")
    order = make_order(bob, total=1250, channel="phone", external_id="call-8812")
    return type("People", (), {"ana": ana, "bob": bob, "order": order})


@pytest.mark.parametrize("q, who", [
    ("ruiz", "ana"), ("ANA@example.com", "ana"), ("(510) 555-0123", "ana"), ("5105550123", "ana"),
    ("SQ-ANA", "ana"), ("call-8812", "bob"), ("stone", "bob"),
])
def test_a_customer_is_found_by_name_email_phone_platform_id_or_order(people, q, who):
    assert [c.pk for c in list_customers(q=q).customers] == [getattr(people, who).pk]


def test_an_order_number_finds_its_customer(people):
    assert [c.pk for c in list_customers(q=f"#{people.order.pk}").customers] == [people.bob.pk]
    assert list_customers(q="nobody@nowhere.example").customers == []


def test_pages_follow_on_by_id(people):
    first = list_customers(limit=1)
    second = list_customers(limit=1, after_id=first.next_after)
    assert [c.pk for c in first.customers + second.customers] == [people.ana.pk, people.bob.pk]
    assert second.next_after is None


def test_the_customer_document_has_the_shape_of_the_api(people):
    earn_points(customer_id=people.bob.pk, order_id=people.order.pk, amount=1250, currency="USD")
    issue_store_credit(customer_id=people.bob.pk, amount=300, currency="USD")

    document = customer_document(customer_id=people.bob.pk)

    assert document["id"] == people.bob.pk
    assert (document["name"], document["emails"], document["phones"]) == (
        "Bob Stone", ["bob@example.com"], [])
    assert document["external_ids"] == []
    assert document["orders"] == [{"id": people.order.pk, "channel": "phone", "location": "OAK",
                                   "total": {"amount": 1250, "currency": "USD"},
                                   "placed_at": people.order.placed_at.isoformat()}]
    assert document["loyalty"]["balance"] == 12
    assert [(e["kind"], e["points"], e["order"]) for e in document["loyalty"]["ledger"]] == [
        ("earn", 12, people.order.pk)]
    assert document["store_credit"] == {"balance": {"amount": 300, "currency": "USD"}}
    assert document["merged_into"] is None
    ana = customer_document(customer_id=people.ana.pk)
    assert ana["external_ids"] == [{"platform": "square", "id": "SQ-ANA"}]
    assert ana["loyalty"] == {"balance": 0, "ledger": []}
