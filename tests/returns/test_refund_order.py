"""returns.refund_order: the one refund path, by service."""

import pytest

from apps.core import topics
from apps.core.enums import ApiRole, ExceptionKind, ExceptionStatus
from apps.core.errors import InvalidTransition, ValidationFailed
from apps.core.models import ExceptionItem, OutboxEvent
from apps.customers.models import LoyaltyAccount, StoredValueAccount
from apps.customers.services import adjust_points, issue_gift_card, match_customer
from apps.inventory.enums import MovementReason
from apps.inventory.models import StockLevel, StockMovement
from apps.orders.exceptions import ExceedsRefundable
from apps.orders.models import Order, OrderLine, Payment
from apps.orders.services import TenderFact, cancel_order
from apps.returns.enums import RefundPartStatus, RefundStatus
from apps.returns.models import Refund
from apps.returns.services import (
    ReturnLineInput,
    approve_refund,
    complete_refund_part,
    refund_order,
    reject_refund,
)
from tests.factories import LocationFactory
from tests.helpers import post_order, simple_order

pytestmark = pytest.mark.django_db


def usd(amount):
    return {"amount": amount, "currency": "USD"}


def on_hand(location, variant):
    return StockLevel.objects.get(location=location, variant=variant).on_hand


def outbox(topic):
    return list(OutboxEvent.objects.filter(topic=topic).values_list("payload", flat=True))


class TestLineReturns:
    def test_a_square_sale_returned_at_another_store_refunds_the_card_and_restocks_there(self, sale, shop):
        brooklyn = LocationFactory(code="BKN", name="Brooklyn")
        order = sale(quantity=3, tax=115)  # 1125 + 115 tax = 1240 on one Square card

        refund = refund_order(order_id=order.pk, lines=[ReturnLineInput(1, 2, restock=True)],
                              return_location_id=brooklyn.pk, reason="damaged", actor="cs")

        # 2 of 3 units of a 1240 line: 1240 * 2/3 = 826.67 -> 827; tax 115 * 2/3 -> 77
        assert (refund.status, refund.amount) == (RefundStatus.PENDING, 827)
        line = refund.lines.get()
        assert (line.quantity, line.amount, line.tax_amount, line.restock, line.location_id) == (
            2, 827, 77, True, brooklyn.pk)
        part = refund.parts.get()
        assert (part.amount, part.platform, part.status) == (827, "square", RefundPartStatus.PENDING)
        assert outbox(topics.REFUND_PART_REQUESTED) == [
            {"refund_id": refund.pk, "part_id": part.pk, "order_id": order.pk, "platform": "square"}]
        assert on_hand(brooklyn, shop.taco) == 2
        movement = StockMovement.objects.get(reason=MovementReason.RETURN)
        assert (movement.on_hand_delta, movement.reference) == (2, f"refund:{refund.pk}")
        assert {"location_id": brooklyn.pk, "variant_id": shop.taco.pk, "cause": "return"} in outbox(
            topics.STOCK_CHANGED)
        order_line = OrderLine.objects.get(order=order)
        assert (order_line.refunded_quantity, order_line.refunded_amount) == (2, 827)
        assert Order.objects.get(pk=order.pk).refunded_amount == 827

    def test_the_last_unit_gets_what_is_left_so_the_line_comes_back_exactly(self, sale):
        order = sale(quantity=3, tax=115)

        amounts = [refund_order(order_id=order.pk, lines=[ReturnLineInput(1, 1)]).amount for _ in range(3)]

        assert amounts == [413, 414, 413]
        assert sum(amounts) == 1240 == Payment.objects.get(order=order).refunded_amount
        with pytest.raises(ExceedsRefundable):
            refund_order(order_id=order.pk, lines=[ReturnLineInput(1, 1)])

    def test_the_same_key_is_the_same_refund(self, sale):
        order = sale(quantity=3)

        first = refund_order(order_id=order.pk, lines=[ReturnLineInput(1, 1)], idempotency_key="k1")
        again = refund_order(order_id=order.pk, lines=[ReturnLineInput(1, 1)], idempotency_key="k1")

        assert again.pk == first.pk
        assert Refund.objects.count() == 1
        assert OrderLine.objects.get(order=order).refunded_quantity == 1


class TestMoneyRefunds:
    def test_more_than_is_refundable_is_refused_with_what_is_left_and_changes_nothing(self, sale):
        order = sale(quantity=3)
        refund_order(order_id=order.pk, amount=1000)
        outbox_before = OutboxEvent.objects.count()

        with pytest.raises(ExceedsRefundable) as refused:
            refund_order(order_id=order.pk, amount=126)

        assert refused.value.extra["refundable"] == usd(125)
        assert Refund.objects.count() == 1
        assert Order.objects.get(pk=order.pk).refunded_amount == 1000
        assert OutboxEvent.objects.count() == outbox_before

    def test_returned_units_after_a_goodwill_refund_get_only_what_is_left(self, sale):
        order = sale(quantity=3)
        refund_order(order_id=order.pk, amount=1000)

        refund = refund_order(order_id=order.pk, lines=[ReturnLineInput(1, 3)])

        assert refund.amount == 125
        assert Order.objects.get(pk=order.pk).refunded_amount == 1125

    def test_a_split_order_gives_each_tender_its_share_and_stored_value_and_points_come_back(
            self, shop, phone):
        customer = match_customer(name="Ana Ruiz", email="ana@example.com")
        adjust_points(customer_id=customer.pk, points=500, reason="welcome")
        card = issue_gift_card(amount=1000, currency="USD")
        body = {**simple_order(quantity=2), "customer": {"name": "Ana Ruiz", "email": "ana@example.com"},
                "tenders": [{"type": "gift_card", "code": card.code, "amount": usd(1000)},
                            {"type": "loyalty", "points": 300},
                            {"type": "cash", "amount": usd(600)}]}
        response = post_order(phone, body)
        assert response.status_code == 201, response.json()
        order = Order.objects.get(pk=response.json()["id"])
        points_before = LoyaltyAccount.objects.get(customer=customer).balance

        refund = refund_order(order_id=order.pk, lines=[ReturnLineInput(1, 2)])

        assert refund.status == RefundStatus.COMPLETED
        assert sorted((p.payment.tender_type, p.amount, p.points, p.status) for p in refund.parts.all()) == [
            ("cash", 600, 0, "completed"), ("gift_card", 1000, 0, "completed"),
            ("loyalty", 300, 300, "completed")]
        assert StoredValueAccount.objects.get(pk=card.pk).balance == 1000
        assert refund.points_returned == 300
        assert refund.points_reversed == order.loyalty_points_earned
        assert LoyaltyAccount.objects.get(customer=customer).balance == (
            points_before + 300 - order.loyalty_points_earned)
        assert outbox(topics.REFUND_COMPLETED) == [
            {"refund_id": refund.pk, "order_id": order.pk, "amount": 1900, "currency": "USD"}]


class TestManualRefunds:
    def test_a_toast_card_refund_asks_staff_to_refund_at_the_pos_and_completes_when_marked(self, sale):
        order = sale(quantity=3, platform="toast", source_name="Toast")

        refund = refund_order(order_id=order.pk, amount=500, reason="cold")

        part = refund.parts.get()
        assert (refund.status, part.status) == (RefundStatus.PENDING, RefundPartStatus.MANUAL_REQUIRED)
        item = ExceptionItem.objects.get(kind=ExceptionKind.MANUAL_REFUND_REQUIRED)
        assert "at the Toast POS" in item.title and "toast-pay-1" in item.detail
        assert (item.value_amount, item.platform) == (500, "toast")
        assert outbox(topics.REFUND_PART_REQUESTED) == []

        complete_refund_part(part_id=part.pk, reference="toast-refund-9", actor="manager")

        refund.refresh_from_db()
        item.refresh_from_db()
        assert refund.status == RefundStatus.COMPLETED
        assert item.status == ExceptionStatus.RESOLVED
        assert refund.parts.get().reference == "toast-refund-9"

    def test_a_card_from_an_outside_processor_names_the_processor_payment(self, sale):
        order = sale(quantity=1, platform="", source_name="PieLine", tenders=(
            TenderFact(type="card", amount=375, reference="ch_outside_1"),))

        refund_order(order_id=order.pk, amount=375)

        item = ExceptionItem.objects.get(kind=ExceptionKind.MANUAL_REFUND_REQUIRED)
        assert "ch_outside_1" in item.detail and "processor" in item.detail


@pytest.fixture(autouse=True)
def _approval_limit(settings):
    settings.REFUND_APPROVAL_LIMIT = 1000


class TestApproval:
    def test_a_refund_above_the_limit_waits_sends_nothing_and_goes_ahead_when_approved(self, sale):
        order = sale(quantity=3)

        refund = refund_order(order_id=order.pk, amount=1100, actor_role=ApiRole.CUSTOMER_SERVICE)

        assert refund.status == RefundStatus.AWAITING_APPROVAL
        waiting = ExceptionItem.objects.get(kind=ExceptionKind.APPROVAL_REQUIRED)
        assert waiting.status == ExceptionStatus.OPEN
        assert "to refund 11.00 USD, above the limit of 10.00." in waiting.detail  # money as people read it
        assert outbox(topics.REFUND_PART_REQUESTED) == []
        # its claim holds the money: nothing else can refund it meanwhile
        with pytest.raises(ExceedsRefundable):
            refund_order(order_id=order.pk, amount=100)

        approve_refund(refund_id=refund.pk, actor="manager")

        refund.refresh_from_db()
        assert (refund.status, refund.decided_by) == (RefundStatus.PENDING, "manager")
        assert len(outbox(topics.REFUND_PART_REQUESTED)) == 1
        approval = ExceptionItem.objects.get(kind=ExceptionKind.APPROVAL_REQUIRED)
        assert approval.status == ExceptionStatus.RESOLVED
        with pytest.raises(InvalidTransition):
            approve_refund(refund_id=refund.pk)

    def test_a_rejected_refund_releases_its_claim(self, sale):
        order = sale(quantity=3)
        refund = refund_order(order_id=order.pk, lines=[ReturnLineInput(1, 3, restock=True)],
                              actor_role=ApiRole.CUSTOMER_SERVICE)

        reject_refund(refund_id=refund.pk, actor="manager", reason="not ours")

        refund.refresh_from_db()
        assert refund.status == RefundStatus.REJECTED
        assert (Order.objects.get(pk=order.pk).refunded_amount,
                OrderLine.objects.get(order=order).refunded_quantity,
                Payment.objects.get(order=order).refunded_amount) == (0, 0, 0)
        assert not StockMovement.objects.filter(reason=MovementReason.RETURN).exists()

    def test_within_the_limit_or_without_the_role_there_is_no_wait(self, sale):
        order = sale(quantity=3)

        small = refund_order(order_id=order.pk, amount=1000, actor_role=ApiRole.CUSTOMER_SERVICE)
        by_channel = refund_order(order_id=order.pk, amount=125)

        assert (small.status, by_channel.status) == (RefundStatus.PENDING, RefundStatus.PENDING)


class TestApproveRefundCommand:
    def test_the_command_approves_or_rejects_a_waiting_refund(self, sale):
        from django.core.management import CommandError, call_command

        order = sale(quantity=3)
        waiting = refund_order(order_id=order.pk, amount=1100, actor_role=ApiRole.CUSTOMER_SERVICE)
        other = sale(external_id="sale-2", quantity=3)
        refused = refund_order(order_id=other.pk, amount=1100, actor_role=ApiRole.CUSTOMER_SERVICE)

        call_command("approve_refund", str(waiting.pk), "--actor", "admin")
        call_command("approve_refund", str(refused.pk), "--reject", "--reason", "duplicate")

        waiting.refresh_from_db()
        refused.refresh_from_db()
        assert (waiting.status, refused.status) == (RefundStatus.PENDING, RefundStatus.REJECTED)
        assert Order.objects.get(pk=other.pk).refunded_amount == 0
        with pytest.raises(CommandError):
            call_command("approve_refund", str(refused.pk))


class TestOrdersNotHandedOver:
    def test_units_that_never_left_stock_cannot_be_restocked(self, shop, phone):
        placed = post_order(phone, {**simple_order(quantity=2),
                                    "tenders": [{"type": "cash", "amount": usd(1900)}]})
        order_id = placed.json()["id"]

        with pytest.raises(ValidationFailed) as refused:
            refund_order(order_id=order_id, lines=[ReturnLineInput(1, 1, restock=True)])

        assert refused.value.extra["code"] == "nothing_to_restock"
        assert Refund.objects.count() == 0
        assert refund_order(order_id=order_id, lines=[ReturnLineInput(1, 1)]).amount == 950

    def test_canceling_after_a_partial_refund_gives_a_gift_card_back_only_the_rest(self, shop, phone):
        card = issue_gift_card(amount=1900, currency="USD")
        placed = post_order(phone, {**simple_order(quantity=2),
                                    "tenders": [{"type": "gift_card", "code": card.code,
                                                 "amount": usd(1900)}]})
        order_id = placed.json()["id"]
        refund_order(order_id=order_id, amount=500)
        assert StoredValueAccount.objects.get(pk=card.pk).balance == 500

        cancel_order(order_id=order_id, actor="test")

        assert StoredValueAccount.objects.get(pk=card.pk).balance == 1900  # not 2400
