"""The order body reader (apps/orders/api_body.py) against the DRF serializer it stands in
for: on every body it reads, the same validated data; every body it does not read as it
stands (all the invalid ones among them) goes to the serializer."""

import copy
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from apps.orders.api import OrderCreateInput, read_order_body

MONEY_ORDER = {
    "location": "OAK", "source_name": "bench", "fulfillment": {"type": "pickup"},
    "lines": [{"sku": "HOT-01", "quantity": 1}, {"sku": "HOT-02", "quantity": 2}],
    "tenders": [{"type": "card", "amount": {"amount": 500, "currency": "USD"},
                 "tip": {"amount": 100, "currency": "USD"}, "reference": "bench"},
                {"type": "pay_at_pickup"}],
    "discounts": [{"percent_bps": 1000}],
    "customer": {"name": "Bench", "email": "c1@bench.example"},
}
READ_AS_DRF_DOES = [
    MONEY_ORDER,
    {"location": "OAK", "fulfillment": {"type": "pickup"}, "lines": [{"sku": "A", "quantity": 1}],
     "tender": {"type": "pay_at_pickup"}},
    {"location": "OAK", "source_name": "PieLine", "external_id": "call-8812",
     "fulfillment": {"type": "pickup", "pickup_at": "2026-11-25T18:30:00Z"},
     "customer": {"name": "Ana Ruiz", "phone": "+15105550123", "email": "ana@example.com"},
     "lines": [{"sku": "BURRITO", "quantity": 2, "modifiers": [{"sku": "EXTRA-GUAC", "quantity": 1},
                                                               {"sku": "SALSA"}],
                "note": "no beans", "discounts": [{"amount": {"amount": 50, "currency": "USD"}}]}],
     "tender": {"type": "gift_card", "code": "GC-1234"},
     "expected_total": {"amount": 2300, "currency": "USD"}, "note": "ring twice"},
    {"location": "OAK", "fulfillment": {"type": "delivery", "deliver_at": "2026-11-25T18:30:00",
                                        "address": {"line1": "1 Main St", "zip": "94607"}},
     "lines": [{"sku": "A", "quantity": 999, "modifiers": []}], "discounts": [],
     "tenders": [{"type": "loyalty", "points": 500}, {"type": "store_credit",
                                                     "amount": {"amount": 0, "currency": "USD"}}],
     "customer": {}},
    {"location": "OAK", "fulfillment": {"type": "shipping", "pickup_at": None,
                                        "address": {"country": "US"}},
     "lines": [{"sku": "Ü-1", "quantity": 1, "note": ""}], "customer": {"email": "", "phone": ""}},
]
LEFT_TO_DRF = [
    {**MONEY_ORDER, "colour": "red"},  # unknown field
    {**MONEY_ORDER, "location": " OAK"},  # DRF trims
    {**MONEY_ORDER, "location": ""},
    {**MONEY_ORDER, "location": "L" * 17},
    {**MONEY_ORDER, "lines": []},
    {**MONEY_ORDER, "lines": [{"sku": "A", "quantity": "1"}]},
    {**MONEY_ORDER, "lines": [{"sku": "A", "quantity": True}]},
    {**MONEY_ORDER, "lines": [{"sku": "A", "quantity": 1.0}]},
    {**MONEY_ORDER, "lines": [{"sku": "A", "quantity": 0}]},
    {**MONEY_ORDER, "lines": [{"sku": "A", "quantity": 1, "note": "two\nlines"}]},
    {**MONEY_ORDER, "tender": {"type": "pay_at_pickup"}},  # with tenders
    {**MONEY_ORDER, "tenders": []},
    {**MONEY_ORDER, "tenders": [{"type": "bitcoin"}]},
    {**MONEY_ORDER, "discounts": [{"percent_bps": 10, "amount": {"amount": 1, "currency": "USD"}}]},
    {**MONEY_ORDER, "discounts": [{}]},
    {**MONEY_ORDER, "customer": {"email": "not an email"}},
    {**MONEY_ORDER, "customer": None},
    {**MONEY_ORDER, "note": None},
    {**MONEY_ORDER, "fulfillment": {"type": "delivery"}},
    {**MONEY_ORDER, "fulfillment": {"type": "pickup", "pickup_at": "tomorrow"}},
    {**MONEY_ORDER, "expected_total": {"amount": -1, "currency": "USD"}},
    {**MONEY_ORDER, "expected_total": {"amount": 1, "currency": "US"}},
    ["not", "an", "object"],
]


def drf(body):
    serializer = OrderCreateInput(data=copy.deepcopy(body))
    return serializer.validated_data if serializer.is_valid() else None


@pytest.mark.parametrize("body", READ_AS_DRF_DOES)
def test_a_well_formed_body_reads_as_the_serializer_reads_it(body):
    read = read_order_body(copy.deepcopy(body))

    assert read is not None
    assert read == drf(body)


def test_dates_and_choices_come_back_as_drf_gives_them():
    read = read_order_body(READ_AS_DRF_DOES[2])

    assert read["fulfillment"]["pickup_at"] == datetime(2026, 11, 25, 18, 30, tzinfo=UTC)
    assert type(read["fulfillment"]["type"]) is type(drf(READ_AS_DRF_DOES[2])["fulfillment"]["type"])


@pytest.mark.parametrize("body", LEFT_TO_DRF)
def test_anything_else_is_left_to_the_serializer(body):
    assert read_order_body(copy.deepcopy(body)) is None


# Bodies near the rules: each value mostly fits, sometimes misses a rule by a little.
ODD = ["", " x", "x\ny", "L" * 300, -1, 0, 10**12 + 1, True, None, 2.0, "2", {}, []]


def near(*fitting):
    return st.sampled_from([*fitting * (12 // len(fitting)), *ODD])


money = st.fixed_dictionaries({"amount": near(0, 500, 10**12), "currency": near("USD")},
                              optional={"extra": near(1)})
discount = st.fixed_dictionaries({}, optional={"amount": money, "percent_bps": near(1, 1000, 10000)})
line = st.fixed_dictionaries({"sku": near("HOT-01", "Ü"), "quantity": near(1, 999)}, optional={
    "note": near("", "no beans"), "discounts": st.lists(discount, max_size=2),
    "modifiers": st.lists(st.fixed_dictionaries({"sku": near("GUAC")}, optional={"quantity": near(1, 20)}),
                          max_size=2)})
tender = st.fixed_dictionaries({"type": near("card", "pay_at_pickup", "loyalty")}, optional={
    "amount": money, "tip": money, "reference": near("", "ref"), "code": near("", "GC-1"),
    "points": near(1, 10**9)})
fulfillment = st.fixed_dictionaries({"type": near("pickup", "delivery")}, optional={
    "address": near({"a": 1}), "pickup_at": near("2026-11-25T18:30:00Z", None)})
customer = st.fixed_dictionaries({}, optional={
    "name": near("Ana"), "email": near("a@b.example", ""), "phone": near("+15105550123")})
body = st.fixed_dictionaries(
    {"location": near("OAK"), "lines": st.lists(line, min_size=1, max_size=2), "fulfillment": fulfillment},
    optional={"customer": customer, "tender": tender, "tenders": st.lists(tender, max_size=2),
              "discounts": st.lists(discount, max_size=2), "expected_total": money, "note": near("", "n"),
              "source_name": near("bench"), "external_id": near("e-1")})


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body)
def test_the_reader_never_takes_a_body_the_serializer_refuses_or_reads_it_differently(body):
    read = read_order_body(copy.deepcopy(body))

    expected = drf(body)
    if read is not None:
        assert read == expected
    event("read" if read is not None else "refused by DRF" if expected is None else "left to DRF")
