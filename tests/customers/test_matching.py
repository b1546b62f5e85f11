"""One customer across channels: platform id, then email, then phone; conflicts open an
exception and never merge."""

import pytest
from django.db import IntegrityError, transaction

from apps.core.enums import ExceptionKind
from apps.core.errors import ValidationFailed
from apps.core.models import ExceptionItem
from apps.customers.models import Customer, CustomerEmail, CustomerExternalId, CustomerPhone
from apps.customers.services import find_or_create_customer, match_customer, normalize_phone
from tests.factories import LocationFactory

pytestmark = pytest.mark.django_db


def identifiers(customer):
    return (sorted(customer.emails.values_list("email", flat=True)),
            sorted(customer.phones.values_list("phone", flat=True)),
            sorted(customer.external_ids.values_list("platform", "external_id")))


def test_a_new_customer_is_created_with_normalized_identifiers():
    customer = match_customer(name="Ana Ruiz", email="  Ana@Example.COM ", phone="(510) 555-0123",
                              platform="shopify", platform_customer_id="gid-7")

    assert identifiers(customer) == (["ana@example.com"], ["+15105550123"], [("shopify", "gid-7")])
    assert (customer.name, customer.email, customer.phone) == ("Ana Ruiz", "ana@example.com", "+15105550123")


def test_the_phone_is_read_in_the_locations_country():
    london = LocationFactory(code="LDN", country="GB")
    assert normalize_phone("020 7946 0018", region=london.country) == "+442079460018"
    assert normalize_phone("(510) 555-0123") == "+15105550123"  # DEFAULT_PHONE_REGION
    customer = match_customer(phone="020 7946 0018", region=london.country)
    assert identifiers(customer)[1] == ["+442079460018"]
    with pytest.raises(ValidationFailed):
        normalize_phone("call me maybe")


def test_the_same_person_on_three_channels_is_one_customer():
    web = match_customer(email="ana@example.com", platform="shopify", platform_customer_id="S1")
    register = match_customer(email="ANA@example.com", phone="+15105550123", platform="square",
                              platform_customer_id="Q1")
    phone = match_customer(phone="510-555-0123")

    assert web.pk == register.pk == phone.pk
    assert Customer.objects.count() == 1
    assert identifiers(web) == (["ana@example.com"], ["+15105550123"],
                                [("shopify", "S1"), ("square", "Q1")])
    assert not ExceptionItem.objects.exists()


def test_platform_id_wins_over_email_and_email_over_phone():
    by_platform = match_customer(email="a@example.com", platform="toast", platform_customer_id="T1")
    by_email = match_customer(email="b@example.com")
    by_phone = match_customer(phone="+15105550123")

    both = match_customer(platform="toast", platform_customer_id="T1", email="b@example.com")
    assert both.pk == by_platform.pk
    assert match_customer(email="b@example.com", phone="+15105550123").pk == by_email.pk
    assert by_phone.pk != by_email.pk


def test_identifiers_of_two_customers_open_one_exception_showing_both_and_merge_nothing():
    ana = match_customer(name="Ana", email="ana@example.com")
    bea = match_customer(name="Bea", phone="+15105550123")

    matched = match_customer(email="ana@example.com", phone="+15105550123")
    match_customer(email="ana@example.com", phone="+15105550123")  # seen again: counted, not duplicated

    assert matched.pk == ana.pk  # email outranks phone
    assert identifiers(ana) == (["ana@example.com"], [], [])
    assert identifiers(bea) == ([], ["+15105550123"], [])
    item = ExceptionItem.objects.get()
    assert item.kind == ExceptionKind.POSSIBLE_DUPLICATE_CUSTOMER
    assert item.occurrences == 2
    assert [c["id"] for c in item.data["customers"]] == sorted([ana.pk, bea.pk])
    assert {c["name"] for c in item.data["customers"]} == {"Ana", "Bea"}
    assert item.data["matched"] == ana.pk
    assert Customer.objects.filter(merged_into__isnull=False).count() == 0


def test_a_known_phone_with_a_new_email_gains_the_email():
    customer = match_customer(phone="+15105550123", email="old@example.com")
    again = match_customer(phone="+15105550123", email="new@example.com")

    assert again.pk == customer.pk
    assert identifiers(customer)[0] == ["new@example.com", "old@example.com"]
    assert not ExceptionItem.objects.exists()


def test_no_identifier_no_customer_and_an_unreadable_phone_is_left_out():
    assert match_customer(name="Walk-in") is None
    customer = match_customer(email="x@example.com", phone="not a phone")
    assert identifiers(customer) == (["x@example.com"], [], [])


def test_find_or_create_customer_keeps_working_for_orders():
    first = find_or_create_customer(name="Ana", phone="+15105550123", email="ana@example.com")
    second = find_or_create_customer(name="", phone="+15105550123", email="")
    assert first.pk == second.pk
    assert find_or_create_customer(name="Nobody") is None


def test_identifiers_are_unique_in_the_database():
    customer = match_customer(email="ana@example.com", phone="+15105550123", platform="clover",
                              platform_customer_id="C1")
    other = Customer.objects.create(name="Other")

    for model, values in ((CustomerEmail, {"email": "ana@example.com"}),
                          (CustomerPhone, {"phone": "+15105550123"}),
                          (CustomerExternalId, {"platform": "clover", "external_id": "C1"})):
        with pytest.raises(IntegrityError), transaction.atomic():
            model.objects.create(customer=other, **values)
    assert identifiers(other) == ([], [], [])
    assert customer.emails.count() == 1


def test_in_an_orders_transaction_a_known_customer_takes_one_query_and_a_new_one_three(
        django_assert_num_queries):
    known = match_customer(name="Ana", email="ana@example.com")

    with transaction.atomic():
        with django_assert_num_queries(1):  # the email with its customer
            assert match_customer(name="Ana", email="ANA@example.com").pk == known.pk
        with django_assert_num_queries(3):  # no match, the customer, its email; no savepoint
            new = match_customer(name="Bo", email="bo@example.com")
    assert identifiers(new) == (["bo@example.com"], [], [])
