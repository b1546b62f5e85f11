"""Order pages: one search box, the order with its timeline, ready / fulfil / cancel."""

import pytest
from django.test import Client
from django.utils import timezone

from apps.connectors.models import Delivery
from apps.core.models import AuditEntry
from apps.inventory.models import StockLevel
from apps.orders.models import Order
from tests.backoffice.conftest import record_sale
from tests.helpers import CONTRACT_EXAMPLE, post_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def phone_order(stores, phone):
    response = post_order(phone, CONTRACT_EXAMPLE)
    assert response.status_code == 201, response.content
    return Order.objects.get(pk=response.json()["id"])


def listed(response) -> list[int]:
    return [order.pk for order in response.context["page"]]


@pytest.mark.parametrize("query", ["Ana", "ana@EXAMPLE.com", "call-8812", "(510) 555-0123", "#{id}",
                                   "{id}"])
def test_one_search_box_finds_an_order_by_any_of_its_names(phone_order, signed_in, query):
    record_sale("OAK", external_id="other")
    response = signed_in("customer_service").get("/orders/", {"q": query.format(id=phone_order.pk)})
    assert listed(response) == [phone_order.pk]


def test_orders_filter_by_channel_location_and_status(phone_order, signed_in):
    sale = record_sale("BKN", external_id="b1")
    client = signed_in("admin")
    assert listed(client.get("/orders/", {"channel": "register"})) == [sale.pk]
    assert listed(client.get("/orders/", {"location": "OAK"})) == [phone_order.pk]
    assert listed(client.get("/orders/", {"status": "fulfilled"})) == [sale.pk]


def test_a_store_manager_sees_only_their_stores_orders(phone_order, signed_in):
    elsewhere = record_sale("BKN", external_id="b1")
    client = signed_in("store_manager", "OAK")
    assert listed(client.get("/orders/")) == [phone_order.pk]
    assert client.get(f"/orders/{phone_order.pk}/").status_code == 200
    assert client.get(f"/orders/{elsewhere.pk}/").status_code == 403
    assert client.get(f"/orders/{elsewhere.pk}/timeline/").status_code == 403
    assert client.get("/orders/999999/").status_code == 403  # an unknown id looks the same
    assert client.post(f"/orders/{elsewhere.pk}/cancel/").status_code == 403


def test_the_order_page_shows_lines_payments_refunds_and_the_refund_form(phone_order, signed_in):
    page = signed_in("customer_service").get(f"/orders/{phone_order.pk}/").content.decode()
    assert "Burrito" in page and "Extra guacamole" in page
    assert "$23.00" in page and "PieLine" in page and "call-8812" in page
    assert f'hx-get="/orders/{phone_order.pk}/refunds/"' in page
    assert f'hx-get="/orders/{phone_order.pk}/refunds/new/"' in page
    assert 'data-action="ready"' in page and 'data-action="cancel"' in page


def test_finance_sees_the_refunds_but_not_the_refund_form(phone_order, signed_in):
    page = signed_in("finance").get(f"/orders/{phone_order.pk}/").content.decode()
    assert f'hx-get="/orders/{phone_order.pk}/refunds/"' in page
    assert "/refunds/new/" not in page


def test_the_timeline_shows_each_delivery_with_its_attempts(phone_order, signed_in):
    Delivery.objects.create(
        platform="square", kind="inject_order", subject_key=f"inject:square:{phone_order.pk}",
        location=phone_order.location, order_id=phone_order.pk, status="done", attempts=2,
        next_attempt_at=timezone.now(), done_at=timezone.now(), external_ref="SQ-ORDER-1",
        history=[{"at": timezone.now().isoformat(), "attempt": 1, "ok": False, "error": "HTTP 503"},
                 {"at": timezone.now().isoformat(), "attempt": 2, "ok": True}])
    html = signed_in("customer_service").get(f"/orders/{phone_order.pk}/timeline/").content.decode()
    assert "Placed" in html and "Accepted" in html
    assert "Sent to Square" in html and "2 attempts" in html and "SQ-ORDER-1" in html
    assert "failed: HTTP 503" in html


def test_ready_then_fulfil_through_the_order_services(phone_order, signed_in):
    client = signed_in("store_manager", "OAK")
    assert client.post(f"/orders/{phone_order.pk}/ready/").status_code == 302
    assert client.post(f"/orders/{phone_order.pk}/fulfill/").status_code == 302
    phone_order.refresh_from_db()
    assert phone_order.status == "fulfilled"
    burrito = StockLevel.objects.get(location=phone_order.location, variant__sku="BURRITO")
    assert (burrito.on_hand, burrito.committed) == (48, 0)
    timeline = client.get(f"/orders/{phone_order.pk}/timeline/").content.decode()
    assert "Marked ready" in timeline and "Fulfilled" in timeline


# A refused move rolls back the service's transaction; outside a test transaction, as in production.
@pytest.mark.django_db(transaction=True)
def test_cancel_with_a_reason_is_audited_and_an_illegal_move_is_explained(phone_order, signed_in):
    client = signed_in("customer_service")
    client.post(f"/orders/{phone_order.pk}/cancel/", {"reason": "customer called"})
    phone_order.refresh_from_db()
    assert phone_order.status == "canceled"
    entry = AuditEntry.objects.get(action="order.canceled", object_id=str(phone_order.pk))
    assert entry.data == {"reason": "customer called"} and entry.actor_user.username == "customer_service-all"
    page = client.post(f"/orders/{phone_order.pk}/fulfill/", follow=True).content.decode()
    assert "is canceled; it cannot become fulfilled" in page
    timeline = client.get(f"/orders/{phone_order.pk}/timeline/").content.decode()
    assert "Canceled by customer_service-all" in timeline


def test_finance_reads_orders_but_moves_none(phone_order, signed_in):
    client = signed_in("finance")
    page = client.get(f"/orders/{phone_order.pk}/")
    assert page.status_code == 200 and b'data-action="ready"' not in page.content
    assert client.post(f"/orders/{phone_order.pk}/ready/").status_code == 403
    phone_order.refresh_from_db()
    assert phone_order.status == "accepted"


def test_anonymous_is_sent_to_sign_in_from_order_pages(phone_order):
    for path in ("/orders/", f"/orders/{phone_order.pk}/", f"/orders/{phone_order.pk}/timeline/"):
        response = Client().get(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/?next=")
