"""Property: over random orders (lines, line and order discounts, tax, split tenders) and
random sequences of returns, money refunds, refunds that wait for approval (then approved
or rejected) and exchanges, refunds never exceed what was paid per tender or in total,
each refund's lines and parts add up to it, returned units come back on hand exactly when
restocked, points given back never pass what was redeemed, and the stock, loyalty and
stored-value ledgers equal their balances with nothing negative."""

import itertools

import pytest
from django.db.models import Sum
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.core.enums import ApiRole
from apps.customers.models import LoyaltyAccount, LoyaltyEntry, StoredValueAccount, StoredValueEntry
from apps.customers.services import adjust_points, issue_gift_card, match_customer
from apps.inventory.enums import MovementReason
from apps.inventory.models import StockLevel, StockMovement
from apps.inventory.selectors import list_ledger_mismatches
from apps.orders.enums import TenderType
from apps.orders.exceptions import ExceedsRefundable, TendersMismatch
from apps.orders.models import Order, OrderLine
from apps.orders.services import LineInput, OrderInput, TenderInput, fulfill_order
from apps.returns.enums import RefundPartStatus, RefundStatus
from apps.returns.exchanges import exchange_order
from apps.returns.models import Exchange, Refund, RefundLine, RefundPart
from apps.returns.services import ReturnLineInput, approve_refund, refund_order, reject_refund
from tests.conftest import stock
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


def top_up(shop) -> None:
    """Examples share the shop: enough for this one's sales, whatever earlier ones sold and
    did not restock (the shelf ran out once in CI)."""
    for variant in (shop.burrito, shop.taco):
        stock(shop.oak, variant, 30)


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
    # Shares (percent) rather than amounts: the total comes from the database, and a draw
    # whose bounds changed between a run and its replay is a flaky strategy to Hypothesis.
    on_card = min(total, 5000) * draw(st.integers(0, 100)) // 100
    points = min(total - on_card, 300) * draw(st.integers(0, 100)) // 100
    cash = (total - on_card - points) * draw(st.integers(0, 100)) // 100
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
    # A rejected refund released its claim: it never counted.
    refunds = list(order.refunds.exclude(status=RefundStatus.REJECTED).prefetch_related("lines", "parts"))
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
            rl.quantity for rl in order_line.refund_lines.exclude(refund__status=RefundStatus.REJECTED))
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
    top_up(shop)
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


# Sequences with approvals and exchanges, on orders with line discounts too.

line_discount = st.one_of(st.none(), st.integers(1, 5000).map(lambda bps: {"percent_bps": bps}),
                          st.integers(1, 300).map(lambda cents: {"amount": usd(cents)}))
discounted_line = st.builds(lambda ln, d: {**ln, "discounts": [d]} if d else ln, line, line_discount)
sequence_step = st.one_of(
    action,
    st.tuples(st.just("approval"), st.integers(1, 4000), st.booleans()),
    st.tuples(st.just("exchange"), st.integers(0, 3), st.integers(1, 4), st.booleans(),
              st.sampled_from(SKUS), st.integers(1, 3)),
)
APPROVAL_LIMIT = 100


def apply_with_approvals_and_exchanges(order: Order, step, client) -> None:
    try:
        if step[0] == "approval":
            _, amount, approve = step
            with override_settings(REFUND_APPROVAL_LIMIT=APPROVAL_LIMIT):
                waiting = refund_order(order_id=order.pk, amount=amount, actor_role=ApiRole.CUSTOMER_SERVICE)
            assert (waiting.status == RefundStatus.AWAITING_APPROVAL) == (amount > APPROVAL_LIMIT)
            if waiting.status == RefundStatus.AWAITING_APPROVAL:
                assert not waiting.parts.exclude(status=RefundPartStatus.PENDING).exists()  # nothing sent
                (approve_refund if approve else reject_refund)(refund_id=waiting.pk, actor="manager")
        elif step[0] == "exchange":
            exchange(order, step, client)
        else:
            apply(order, step)
    except ExceedsRefundable:
        pass


def exchange(order: Order, step, client) -> None:
    _, index, quantity, restock, sku, new_quantity = step
    number = 1 + index % order.lines.count()
    new_order = OrderInput(location_code="OAK", fulfillment_type="pickup",
                           lines=(LineInput(sku, new_quantity),))
    key = f"x{next(_keys)}"
    returned = [ReturnLineInput(number, quantity, restock)]
    try:
        exchange_order(order_id=order.pk, returned=returned, new_order=new_order, client=client,
                       idempotency_key=key)
    except TendersMismatch as short:  # the new order costs more: pay the difference in cash
        owed = short.extra["total"]["amount"] - short.extra["tendered"]["amount"]
        paid = OrderInput(location_code="OAK", fulfillment_type="pickup", lines=new_order.lines,
                          tenders=(TenderInput(type=TenderType.CASH, amount=owed, currency="USD"),))
        exchange_order(order_id=order.pk, returned=returned, new_order=paid, client=client,
                       idempotency_key=key)


def assert_exchanges_settle_only_the_difference(order: Order) -> None:
    for made in Exchange.objects.filter(refund__order=order).select_related("refund", "new_order"):
        credit_parts = RefundPart.objects.filter(refund=made.refund, reference__startswith="exchange-credit:")
        credit_tenders = made.new_order.payments.filter(tender_type=TenderType.EXCHANGE)
        assert made.credit_amount == (credit_parts.aggregate(s=Sum("amount"))["s"] or 0) == (
            credit_tenders.aggregate(s=Sum("amount"))["s"] or 0)
        assert made.credit_amount == min(made.refund.amount, made.new_order.total_amount)
        assert made.difference == made.new_order.total_amount - made.refund.amount
        assert sum(p.amount for p in made.new_order.payments.all()) == made.new_order.total_amount


def assert_stock_follows_sales_and_restocks(before: dict[int, tuple[int, int]], since_id: int) -> None:
    """On hand moved only by what these orders sold and what their refunds restocked; what
    their open orders (exchanges' new orders) hold is committed."""
    for level in StockLevel.objects.filter(location__code="OAK"):
        lines = OrderLine.objects.filter(order__pk__gt=since_id, variant_id=level.variant_id)
        sold = lines.filter(order__status="fulfilled").aggregate(s=Sum("quantity"))["s"] or 0
        held = lines.filter(order__status="accepted").aggregate(s=Sum("quantity"))["s"] or 0
        restocked = RefundLine.objects.filter(
            refund__order__pk__gt=since_id, restock=True, order_line__variant_id=level.variant_id,
        ).exclude(refund__status__in=[RefundStatus.AWAITING_APPROVAL, RefundStatus.REJECTED]
                  ).aggregate(s=Sum("quantity"))["s"] or 0
        on_hand, committed = before[level.variant_id]
        assert (level.on_hand, level.committed) == (on_hand - sold + restocked, committed + held)
        returned = StockMovement.objects.filter(order_id__gt=since_id, reason=MovementReason.RETURN,
                                                level=level).aggregate(s=Sum("on_hand_delta"))["s"] or 0
        assert returned == restocked


def assert_points_never_come_back_twice(order: Order) -> None:
    redeemed = sum(p.points for p in order.payments.all())
    returned = sum(r.points_returned for r in order.refunds.all())
    reversed_ = sum(r.points_reversed for r in order.refunds.all())
    assert 0 <= returned <= redeemed
    assert 0 <= reversed_ <= order.loyalty_points_earned


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(discounted_line, min_size=1, max_size=3), order_discount=discount,
       tax_bps=st.sampled_from([0, 875]), steps=st.lists(sequence_step, min_size=1, max_size=6),
       data=st.data())
def test_sequences_with_approvals_and_exchanges_keep_every_invariant(shop, ana, phone, lines, order_discount,
                                                                     tax_bps, steps, data):
    shop.oak.tax_rate_bps = tax_bps
    shop.oak.save(update_fields=["tax_rate_bps"])
    top_up(shop)
    before = {level.variant_id: (level.on_hand, level.committed)
              for level in StockLevel.objects.filter(location=shop.oak)}
    since_id = Order.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    order = place(phone, lines=lines, order_discount=order_discount, draw=data.draw)

    for step in steps:
        apply_with_approvals_and_exchanges(order, step, phone.api_client)
        assert_invariants(order)
        assert_exchanges_settle_only_the_difference(order)
        assert_points_never_come_back_twice(order)
    assert_stock_follows_sales_and_restocks(before, since_id)
