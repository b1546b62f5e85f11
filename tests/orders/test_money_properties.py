"""Hypothesis over orders' money: totals stay exact integers, allocations add up to what
they allocate, and nothing goes negative, for computed (API) and kept (platform) figures."""

import itertools
import json
from types import SimpleNamespace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.core import money
from apps.core.cache import clear_all
from apps.orders.models import Order
from apps.orders.selectors import SellableVariant
from apps.orders.services import DiscountInput, ExternalOrderInput, LineInput, PricedLine
from apps.orders.services.pricing import apply_discounts_and_tax, keep_platform_figures
from tests.conftest import stock

PROPERTY_SETTINGS = settings(max_examples=200, deadline=None)
keys = itertools.count()

discount = st.one_of(
    st.builds(lambda a: DiscountInput(amount=a, currency="USD"), st.integers(0, 20_000)),
    st.builds(lambda bp: DiscountInput(percent_bps=bp), st.integers(1, 10_000)))
line = st.fixed_dictionaries({
    "unit_price": st.integers(0, 50_000), "quantity": st.integers(1, 50),
    "grocery": st.booleans(), "discounts": st.lists(discount, max_size=2)})


def priced_lines(lines):
    return [PricedLine(number=i + 1, quantity=ln["quantity"], unit_price=ln["unit_price"], modifiers=[],
                       note="", variant=SellableVariant(
                           id=i, sku=f"S{i}", name="x", price=ln["unit_price"], currency="USD",
                           product_id=i, is_active=True, level_id=i, is_86d=False,
                           has_required_modifiers=False,
                           tax_category="grocery" if ln["grocery"] else "standard"))
            for i, ln in enumerate(lines)]


def assert_exact(priced, totals):
    assert totals.total == totals.subtotal - totals.discount + totals.tax + totals.adjustment
    assert totals.subtotal == sum(p.total for p in priced)
    assert totals.discount == sum(p.discount for p in priced)
    assert totals.tax == sum(p.tax for p in priced)
    for p in priced:
        assert 0 <= p.discount <= p.total
        assert p.net >= 0 and p.tax >= 0
        assert all(isinstance(v, int) for v in (p.discount, p.net, p.tax))


@PROPERTY_SETTINGS
@given(lines=st.lists(line, min_size=1, max_size=6), order_discounts=st.lists(discount, max_size=2),
       rate=st.integers(0, 10_000))
def test_computed_discounts_and_tax_add_up_and_never_go_negative(lines, order_discounts, rate):
    priced = priced_lines(lines)
    location = SimpleNamespace(tax_rate_bps=rate, tax_exempt_categories=["grocery"])
    inputs = tuple(LineInput("S", ln["quantity"], discounts=tuple(ln["discounts"])) for ln in lines)

    totals = apply_discounts_and_tax(priced=priced, lines=inputs, order_discounts=tuple(order_discounts),
                                     location=location)

    assert_exact(priced, totals)
    assert totals.total >= 0
    for p, ln in zip(priced, lines, strict=True):
        assert p.tax == money.line_tax(p.net, rate, exempt=ln["grocery"])
        own = money.apply_discounts(p.total, [money.Discount(d.amount, d.percent_bps)
                                              for d in ln["discounts"]])
        assert p.discount >= own  # the order's share comes on top of the line's own


@PROPERTY_SETTINGS
@given(lines=st.lists(line, min_size=1, max_size=6), data=st.data())
def test_a_platforms_tax_and_discounts_are_spread_exactly(lines, data):
    priced = priced_lines(lines)
    gross = sum(p.total for p in priced)
    platform_lines = tuple(LineInput("S", ln["quantity"], discount=data.draw(st.integers(0, 30_000)))
                           for ln in lines)
    order = ExternalOrderInput(
        channel="register", source_name="POS", external_id="x", location_code="OAK",
        lines=platform_lines, placed_at=None, fulfillment_type="in_store", already_fulfilled=True,
        discount=data.draw(st.integers(0, gross + 1000)), tax=data.draw(st.integers(0, 100_000)),
        total=data.draw(st.one_of(st.none(), st.integers(0, 10**7))))

    totals = keep_platform_figures(priced=priced, order=order)

    assert_exact(priced, totals)
    assert totals.tax == order.tax
    if order.total is not None:
        assert totals.total == order.total


def usd(amount):
    return {"amount": amount, "currency": "USD"}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(quantities=st.lists(st.integers(1, 3), min_size=1, max_size=2),
       order_discount=st.one_of(st.none(), st.integers(1, 10_000)), rate=st.integers(0, 2_000),
       split=st.lists(st.integers(1, 100), min_size=1, max_size=3))
def test_api_orders_store_figures_that_add_up(taxed, phone, quantities, order_discount, rate, split):
    taxed.oak.tax_rate_bps = rate
    taxed.oak.save()
    clear_all()  # the location is cached per process
    for variant in (taxed.burrito, taxed.salsa):
        stock(taxed.oak, variant, 6)
    body = {"location": "OAK", "fulfillment": {"type": "pickup"},
            "lines": [{"sku": sku, "quantity": q} for sku, q in zip(["BURRITO", "SALSA-JAR"], quantities,
                                                                     strict=False)]}
    if order_discount:
        body["discounts"] = [{"percent_bps": order_discount}]
    quote = phone.post("/api/v1/orders", data=json.dumps(body), content_type="application/json",
                       HTTP_IDEMPOTENCY_KEY=f"quote-{next(keys)}")
    assert quote.status_code == 201, quote.json()
    total = quote.json()["total"]["amount"]
    parts = money.allocate(total, split) if total else [0]
    body["tenders"] = [{"type": "card", "amount": usd(part)} for part in parts[:-1]] + [
        {"type": "cash", "amount": usd(parts[-1])}]

    response = phone.post("/api/v1/orders", data=json.dumps(body), content_type="application/json",
                          HTTP_IDEMPOTENCY_KEY=f"paid-{next(keys)}")

    assert response.status_code == 201, response.json()
    order = Order.objects.get(pk=response.json()["id"])
    lines = list(order.lines.all())
    assert order.total_amount == total
    assert order.tax_amount == sum(ln.tax_amount for ln in lines)
    assert order.discount_amount == sum(ln.discount_amount for ln in lines)
    assert sum(p.amount for p in order.payments.all()) == order.total_amount
