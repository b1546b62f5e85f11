"""Property: over random orders (lines, discounts, tax, split tenders) and random sequences
of returns and money refunds, refunds never exceed what was paid per tender or in total,
each refund's lines and parts add up to it, and the stock, loyalty and stored-value
ledgers equal their balances with nothing negative."""

import itertools

import pytest
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.customers.models import LoyaltyAccount, LoyaltyEntry, StoredValueAccount, StoredValueEntry
from apps.customers.services import adjust_points, issue_gift_card, match_customer
from apps.inventory.selectors import list_ledger_mismatches
from apps.orders.exceptions import ExceedsRefundable
from apps.orders.models import Order
from apps.orders.services import fulfill_order
from apps.returns.models import Refund
from apps.returns.services import ReturnLineInput, refund_order
from tests.helpers import post_order

pytestmark = pytest.mark.django_db
EMAIL = "ana@example.com"
SKUS = ("BURRITO", "TACO")
_keys = itertools.count()

line = st.fixed_dictionaries({"sku": st.sampled_from(SKUS), "quantity": st.integers(1, 4)})
discount = st.one_of(st.none(), st.integers(1, 3000).map(lambda bps: {"percent_bps": bps}))
action = st.one_of(
    st.tuples(st.just("lines"), st.integers(0, 3), st.integers(1, 4), st.booleans()),
    st.tuples(st.just("amount"), st.integers(1, 4000)),
)


def usd(amount):
    return {"amount": amount, "currency": "USD"}


@pytest.fixture
def ana(shop):
    customer = match_customer(name="Ana Ruiz", email=EMAIL)
    adjust_points(customer_id=customer.pk, points=100_000, reason="welcome")
    return customer


def place(phone, *, lines, order_discount, draw) -> Order:
    body = {"location": "OAK", "fulfillment": {"type": "pickup"}, "lines": lines,
            "customer": {"name": "Ana Ruiz", "email": EMAIL}}
    if order_discount:
        body["discounts"] = [order_discount]
    # A mismatched tender makes the API say the total (422 tenders_mismatch) and change nothing.
    probe = post_order(phone, {**body, "tenders": [{"type": "cash", "amount": usd(1)}]},
                       key=f"p{next(_keys)}")
    total = probe.json()["errors"][0]["total"]["amount"]
    card = issue_gift_card(amount=5000, currency="USD")
    on_card = draw(st.integers(0, min(total, 5000)))
    points = draw(st.integers(0, min(total - on_card, 300)))
    cash = draw(st.integers(0, total - on_card - points))
    tenders = [t for t in (
        {"type": "gift_card", "code": card.code, "amount": usd(on_card)} if on_card else None,
        {"type": "loyalty", "points": points} if points else None,
        {"type": "cash", "amount": usd(cash)} if cash else None,
        {"type": "card", "amount": usd(total - on_card - points - cash), "reference": "ch_1"}
        if total - on_card - points - cash else None,
    ) if t]
    response = post_order(phone, {**body, "tenders": tenders or [{"type": "cash", "amount": usd(0)}]},
                          key=f"o{next(_keys)}")
    assert response.status_code == 201, response.json()
    order = Order.objects.get(pk=response.json()["id"])
    fulfill_order(order_id=order.pk, actor="test")  # handed over: its units can come back
    return order


def apply(order: Order, step) -> None:
    try:
        if step[0] == "lines":
            _, index, quantity, restock = step
            number = 1 + index % order.lines.count()
            refund_order(order_id=order.pk, lines=[ReturnLineInput(number, quantity, restock)])
        else:
            refund_order(order_id=order.pk, amount=step[1])
    except ExceedsRefundable:
        pass


def assert_invariants(order: Order) -> None:
    order.refresh_from_db()
    refunds = list(order.refunds.prefetch_related("lines", "parts"))
    payments = list(order.payments.all())
    assert all(0 <= p.refunded_amount <= p.amount for p in payments)
    assert 0 <= order.refunded_amount <= sum(p.amount for p in payments)
    assert order.refunded_amount == sum(r.amount for r in refunds) == sum(p.refunded_amount for p in payments)
    for refund in refunds:
        assert sum(part.amount for part in refund.parts.all()) == refund.amount
        if refund.lines.all():
            assert sum(line.amount for line in refund.lines.all()) == refund.amount
    for order_line in order.lines.all():
        assert 0 <= order_line.refunded_amount <= order_line.net_amount + order_line.tax_amount
        assert order_line.refunded_quantity == sum(
            rl.quantity for rl in order_line.refund_lines.all())
    assert list_ledger_mismatches() == []
    for account in LoyaltyAccount.objects.all():
        assert account.balance >= 0
        assert account.balance == LoyaltyEntry.objects.filter(account=account).aggregate(
            s=Sum("points"))["s"]
    for account in StoredValueAccount.objects.all():
        assert account.balance >= 0
        assert account.balance == StoredValueEntry.objects.filter(account=account).aggregate(
            s=Sum("amount"))["s"]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(line, min_size=1, max_size=3), order_discount=discount,
       tax_bps=st.sampled_from([0, 725, 1025]), steps=st.lists(action, min_size=1, max_size=6),
       data=st.data())
def test_refunds_never_exceed_payments_and_ledgers_hold(shop, ana, phone, lines, order_discount, tax_bps,
                                                         steps, data):
    shop.oak.tax_rate_bps = tax_bps
    shop.oak.save(update_fields=["tax_rate_bps"])
    order = place(phone, lines=lines, order_discount=order_discount, draw=data.draw)

    for step in steps:
        apply(order, step)
        assert_invariants(order)

    # Whatever is left comes back in one money refund: every tender then gave back all it took.
    left = sum(p.amount - p.refunded_amount for p in order.payments.all())
    if left:
        refund_order(order_id=order.pk, amount=left)
    assert_invariants(order)
    assert all(p.refunded_amount == p.amount for p in order.payments.all())
    assert set(StoredValueAccount.objects.values_list("balance", flat=True)) <= {5000}  # every card whole
    assert Refund.objects.filter(order=order).aggregate(s=Sum("amount"))["s"] in (None, order.total_amount)
