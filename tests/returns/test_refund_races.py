"""Races on real Postgres: concurrent refunds of one order never refund more than it has."""

import json

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from apps.orders.exceptions import ExceedsRefundable
from apps.orders.models import Order, OrderLine, Payment
from apps.orders.services import LineClaim, claim_refunded
from apps.returns.models import Refund, RefundLine
from tests.helpers import run_concurrently
from tests.returns.conftest import register_sale

pytestmark = pytest.mark.django_db(transaction=True)


def test_ten_concurrent_refunds_of_one_unit_on_a_three_unit_order_refund_exactly_three(shop, phone):
    body = {"location": "OAK", "fulfillment": {"type": "pickup"}, "lines": [{"sku": "TACO", "quantity": 3}],
            "tenders": [{"type": "cash", "amount": {"amount": 1125, "currency": "USD"}}]}
    placed = phone.post("/api/v1/orders", data=json.dumps(body), content_type="application/json",
                        HTTP_IDEMPOTENCY_KEY="order-1")
    assert placed.status_code == 201, placed.json()
    order_id = placed.json()["id"]
    assert phone.post(f"/api/v1/orders/{order_id}/fulfill", HTTP_IDEMPOTENCY_KEY="f-1").status_code == 200

    def refund_one(i):
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {phone.raw_key}")
        response = api.post(f"/api/v1/orders/{order_id}/refunds", content_type="application/json",
                            data=json.dumps({"lines": [{"line": 1, "quantity": 1, "restock": True}]}),
                            HTTP_IDEMPOTENCY_KEY=f"refund-{i}")
        return response.status_code, response.json()

    results = run_concurrently(10, refund_one)

    statuses = sorted(status for status, _ in results)
    assert statuses == [201] * 3 + [409] * 7
    assert all(body["errors"][0]["code"] == "exceeds_refundable" for status, body in results if status == 409)
    assert OrderLine.objects.get(order_id=order_id).refunded_quantity == 3
    assert sum(RefundLine.objects.values_list("quantity", flat=True)) == 3
    assert Order.objects.get(pk=order_id).refunded_amount == 1125 == Payment.objects.get(
        order_id=order_id).refunded_amount
    assert Refund.objects.count() == 3


def test_the_counters_alone_hold_without_the_order_lock(shop):
    """claim_refunded takes no lock: its conditional UPDATEs are what refuse the excess."""
    order = register_sale(quantity=3)
    line, payment = order.lines.get(), order.payments.get()

    def claim(i):
        try:
            with transaction.atomic():
                claim_refunded(order_id=order.pk, amount=375, tender_amounts={payment.pk: 375},
                               lines=[LineClaim(line.pk, 1, 375)])
            return "claimed"
        except ExceedsRefundable:
            return "refused"

    results = run_concurrently(10, claim)

    assert sorted(results) == ["claimed"] * 3 + ["refused"] * 7
    line.refresh_from_db()
    payment.refresh_from_db()
    assert (line.refunded_quantity, payment.refunded_amount,
            Order.objects.get(pk=order.pk).refunded_amount) == (3, 1125, 1125)
