"""The order's refund counters cannot pass what was sold or paid: a conditional UPDATE
refuses, and a CHECK stops any write that tries anyway."""

import pytest
from django.db import IntegrityError, transaction

from apps.orders.exceptions import ExceedsRefundable
from apps.orders.models import Order, OrderLine, Payment
from apps.orders.services import LineClaim, claim_refunded, release_refunded

pytestmark = pytest.mark.django_db


def counters(order):
    line = OrderLine.objects.get(order=order)
    payment = Payment.objects.get(order=order)
    return (line.refunded_quantity, line.refunded_amount, payment.refunded_amount,
            Order.objects.get(pk=order.pk).refunded_amount)


def test_claims_add_up_to_everything_and_no_further(sale):
    order = sale(quantity=3)  # 1125, one card tender
    payment = order.payments.get()
    line = order.lines.get()

    claim_refunded(order_id=order.pk, amount=375, tender_amounts={payment.pk: 375},
                   lines=[LineClaim(line.pk, 1, 375)])
    claim_refunded(order_id=order.pk, amount=750, tender_amounts={payment.pk: 750},
                   lines=[LineClaim(line.pk, 2, 750)])
    assert counters(order) == (3, 1125, 1125, 1125)

    with pytest.raises(ExceedsRefundable), transaction.atomic():
        claim_refunded(order_id=order.pk, amount=0, tender_amounts={}, lines=[LineClaim(line.pk, 1, 0)])
    with pytest.raises(ExceedsRefundable), transaction.atomic():
        claim_refunded(order_id=order.pk, amount=1, tender_amounts={}, lines=[])
    assert counters(order) == (3, 1125, 1125, 1125)


def test_a_tender_cannot_give_back_more_than_it_took_and_a_refusal_changes_nothing(sale):
    order = sale(quantity=3)
    payment = order.payments.get()

    with pytest.raises(ExceedsRefundable), transaction.atomic():
        claim_refunded(order_id=order.pk, amount=100, tender_amounts={payment.pk: 1126}, lines=[])

    assert counters(order) == (0, 0, 0, 0)


def test_release_gives_back_a_claim(sale):
    order = sale(quantity=3)
    payment, line = order.payments.get(), order.lines.get()
    claim = dict(order_id=order.pk, amount=375, tender_amounts={payment.pk: 375},
                 lines=[LineClaim(line.pk, 1, 375)])
    claim_refunded(**claim)

    release_refunded(**claim)

    assert counters(order) == (0, 0, 0, 0)


@pytest.mark.parametrize("model, field", [(Payment, "refunded_amount"), (OrderLine, "refunded_amount"),
                                          (OrderLine, "refunded_quantity"), (Order, "refunded_amount")])
def test_the_database_refuses_a_counter_beyond_its_limit(sale, model, field):
    order = sale(quantity=3)
    row = model.objects.filter(**({"pk": order.pk} if model is Order else {"order": order})).get()

    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.filter(pk=row.pk).update(**{field: 10**6})
