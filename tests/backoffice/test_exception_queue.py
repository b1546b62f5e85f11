"""The exception queue: each location's fence, retry, resolve and ignore with a reason, in bulk."""

import json

import pytest
from django.utils import timezone

from apps.connectors.models import Delivery
from apps.core.models import AuditEntry, ExceptionItem
from apps.core.services import open_exception, resolve_exceptions_by_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def queue(stores):
    oak = open_exception(kind="oversold", title="Burrito oversold at OAK", location_code="OAK",
                         dedupe_key="oversold:oak", data={"order_id": None, "sku": "BURRITO"})
    bkn = open_exception(kind="stock_drift", title="Drift at BKN", location_code="BKN",
                         dedupe_key="drift:bkn")
    anywhere = open_exception(kind="unmapped_sku", title="Unknown item on Shopify", dedupe_key="unmapped:x")
    return type("Queue", (), {"oak": oak, "bkn": bkn, "anywhere": anywhere})


@pytest.fixture
def failed_delivery(stores):
    delivery = Delivery.objects.create(
        platform="square", kind="inject_order", subject_key="inject:square:77", location=stores.oak,
        order_id=None, status="failed", attempts=10, next_attempt_at=timezone.now(),
        history=[{"at": timezone.now().isoformat(), "attempt": 10, "ok": False, "error": "HTTP 500 boom"}])
    item = open_exception(kind="delivery_failed", title="Send order to Square failed", location_code="OAK",
                          platform="square", dedupe_key="delivery:inject:square:77",
                          data={"delivery_id": delivery.pk, "kind": "inject_order"})
    return delivery, item


def listed(response) -> set[int]:
    return {item.pk for item in response.context["page"]}


def test_a_store_manager_sees_and_opens_only_their_stores_exceptions(queue, signed_in):
    client = signed_in("store_manager", "OAK")
    assert listed(client.get("/exceptions/")) == {queue.oak.pk}
    assert client.get(f"/exceptions/{queue.oak.pk}/").status_code == 200
    assert client.get(f"/exceptions/{queue.bkn.pk}/").status_code == 403
    assert client.get(f"/exceptions/{queue.anywhere.pk}/").status_code == 403
    assert client.post(f"/exceptions/{queue.bkn.pk}/", {"action": "ignore", "reason": "x"}).status_code == 403
    assert ExceptionItem.objects.get(pk=queue.bkn.pk).status == "open"


def test_customer_service_sees_every_exception_and_filters_them(queue, signed_in):
    client = signed_in("customer_service")
    assert listed(client.get("/exceptions/")) == {queue.oak.pk, queue.bkn.pk, queue.anywhere.pk}
    assert listed(client.get("/exceptions/", {"kind": "stock_drift"})) == {queue.bkn.pk}
    assert listed(client.get("/exceptions/", {"location": "OAK"})) == {queue.oak.pk}


def test_finance_has_no_exception_queue(queue, signed_in):
    client = signed_in("finance")
    assert client.get("/exceptions/").status_code == 403
    assert client.get(f"/exceptions/{queue.oak.pk}/").status_code == 403


def test_resolving_needs_a_reason_next_to_the_field(queue, signed_in):
    client = signed_in("store_manager", "OAK")
    response = client.post(f"/exceptions/{queue.oak.pk}/", {"action": "resolve", "reason": " "})
    assert response.status_code == 200
    assert 'class="field-error">Say why (a reason is kept in the audit log).' in response.content.decode()
    assert ExceptionItem.objects.get(pk=queue.oak.pk).status == "open"


def test_ignore_with_a_reason_is_audited_and_leaves_the_open_list(queue, signed_in):
    client = signed_in("store_manager", "OAK")
    response = client.post(f"/exceptions/{queue.oak.pk}/", {"action": "ignore", "reason": "test sale"})
    assert response.status_code == 302
    item = ExceptionItem.objects.get(pk=queue.oak.pk)
    assert (item.status, item.close_reason) == ("ignored", "test sale")
    assert item.closed_by.username == "store_manager-OAK"
    assert AuditEntry.objects.filter(action="exception.ignored", object_id=str(item.pk)).count() == 1
    assert listed(client.get("/exceptions/")) == set()
    assert listed(client.get("/exceptions/", {"status": "ignored"})) == {item.pk}


def test_retry_sends_the_delivery_again_and_success_resolves_it(failed_delivery, signed_in):
    delivery, item = failed_delivery
    client = signed_in("store_manager", "OAK")
    page = client.get(f"/exceptions/{item.pk}/").content.decode()
    assert "HTTP 500 boom" in page and 'id="retry"' in page
    assert client.post(f"/exceptions/{item.pk}/", {"action": "retry"}).status_code == 302
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 0)
    assert AuditEntry.objects.filter(action="delivery.retried", object_id=str(delivery.pk)).count() == 1
    assert "delivery.retried by store_manager-OAK" in client.get(f"/exceptions/{item.pk}/").content.decode()
    assert listed(client.get("/exceptions/")) == {item.pk}

    resolve_exceptions_by_key(dedupe_key="delivery:inject:square:77", reason="delivery succeeded")

    rows = client.get("/exceptions/", HTTP_HX_REQUEST="true").content.decode()
    assert rows.lstrip().startswith('<tbody id="exception-rows"') and "<html" not in rows
    assert f'data-exception="{item.pk}"' not in rows and "Nothing here" in rows


def test_only_a_failed_delivery_or_inbound_event_can_be_retried(queue, signed_in):
    response = signed_in("admin").post(f"/exceptions/{queue.oak.pk}/", {"action": "retry"})
    assert "Only a failed delivery or inbound event can be retried" in response.content.decode()
    assert ExceptionItem.objects.get(pk=queue.oak.pk).status == "open"


def test_bulk_resolve_acts_on_those_in_reach_and_says_which_were_refused(queue, signed_in):
    client = signed_in("store_manager", "OAK")
    oak_two = open_exception(kind="oversold", title="Taco oversold", location_code="OAK", dedupe_key="o2")
    response = client.post("/exceptions/", {"action": "resolve", "reason": "recounted",
                                            "ids": [queue.oak.pk, oak_two.pk, queue.bkn.pk]}, follow=True)
    statuses = dict(ExceptionItem.objects.values_list("pk", "status"))
    assert (statuses[queue.oak.pk], statuses[oak_two.pk], statuses[queue.bkn.pk]) == (
        "resolved", "resolved", "open")
    html = response.content.decode()
    assert "2 exceptions resolved." in html and f"#{queue.bkn.pk}: This exception is not one of your" in html
    assert AuditEntry.objects.filter(action="exception.resolved").count() == 2


def test_bulk_without_a_reason_resolves_nothing(queue, signed_in):
    client = signed_in("admin")
    response = client.post("/exceptions/", {"action": "ignore", "ids": [queue.oak.pk]}, follow=True)
    assert "Say why" in response.content.decode()
    assert ExceptionItem.objects.get(pk=queue.oak.pk).status == "open"


@pytest.fixture
def square_counts_event(stores, settings):
    """A Square inventory webhook for OAK that arrived without its counts (no `object`)."""
    from apps.connectors.models import ExternalMapping, InboundEvent, PlatformConnection
    from apps.connectors.services.intake import process_inbound_event

    for name in ("SQUARE_BASE_URL", "SQUARE_ACCESS_TOKEN", "SQUARE_WEBHOOK_SIGNATURE_KEY",
                 "SQUARE_WEBHOOK_URL"):
        setattr(settings, name, "http://127.0.0.1:9/square")
    PlatformConnection.objects.create(platform="square", location=stores.oak, external_location_id="L-OAK")
    ExternalMapping.objects.create(platform="square", kind="variant", variant=stores.shop.taco,
                                   external_id="sq-TACO")
    event = InboundEvent.objects.create(
        platform="square", event_id="e-1", topic="inventory.count.updated", body=b"{}", verified=True,
        payload={"event_id": "e-1", "type": "inventory.count.updated", "data": {"id": "x"}})
    process_inbound_event(event.pk)
    item = ExceptionItem.objects.get(kind="inbound_failed")
    return event, item


def test_a_failed_inbound_event_is_corrected_and_applied_again_from_the_queue(square_counts_event, signed_in):
    from apps.connectors.models import InboundEvent

    event, item = square_counts_event
    client = signed_in("customer_service")
    page = client.get(f"/exceptions/{item.pk}/").content.decode()
    assert 'id="replay-form"' in page and "inventory.count.updated" in page

    not_json = client.post(f"/exceptions/{item.pk}/", {"action": "retry", "payload": "{oops"})
    assert 'class="field-error">This is not JSON' in not_json.content.decode()
    assert InboundEvent.objects.get(pk=event.pk).payload == event.payload

    corrected = {**event.payload, "data": {"id": "x", "object": {"inventory_counts": [
        {"state": "IN_STOCK", "location_id": "L-OAK", "catalog_object_id": "sq-TACO", "quantity": "38",
         "calculated_at": "2026-12-01T10:00:00Z"}]}}}
    response = client.post(f"/exceptions/{item.pk}/", {"action": "retry", "payload": json.dumps(corrected)})
    assert response.status_code == 302
    event.refresh_from_db()
    assert (event.status, event.payload, event.body) == ("processed", corrected, b"{}")
    assert ExceptionItem.objects.get(pk=item.pk).status == "resolved"
    assert list(AuditEntry.objects.filter(object_type="InboundEvent").values_list("action", flat=True)
                .order_by("id")) == ["inbound_event.amended", "inbound_event.replayed"]
