"""send_refund_part: what a refund delivery asks of the adapter and what the answer does."""

import pytest
from django.utils import timezone

from apps.connectors.adapters import RefundResult
from apps.connectors.enums import DeliveryKind
from apps.connectors.models import Delivery, PlatformConnection
from apps.connectors.services import refunds
from apps.connectors.services.routing import refund_subject
from apps.inventory.models import Location
from apps.returns.services import refund_order
from tests.returns.conftest import register_sale

pytestmark = pytest.mark.django_db


class FakeAdapter:
    def __init__(self, answer: RefundResult):
        self.answer = answer
        self.calls = []

    def refund_payment(self, request, *, retrying=True):
        self.calls.append((request, retrying))
        return self.answer


@pytest.fixture
def part(shop):
    order = register_sale(platform="shopify", source_name="Shopify")
    return refund_order(order_id=order.pk, amount=300, reason="late").parts.get()


def delivery_of(part, **fields) -> tuple[PlatformConnection, Delivery]:
    oakland = Location.objects.get(code="OAK")
    link = PlatformConnection.objects.create(platform="shopify", location=oakland, external_location_id="77")
    delivery = Delivery.objects.create(
        platform="shopify", kind=DeliveryKind.REFUND_PART, location=oakland, status="in_flight",
        subject_key=refund_subject("shopify", part.pk), order_id=part.refund.order_id,
        next_attempt_at=timezone.now(), **fields)
    return link, delivery


def test_the_first_attempt_sends_the_part_with_its_marker_and_key_and_completes_it(part, monkeypatch):
    adapter = FakeAdapter(RefundResult("R-1", "completed"))
    monkeypatch.setattr(refunds, "adapter_for", lambda link: adapter)
    link, delivery = delivery_of(part, attempts=1)

    refunds.send_refund_part(link, delivery)

    [(request, retrying)] = adapter.calls
    assert retrying is False
    assert (request.marker, request.idempotency_key) == (f"concord-refund-part:{part.pk}",
                                                         f"concord-refund-part-{part.pk}")
    assert (request.payment_reference, request.amount, request.currency) == ("shopify-pay-1", 300, "USD")
    assert request.reason == f"Concord refund #{part.refund_id}: late"
    part.refresh_from_db()
    delivery.refresh_from_db()
    assert (part.status, part.reference, part.refund.status) == ("completed", "R-1", "completed")
    assert (delivery.status, delivery.external_ref) == ("done", "R-1")


def test_a_delivery_retried_by_a_person_from_a_fresh_budget_still_looks_for_its_first_attempt(part,
                                                                                              monkeypatch):
    adapter = FakeAdapter(RefundResult("R-1", "pending", already=True))
    monkeypatch.setattr(refunds, "adapter_for", lambda link: adapter)
    link, delivery = delivery_of(part, attempts=1, history=[{"attempt": 10, "ok": False, "error": "timeout"}])

    refunds.send_refund_part(link, delivery)

    assert [retrying for _, retrying in adapter.calls] == [True]
    part.refresh_from_db()
    assert (part.status, part.reference) == ("sent", "R-1")


def test_a_part_the_platform_already_answered_is_not_sent_again(part, monkeypatch):
    adapter = FakeAdapter(RefundResult("R-2", "completed"))
    monkeypatch.setattr(refunds, "adapter_for", lambda link: adapter)
    refunds.mark_refund_part_sent(part_id=part.pk, reference="R-1")  # its webhook came first
    link, delivery = delivery_of(part, attempts=2)

    refunds.send_refund_part(link, delivery)

    assert adapter.calls == []
    delivery.refresh_from_db()
    assert (delivery.status, delivery.external_ref) == ("done", "R-1")
