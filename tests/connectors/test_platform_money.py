"""Platform orders keep the platform's money and find their customer, end to end: a sale
rung up at each emulator with a card, a tip and tax arrives in Concord (over HTTP, through
the engine) with the platform's tenders, tax, discounts and total, exactly; the same
shopper across channels is one customer, earning points once paid; identifiers that
point at two customers open `possible_duplicate_customer` and merge nothing."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.utils import timezone

from apps.connectors.clover.adapter import clover_client
from apps.connectors.services.catalog_sync import run_catalog_pull, start_catalog_pull
from apps.connectors.shopify.adapter import shopify_client
from apps.connectors.square.adapter import square_client
from apps.connectors.toast import poller as toast_poller
from apps.connectors.toast.adapter import toast_client
from apps.core.models import ExceptionItem, OutboxEvent
from apps.customers.models import Customer, CustomerExternalId, LoyaltyEntry
from apps.orders.models import Order
from tests.helpers import post_order

from .connector_support import control as control_at
from .connector_support import drain
from .test_square_connector import control, opening_stock_is_already_there, pull, settle

pytestmark = pytest.mark.django_db(transaction=True)

SHOPPER = {"name": "Ana Ruiz", "email": "ana@example.com", "phone": "+15105550123"}


@pytest.fixture
def square(demo_merchant, start_emulator, connect):
    emulator = start_emulator("square")
    emulator.webhook_retry_base_s = 0.05
    connect("square", "OAK", receives_orders=True)
    opening_stock_is_already_there()
    pull("square")
    return emulator


@pytest.fixture
def shopify(demo_merchant, start_emulator, connect):
    emulator = start_emulator("shopify")
    emulator.webhook_retry_base_s = 0.05
    connect("shopify", "OAK")
    opening_stock_is_already_there()
    pull("shopify")
    return emulator


@pytest.fixture
def toast(demo_merchant, start_emulator, connect):
    emulator = start_emulator("toast")
    emulator.webhook_retry_base_s = 0.05
    link = connect("toast", "BKN", receives_orders=True)
    OutboxEvent.objects.update(dispatched_at=timezone.now())
    run_catalog_pull(start_catalog_pull(platform="toast").pk)
    return SimpleNamespace(emulator=emulator, link=link, client=toast_client(link.external_location_id))


@pytest.fixture
def clover(demo_merchant, start_emulator, connect):
    emulator = start_emulator("clover")
    emulator.webhook_retry_base_s = 0.05
    link = connect("clover", "CHI", receives_orders=True)
    OutboxEvent.objects.update(dispatched_at=timezone.now())
    run_catalog_pull(start_catalog_pull(platform="clover").pk)
    return SimpleNamespace(emulator=emulator, link=link, client=clover_client(link.external_location_id))


def cents(decimal_amount) -> int:
    return round(float(decimal_amount) * 100)


def tenders_of(order: Order) -> list[tuple]:
    return list(order.payments.order_by("id").values_list(
        "tender_type", "status", "amount", "tip_amount", "processing_fee_amount", "platform", "reference"))


def assert_adds_up(order: Order) -> None:
    assert order.total_amount == (order.subtotal_amount - order.discount_amount + order.tax_amount
                                  + order.adjustment_amount)
    assert sum(p.amount for p in order.payments.all()) == order.total_amount
    assert sum(line.tax_amount for line in order.lines.all()) == order.tax_amount
    assert sum(line.discount_amount for line in order.lines.all()) == order.discount_amount


def points_for(order: Order) -> int:
    return (order.subtotal_amount - order.discount_amount) // 100


# -- each platform's money ------------------------------------------------------------------------


def test_a_square_card_sale_with_tip_tax_and_discount_keeps_squares_tender_and_figures(square):
    sale = control(square, "sale", {"location": "OAK", "lines": [{"sku": "TACO-ASADA", "quantity": 3}],
                                    "tax_percentage": "10.25", "discount": 200,
                                    "tender": {"type": "card", "tip": 150}, "customer": SHOPPER})
    settle(square)

    at_square = square_client().retrieve_order(sale["order_id"])
    order = Order.objects.get(channel="register")
    assert (at_square["total_discount_money"]["amount"], at_square["total_tax_money"]["amount"] > 0) == (
        200, True)
    assert (order.tax_amount, order.discount_amount) == (
        at_square["total_tax_money"]["amount"], at_square["total_discount_money"]["amount"])
    assert order.total_amount == at_square["total_money"]["amount"] - 150  # Square's total holds the tip
    assert (order.tip_amount, order.adjustment_amount) == (150, 0)
    assert tenders_of(order) == [("card", "paid", order.total_amount, 150,
                                  square.card_fee(order.total_amount + 150), "square", sale["payment_id"])]
    assert_adds_up(order)
    assert (order.customer.email, order.customer.phone) == ("ana@example.com", "+15105550123")
    assert CustomerExternalId.objects.filter(customer=order.customer, platform="square",
                                             external_id=at_square["customer_id"]).exists()
    assert order.loyalty_points_earned == points_for(order) > 0


def test_a_toast_card_sale_with_tip_tax_and_discount_keeps_toasts_payment_and_figures(toast):
    sale = control_at(toast.emulator, "POST", "sale", {
        "location": "BKN", "lines": [{"sku": "TACO-ASADA", "quantity": 3}], "tax_percentage": "8.875",
        "discount": 100, "tender": {"type": "card", "tip": 200}, "customer": SHOPPER})

    assert toast_poller.poll(toast.link) == 1
    drain(toast.emulator)

    [check] = toast.client.get_order(sale["order_id"])["checks"]
    [payment] = check["payments"]
    order = Order.objects.get(channel="register")
    [discount] = check["appliedDiscounts"]
    assert (cents(discount["discountAmount"]), cents(check["taxAmount"]) > 0) == (100, True)
    assert (order.tax_amount, order.total_amount) == (cents(check["taxAmount"]), cents(check["totalAmount"]))
    assert (order.tip_amount, order.discount_amount, order.adjustment_amount) == (200, 100, 0)
    assert cents(payment["originalProcessingFee"]) > 0
    assert tenders_of(order) == [("card", "paid", cents(payment["amount"]), 200,
                                  cents(payment["originalProcessingFee"]), "toast", payment["guid"])]
    assert_adds_up(order)
    # Toast keeps the digits only; read in the store's country they are the same number.
    assert (order.customer.email, order.customer.phone) == ("ana@example.com", "+15105550123")
    assert order.loyalty_points_earned == points_for(order) > 0


def test_a_clover_card_sale_with_tip_and_tax_keeps_clovers_payment_tax_and_total(clover):
    sale = control_at(clover.emulator, "POST", "sale", {
        "location": "CHI", "lines": [{"sku": "TACO-ASADA", "quantity": 2}], "tax_percentage": "10.25",
        "tender": {"type": "card", "tip": 125}, "customer": SHOPPER})
    drain(clover.emulator)

    [at_clover] = clover.client.get_orders([sale["order_id"]])
    [payment] = at_clover["payments"]["elements"]
    order = Order.objects.get(channel="register")
    assert payment["taxAmount"] > 0
    assert (order.tax_amount, order.total_amount) == (payment["taxAmount"], at_clover["total"])
    assert (order.tip_amount, order.discount_amount, order.adjustment_amount) == (125, 0, 0)
    # Clover reports no processing fee (PLATFORM_MONEY §3): none is recorded.
    assert tenders_of(order) == [("card", "paid", payment["amount"], 125, 0, "clover", payment["id"])]
    assert_adds_up(order)
    assert (order.customer.email, order.customer.phone) == ("ana@example.com", "+15105550123")
    assert order.loyalty_points_earned == points_for(order) > 0


def test_a_shopify_checkout_keeps_shopifys_tax_discount_and_transaction(shopify):
    sale = control(shopify, "sale", {"location": "OAK", "lines": [{"sku": "HOT-SAUCE", "quantity": 2},
                                                                  {"sku": "TOTE", "quantity": 1}],
                                     "tax_percentage": "10.25", "discount": 300,
                                     "customer": {"name": "Ana Ruiz", "email": " Ana@Example.COM"}})
    settle(shopify)

    client = shopify_client()
    at_shopify = client.rest_order(sale["order_id"])
    [transaction] = client.order_transactions(sale["order_id"])
    order = Order.objects.get(channel="web")
    assert (order.tax_amount, order.discount_amount, order.total_amount) == (
        cents(at_shopify["total_tax"]), 300, cents(at_shopify["total_price"]))
    assert order.tax_amount > 0
    assert tenders_of(order) == [("card", "paid", cents(transaction["amount"]), 0, 0, "shopify",
                                  str(transaction["id"]))]
    assert_adds_up(order)
    assert order.adjustment_amount == 0
    assert order.customer.email == "ana@example.com"
    assert CustomerExternalId.objects.filter(customer=order.customer, platform="shopify",
                                             external_id=str(at_shopify["customer"]["id"])).exists()


# -- one customer across channels -------------------------------------------------------------------


def test_a_shopify_checkout_and_a_phone_order_by_the_same_shopper_are_one_customer(shopify, make_client):
    control(shopify, "sale", {"location": "OAK", "lines": [{"sku": "HOT-SAUCE", "quantity": 2}],
                              "tax_percentage": "10.25",
                              "customer": {"name": "Ana Ruiz", "email": "ANA@example.com "}})
    settle(shopify)
    phone_order = post_order(make_client("phone"), {
        "location": "OAK", "fulfillment": {"type": "pickup"}, "customer": SHOPPER,
        "lines": [{"sku": "BURRITO", "quantity": 1}]})
    assert phone_order.status_code == 201, phone_order.content
    settle(shopify)

    web = Order.objects.get(channel="web")
    phone = Order.objects.get(channel="phone")
    assert web.customer_id == phone.customer_id is not None
    assert Customer.objects.count() == 1
    assert web.loyalty_points_earned == points_for(web) > 0
    assert list(LoyaltyEntry.objects.filter(order_id=web.pk).values_list("kind", "points")) == [
        ("earn", points_for(web))]
    assert not ExceptionItem.objects.filter(kind="possible_duplicate_customer").exists()


def test_a_register_sale_whose_email_and_phone_belong_to_two_customers_merges_nothing(square, make_client):
    control(square, "sale", {"location": "OAK", "lines": [{"sku": "ELOTE", "quantity": 1}],
                             "customer": {"name": "Ana Ruiz", "email": "ana@example.com"}})
    settle(square)
    other = post_order(make_client("phone"), {
        "location": "OAK", "fulfillment": {"type": "pickup"},
        "customer": {"name": "Bo Chen", "email": "bo@example.com", "phone": "+15105550123"},
        "lines": [{"sku": "BURRITO", "quantity": 1}]})
    assert other.status_code == 201, other.content
    settle(square)
    ana = Order.objects.get(channel="register").customer
    bo = Order.objects.get(channel="phone").customer
    assert ana.pk != bo.pk

    sale = control(square, "sale", {"location": "OAK", "lines": [{"sku": "ELOTE", "quantity": 1}],
                                    "customer": {"name": "Ana Ruiz", "email": "ana@example.com",
                                                 "phone": "(510) 555-0123"}})
    settle(square)

    order = Order.objects.get(external_id=sale["order_id"])
    assert order.customer_id == ana.pk  # matched on the email first
    [duplicate] = ExceptionItem.objects.filter(kind="possible_duplicate_customer")
    assert sorted(c["id"] for c in duplicate.data["customers"]) == sorted([ana.pk, bo.pk])
    assert duplicate.data["incoming"]["phone"] == "+15105550123"
    assert Customer.objects.filter(merged_into__isnull=True).count() == 2
    assert list(bo.phones.values_list("phone", flat=True)) == ["+15105550123"]
    assert not ana.phones.exists()


def test_a_register_sale_earns_once_staff_add_its_shopper_after_it_was_recorded(toast):
    sale = control_at(toast.emulator, "POST", "sale", {
        "location": "BKN", "lines": [{"sku": "TACO-ASADA", "quantity": 4}], "tender": {"type": "card"}})
    assert toast_poller.poll(toast.link) == 1
    drain(toast.emulator)
    order = Order.objects.get(channel="register")
    assert (order.customer_id, order.loyalty_points_earned) == (None, 0)

    # Staff look the guest up at the register afterwards: the ticket changes, the poll sees it.
    stored = toast.emulator.orders[sale["order_id"]]
    later = timezone.now()
    stored.doc["checks"][0]["customer"] = {"guid": "guest-1", "entityType": "Customer", "firstName": "Ana",
                                           "lastName": "Ruiz", "email": "ana@example.com",
                                           "phone": "5105550123"}
    stored.doc["modifiedDate"] = later.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    stored.modified = later
    assert toast_poller.poll(toast.link) == 1
    drain(toast.emulator)
    assert toast_poller.poll(toast.link) == 0

    order.refresh_from_db()
    assert (order.customer.email, order.customer.phone) == ("ana@example.com", "+15105550123")
    assert order.loyalty_points_earned == points_for(order) == 15
    assert list(LoyaltyEntry.objects.filter(order_id=order.pk).values_list("points", flat=True)) == [15]
    assert Order.objects.count() == 1
