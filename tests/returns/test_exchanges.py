"""POST /api/v1/orders/{id}/exchanges: a return plus a new order settling only the difference."""

import json

import pytest
from django.test import override_settings

from apps.core.models import ExceptionItem
from apps.core.services import create_api_client
from apps.customers.models import StoredValueAccount
from apps.customers.selectors import stored_value_ledger_mismatches
from apps.customers.services import issue_gift_card
from apps.inventory.models import StockLevel
from apps.inventory.selectors import list_ledger_mismatches
from apps.orders.models import Order, Payment
from apps.orders.services import LineInput, OrderInput
from apps.returns.exceptions import ExchangeNeedsApproval
from apps.returns.exchanges import exchange_order
from apps.returns.models import Exchange, Refund
from apps.returns.services import ReturnLineInput
from tests.conftest import stock
from tests.factories import VariantFactory
from tests.helpers import levels, post_order, row_counts, simple_order

pytestmark = pytest.mark.django_db


def usd(amount):
    return {"amount": amount, "currency": "USD"}


def post_exchange(api, order_id, body, key="exchange-1"):
    return api.post(f"/api/v1/orders/{order_id}/exchanges", data=json.dumps(body),
                    content_type="application/json", HTTP_IDEMPOTENCY_KEY=key)


def swap(lines, new_lines, tenders=None, **returned):
    order = {"location": "OAK", "lines": new_lines}
    if tenders is not None:
        order["tenders"] = tenders
    return {"return": {"lines": lines, **returned}, "order": order}


@pytest.fixture
def bowl(shop):
    """A bowl priced like a burrito (950), so a burrito swaps for it evenly."""
    variant = VariantFactory(sku="BOWL", name="Bowl", price_amount=950)
    stock(shop.oak, variant, 5)
    return variant


def handed_over(api, body, key):
    placed = post_order(api, body, key=key)
    assert placed.status_code == 201, placed.json()
    fulfilled = api.post(f"/api/v1/orders/{placed.json()['id']}/fulfill", HTTP_IDEMPOTENCY_KEY=f"f-{key}")
    assert fulfilled.status_code == 200, fulfilled.json()
    return placed.json()


@pytest.fixture
def cash_order(shop, phone):
    """Two burritos (1900) paid in cash and handed over."""
    return handed_over(phone, {**simple_order(quantity=2), "customer": {"name": "Ana Ruiz"},
                               "tenders": [{"type": "cash", "amount": usd(1900)}]}, key="o-1")


def level(location, variant):
    row = StockLevel.objects.get(location=location, variant=variant)
    return row.on_hand, row.committed


def test_an_even_exchange_moves_no_money_restocks_the_return_and_reserves_the_new_units(
        phone, shop, bowl, cash_order):
    response = post_exchange(phone, cash_order["id"], swap(
        [{"line": 1, "quantity": 1, "restock": True}], [{"sku": "BOWL", "quantity": 1}],
        reason="changed mind"))

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["difference"] == usd(0)
    refund, new_order = body["refund"], body["order"]
    assert (refund["status"], refund["amount"], refund["reason"]) == ("completed", usd(950), "changed mind")
    assert refund["lines"] == [{"line": 1, "sku": "BURRITO", "quantity": 1, "amount": usd(950),
                                "restock": True, "location": "OAK"}]
    assert refund["parts"] == [{"tender": "cash", "amount": usd(950), "platform": "", "status": "completed",
                                "reference": f"exchange-credit:refund-{refund['id']}"}]
    assert [(t["type"], t["amount"], t["status"], t["reference"]) for t in new_order["tenders"]] == [
        ("exchange", usd(950), "paid", f"refund-{refund['id']}")]
    assert (new_order["total"], new_order["contact"]["name"]) == (usd(950), "Ana Ruiz")
    assert response["Location"] == f"/api/v1/orders/{new_order['id']}"
    exchange = Exchange.objects.get()
    assert (exchange.pk, exchange.refund_id, exchange.new_order_id, exchange.credit_amount) == (
        body["id"], refund["id"], new_order["id"], 950)
    assert level(shop.oak, shop.burrito) == (49, 0)  # 50 - 2 sold + 1 back
    assert level(shop.oak, bowl) == (5, 1)
    original = phone.get(f"/api/v1/orders/{cash_order['id']}").json()
    assert (original["refunded"], original["refundable"], original["lines"][0]["refunded_quantity"]) == (
        usd(950), usd(950), 1)
    assert list_ledger_mismatches() == []


def test_a_dearer_new_order_is_paid_only_the_difference(phone, shop, cash_order):
    response = post_exchange(phone, cash_order["id"], swap(
        [{"line": 1, "quantity": 1, "restock": True}], [{"sku": "SCARCE", "quantity": 1}],
        tenders=[{"type": "card", "amount": usd(4049), "reference": "ch_42"}]))

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["difference"] == usd(4049)
    assert [(t["type"], t["amount"], t["reference"]) for t in body["order"]["tenders"]] == [
        ("card", usd(4049), "ch_42"), ("exchange", usd(950), f"refund-{body['refund']['id']}")]
    assert body["order"]["total"] == usd(4999)
    assert level(shop.oak, shop.scarce) == (3, 1)


def test_a_cheaper_new_order_gives_the_difference_back_to_the_original_tender(phone, shop, cash_order):
    response = post_exchange(phone, cash_order["id"], swap(
        [{"line": 1, "quantity": 2, "restock": True}], [{"sku": "TACO", "quantity": 1}]))

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["difference"] == usd(375 - 1900)
    assert (body["refund"]["amount"], body["refund"]["status"]) == (usd(1900), "completed")
    assert parts_of(body["refund"]) == [("cash", 375, "exchange credit"), ("cash", 1525, "drawer payout")]
    assert [(t["type"], t["amount"]) for t in body["order"]["tenders"]] == [("exchange", usd(375))]
    assert Payment.objects.get(order_id=cash_order["id"]).refunded_amount == 1900
    assert level(shop.oak, shop.burrito) == (50, 0)


def parts_of(refund):
    """Each part as (tender, amount, where its money went), smallest first."""
    def where(reference):
        if reference.startswith("exchange-credit:"):
            return "exchange credit"
        return "drawer payout" if reference.startswith("drawer-payout:") else "back to the tender"

    return sorted((p["tender"], p["amount"]["amount"], where(p["reference"])) for p in refund["parts"])


def test_split_tenders_give_the_credit_in_proportion_and_the_rest_back_to_each(phone, shop):
    card = issue_gift_card(amount=1000, currency="USD")
    order = handed_over(phone, {**simple_order(quantity=2), "tenders": [
        {"type": "gift_card", "code": card.code, "amount": usd(950)},
        {"type": "cash", "amount": usd(950)}]}, key="o-2")

    response = post_exchange(phone, order["id"], swap(
        [{"line": 1, "quantity": 2, "restock": False}], [{"sku": "TACO", "quantity": 2}]))

    assert response.status_code == 201, response.json()
    assert parts_of(response.json()["refund"]) == [
        ("cash", 375, "exchange credit"), ("cash", 575, "drawer payout"),
        ("gift_card", 375, "exchange credit"), ("gift_card", 575, "back to the tender")]
    card.refresh_from_db()
    assert card.balance == 1000 - 950 + 575
    assert stored_value_ledger_mismatches() == []
    assert list(Payment.objects.filter(order_id=order["id"]).values_list("refunded_amount", flat=True)) == [
        950, 950]


def test_the_same_key_replays_the_exchange(phone, bowl, cash_order):
    body = swap([{"line": 1, "quantity": 1}], [{"sku": "BOWL", "quantity": 1}])
    first = post_exchange(phone, cash_order["id"], body)
    again = post_exchange(phone, cash_order["id"], body)
    other = post_exchange(phone, cash_order["id"], swap([{"line": 1, "quantity": 2}],
                                                         [{"sku": "BOWL", "quantity": 1}]))

    assert (first.status_code, again.status_code, again["Idempotent-Replayed"]) == (201, 201, "true")
    assert again.json() == first.json()
    assert other.json()["errors"][0]["code"] == "idempotency_key_reused"
    assert (Exchange.objects.count(), Refund.objects.count(), Order.objects.count()) == (1, 1, 2)


def test_too_little_stock_for_the_new_order_is_409_and_nothing_happens_not_even_the_refund(
        phone, shop, cash_order):
    before, counts = levels(), row_counts()

    response = post_exchange(phone, cash_order["id"], swap(
        [{"line": 1, "quantity": 1, "restock": True}], [{"sku": "SCARCE", "quantity": 4}],
        tenders=[{"type": "cash", "amount": usd(4 * 4999 - 950)}]))

    assert response.status_code == 409, response.json()
    assert {k: response.json()["errors"][0][k] for k in ("code", "field", "requested", "available")} == {
        "code": "insufficient_stock", "field": "order.lines[0].quantity", "requested": 4, "available": 3}
    assert (levels(), row_counts()) == (before, counts)
    assert (Refund.objects.count(), Exchange.objects.count()) == (0, 0)
    assert Order.objects.get(pk=cash_order["id"]).refunded_amount == 0


def test_tenders_that_do_not_pay_the_difference_are_422_and_nothing_happens(phone, shop, cash_order):
    before, counts = levels(), row_counts()

    response = post_exchange(phone, cash_order["id"], swap(
        [{"line": 1, "quantity": 1}], [{"sku": "SCARCE", "quantity": 1}],
        tenders=[{"type": "cash", "amount": usd(100)}]))

    assert response.status_code == 422, response.json()
    assert [(e["code"], e["field"]) for e in response.json()["errors"]] == [
        ("tenders_mismatch", "order.tenders")]
    # told as the exchange, not as the new order's tenders with a credit the caller never sent
    error = response.json()["errors"][0]
    assert error["detail"] == ("The returned goods pay 9.50 USD of the new order's 49.99 USD: the tenders "
                               "must pay the other 40.49 USD, not 1.00 USD.")
    assert {name: error[name]["amount"] for name in ("total", "credit", "to_pay", "tendered")} == {
        "total": 4999, "credit": 950, "to_pay": 4049, "tendered": 1050}  # total - tendered: still missing
    assert (levels(), row_counts(), Refund.objects.count()) == (before, counts, 0)


def test_a_staff_key_cannot_place_the_new_order(shop, cash_order):
    _, raw_key = create_api_client(name="helpdesk", role="customer_service")
    from rest_framework.test import APIClient
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")

    response = post_exchange(api, cash_order["id"], swap([{"line": 1, "quantity": 1}],
                                                         [{"sku": "TACO", "quantity": 1}]))

    assert response.status_code == 403
    assert Refund.objects.count() == 0
    assert StoredValueAccount.objects.count() == 0


def test_returning_more_than_is_left_is_409_naming_the_return_line(phone, shop, cash_order):
    response = post_exchange(phone, cash_order["id"], swap([{"line": 1, "quantity": 3}],
                                                           [{"sku": "TACO", "quantity": 1}]))

    assert response.status_code == 409, response.json()
    assert [(e["code"], e["field"]) for e in response.json()["errors"]] == [
        ("exceeds_refundable", "return.lines[0].quantity")]
    assert (Refund.objects.count(), Order.objects.count()) == (0, 1)


@override_settings(REFUND_APPROVAL_LIMIT=1000)
def test_an_exchange_giving_back_more_than_the_limit_is_refused_not_held(shop, cash_order):
    helpdesk, _ = create_api_client(name="helpdesk", role="customer_service")
    counts = row_counts()
    new_order = OrderInput(location_code="OAK", fulfillment_type="pickup", lines=(LineInput("TACO", 1),))

    with pytest.raises(ExchangeNeedsApproval):  # 1900 back less 375 of credit: 1525 > 1000
        exchange_order(order_id=cash_order["id"], returned=[ReturnLineInput(1, 2)], new_order=new_order,
                       client=helpdesk, idempotency_key="x-1")

    assert (row_counts(), Refund.objects.count(), ExceptionItem.objects.count()) == (counts, 0, 0)
