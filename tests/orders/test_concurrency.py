"""Races on real Postgres connections: one thread = one client = one connection."""

import json

import psycopg
import pytest
from django.db import connection
from rest_framework.test import APIClient

from apps.core.models import IdempotencyRecord
from apps.inventory.models import StockLevel
from apps.inventory.selectors import list_ledger_mismatches
from apps.orders.models import Order, OrderLine
from tests.helpers import run_concurrently, simple_order

pytestmark = pytest.mark.django_db(transaction=True)


def order_poster(raw_key):
    def post(body, key):
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
        response = api.post("/api/v1/orders", data=json.dumps(body),
                            content_type="application/json", HTTP_IDEMPOTENCY_KEY=key)
        return response.status_code, response.json()

    return post


def test_clients_racing_for_the_last_units_sell_exactly_what_exists(shop, phone):
    post = order_poster(phone.raw_key)
    # 3 units exist; 16 buyers want 1 or 2 each.
    wants = [1 + i % 2 for i in range(16)]
    results = run_concurrently(16, lambda i: post(simple_order("SCARCE", wants[i]), f"race-{i}"))

    sold = sum(wants[i] for i, (status, _) in enumerate(results) if status == 201)
    refused = [body for status, body in results if status == 409]
    assert {status for status, _ in results} <= {201, 409}
    assert sold == 3
    assert all(body["errors"][0]["code"] == "insufficient_stock" for body in refused)
    level = StockLevel.objects.get(variant=shop.scarce)
    assert level.committed == 3
    assert level.available == 0
    assert sum(OrderLine.objects.filter(sku="SCARCE").values_list("quantity", flat=True)) == 3
    assert list_ledger_mismatches() == []


def test_multi_line_orders_in_opposite_order_never_deadlock(shop, phone):
    post = order_poster(phone.raw_key)
    forward = simple_order()
    forward["lines"] = [{"sku": "BURRITO", "quantity": 1}, {"sku": "TACO", "quantity": 1}]
    backward = simple_order()
    backward["lines"] = [{"sku": "TACO", "quantity": 1}, {"sku": "BURRITO", "quantity": 1}]

    def place_many(i):
        body = forward if i % 2 == 0 else backward
        return [post(body, f"t{i}-{n}")[0] for n in range(8)]

    statuses = [s for batch in run_concurrently(4, place_many) for s in batch]

    assert statuses == [201] * 32
    burrito = StockLevel.objects.get(variant=shop.burrito)
    taco = StockLevel.objects.get(variant=shop.taco)
    assert (burrito.committed, taco.committed) == (32, 32)
    assert list_ledger_mismatches() == []


def test_concurrent_requests_with_one_key_make_one_order(shop, phone):
    post = order_poster(phone.raw_key)
    body = simple_order(quantity=2)
    results = run_concurrently(8, lambda i: post(body, "one-key"))

    assert [status for status, _ in results] == [201] * 8
    assert len({json.dumps(b, sort_keys=True) for _, b in results}) == 1
    assert Order.objects.count() == 1
    assert StockLevel.objects.get(variant=shop.burrito).committed == 2


def test_a_request_waiting_too_long_on_its_key_gets_request_in_progress(shop, phone):
    """The first request (here: an open transaction holding the key) never finishes."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("options", None)
    holder = psycopg.connect(**params)
    try:
        holder.execute(
            "INSERT INTO core_idempotencyrecord (client_id, key, request_hash, created_at) "
            "VALUES (%s, 'slow', 'x', now())", [phone.api_client.pk])
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '300ms'")
        response = phone.post("/api/v1/orders", data=json.dumps(simple_order()),
                              content_type="application/json", HTTP_IDEMPOTENCY_KEY="slow")
    finally:
        holder.rollback()
        holder.close()
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")

    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "request_in_progress"
    assert Order.objects.count() == 0
    assert not IdempotencyRecord.objects.exists()


def test_orders_racing_for_one_gift_card_spend_it_once_and_the_losers_leave_nothing(shop, phone):
    from apps.customers.models import StoredValueAccount, StoredValueEntry
    from apps.customers.services import issue_gift_card
    from apps.orders.models import Payment

    card = issue_gift_card(amount=1000, currency="USD")
    post = order_poster(phone.raw_key)

    def body(i):
        return {**simple_order(), "tenders": [
            {"type": "gift_card", "code": card.code, "amount": {"amount": 600, "currency": "USD"}},
            {"type": "cash", "amount": {"amount": 350, "currency": "USD"}}]}

    results = run_concurrently(6, lambda i: post(body(i), f"card-race-{i}"))

    statuses = sorted(status for status, _ in results)
    assert statuses == [201, 409, 409, 409, 409, 409]
    assert all(body["errors"][0]["code"] == "insufficient_balance"
               for status, body in results if status == 409)
    assert StoredValueAccount.objects.get(pk=card.pk).balance == 400
    assert StoredValueEntry.objects.filter(kind="redeem").count() == 1
    assert Order.objects.count() == 1
    assert Payment.objects.count() == 2
    assert StockLevel.objects.get(variant=shop.burrito).committed == 1
    assert IdempotencyRecord.objects.count() == 1
