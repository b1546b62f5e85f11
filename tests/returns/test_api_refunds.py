"""POST/GET /api/v1/orders/{id}/refunds and GET /api/v1/refunds/{id} over HTTP."""

import json

import pytest
from rest_framework.test import APIClient

from apps.core.services import create_api_client
from apps.returns.models import Refund
from tests.helpers import post_order, simple_order

pytestmark = pytest.mark.django_db


def usd(amount):
    return {"amount": amount, "currency": "USD"}


def post_refund(api, order_id, body, key="refund-1"):
    return api.post(f"/api/v1/orders/{order_id}/refunds", data=json.dumps(body),
                    content_type="application/json", HTTP_IDEMPOTENCY_KEY=key)


def staff(role):
    _, raw_key = create_api_client(name=f"helpdesk-{role}", role=role)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return api


@pytest.fixture
def cash_order(shop, phone):
    """Two burritos (1900) paid in cash through the phone channel's key."""
    body = {**simple_order(quantity=2), "tenders": [{"type": "cash", "amount": usd(1900)}]}
    response = post_order(phone, body)
    assert response.status_code == 201, response.json()
    handed_over = phone.post(f"/api/v1/orders/{response.json()['id']}/fulfill", HTTP_IDEMPOTENCY_KEY="f-1")
    assert handed_over.status_code == 200, handed_over.json()
    return response.json()


def test_a_return_answers_201_with_the_refund_document_and_the_order_shows_it(phone, cash_order):
    response = post_refund(phone, cash_order["id"], {
        "lines": [{"line": 1, "quantity": 1, "restock": True}], "reason": "damaged"})

    assert response.status_code == 201, response.json()
    refund = response.json()
    assert response["Location"] == f"/api/v1/refunds/{refund['id']}"
    assert {k: v for k, v in refund.items() if k not in ("id", "created_at")} == {
        "order": cash_order["id"], "status": "completed", "amount": usd(950), "reason": "damaged",
        "lines": [{"line": 1, "sku": "BURRITO", "quantity": 1, "amount": usd(950), "restock": True,
                   "location": "OAK"}],
        "parts": [{"tender": "cash", "amount": usd(950), "platform": "", "status": "completed",
                   "reference": refund["parts"][0]["reference"]}],
        "points_reversed": 0, "points_returned": 0}
    order = phone.get(f"/api/v1/orders/{cash_order['id']}").json()
    assert (order["refunded"], order["refundable"], order["lines"][0]["refunded_quantity"]) == (
        usd(950), usd(950), 1)
    assert phone.get(f"/api/v1/refunds/{refund['id']}").json() == refund
    assert phone.get(f"/api/v1/orders/{cash_order['id']}/refunds").json() == {"refunds": [refund]}


def test_the_same_key_replays_and_another_body_with_it_is_refused(phone, cash_order):
    first = post_refund(phone, cash_order["id"], {"amount": usd(500), "reason": "goodwill"})
    again = post_refund(phone, cash_order["id"], {"amount": usd(500), "reason": "goodwill"})
    other = post_refund(phone, cash_order["id"], {"amount": usd(600), "reason": "goodwill"})

    assert (first.status_code, again.status_code, again["Idempotent-Replayed"]) == (201, 201, "true")
    assert again.json() == first.json()
    assert other.status_code == 422
    assert other.json()["errors"][0]["code"] == "idempotency_key_reused"
    assert Refund.objects.count() == 1


def test_more_than_refundable_is_409_with_what_is_left(phone, cash_order):
    post_refund(phone, cash_order["id"], {"amount": usd(1500)}, key="a")

    response = post_refund(phone, cash_order["id"], {"amount": usd(401)}, key="b")
    too_many = post_refund(phone, cash_order["id"], {"lines": [{"line": 1, "quantity": 3}]}, key="c")

    assert response.status_code == 409
    error = response.json()["errors"][0]
    assert (error["code"], error["refundable"]) == ("exceeds_refundable", usd(400))
    assert too_many.status_code == 409
    assert too_many.json()["errors"][0]["code"] == "exceeds_refundable"
    assert Refund.objects.count() == 1


@pytest.mark.parametrize("body, field", [
    ({}, "lines"),
    ({"amount": usd(100), "lines": [{"line": 1, "quantity": 1}]}, "lines"),
    ({"lines": [{"line": 9, "quantity": 1}]}, "lines[0].line"),
    ({"amount": {"amount": 100, "currency": "EUR"}}, "amount.currency"),
    ({"amount": usd(100), "return_location": "NOPE"}, "return_location"),
])
def test_a_bad_request_is_422_and_refunds_nothing(phone, cash_order, body, field):
    response = post_refund(phone, cash_order["id"], body)

    assert response.status_code == 422, response.json()
    assert response.json()["errors"][0]["field"] == field
    assert Refund.objects.count() == 0


def test_keys_refund_only_what_they_may(make_client, cash_order, settings):
    settings.REFUND_APPROVAL_LIMIT = 1000
    other_vendor = make_client("phone", name="OtherVendor")

    assert post_refund(other_vendor, cash_order["id"], {"amount": usd(100)}).status_code == 404
    assert other_vendor.get(f"/api/v1/orders/{cash_order['id']}/refunds").status_code == 404
    finance = post_refund(staff("finance"), cash_order["id"], {"amount": usd(100)})
    assert (finance.status_code, finance.json()["errors"][0]["code"]) == (403, "forbidden")
    assert Refund.objects.count() == 0

    waiting = post_refund(staff("customer_service"), cash_order["id"], {"amount": usd(1500)})

    assert waiting.status_code == 202, waiting.json()
    assert (waiting.json()["status"], waiting.json()["parts"][0]["status"]) == (
        "awaiting_approval", "pending")
    refund_id = waiting.json()["id"]
    assert other_vendor.get(f"/api/v1/refunds/{refund_id}").status_code == 404
