"""The order page's return and refund form (preview, then confirm, through returns.services),
each refund's parts on the page and the timeline, and the refund exceptions' actions:
approve / reject a refund above the limit, mark a manual refund refunded."""

import re

import pytest

from apps.core.enums import ExceptionKind, ExceptionStatus
from apps.core.models import AuditEntry, ExceptionItem
from apps.inventory.models import StockLevel
from apps.returns.enums import RefundPartStatus, RefundStatus
from apps.returns.models import Refund
from apps.returns.services import ReturnLineInput, preview_refund, refund_order
from tests.helpers import post_order, simple_order
from tests.returns.conftest import register_sale

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def form_data(**fields):
    """The refund form as a person fills it: nothing returned unless said."""
    data = {"kind": "lines", "amount": "", "return_location": "OAK", "reason": "damaged",
            "line_1_quantity": "0"}
    data.update({name: str(value) for name, value in fields.items()})
    return data


def field_errors(html: str, field: str) -> list[str]:
    return re.findall(rf'<p class="field-error" id="id_{field}-error">([^<]*)</p>', html)


@pytest.fixture
def cs(signed_in, stores):
    return signed_in("customer_service")


@pytest.fixture
def square_sale(stores):
    return register_sale(quantity=3, tax=115)  # 1240 on one Square card


class TestPreviewThenConfirm:
    def test_the_preview_shows_the_split_and_writes_nothing(self, cs, square_sale):
        url = f"/orders/{square_sale.pk}/refunds/new/"
        answer = cs.post(url, form_data(step="preview", line_1_quantity=2, line_1_restock="on"), **HTMX)

        assert answer.status_code == 200
        html = answer.content.decode()
        assert 'id="refund-preview"' in html
        assert "Refund $8.27" in html  # 2 of 3 units of a 1240 line
        assert "back to the card through Square" in html
        assert 'id="confirm-refund"' in html
        assert Refund.objects.count() == 0
        square_sale.refresh_from_db()
        assert square_sale.refunded_amount == 0

    def test_confirming_refunds_what_the_preview_showed_once(self, cs, square_sale, shop):
        url = f"/orders/{square_sale.pk}/refunds/new/"
        before = StockLevel.objects.get(location=shop.oak, variant=shop.taco).on_hand
        preview = cs.post(url, form_data(step="preview", line_1_quantity=2, line_1_restock="on"), **HTMX)
        token = re.search(r'name="token" value="([0-9a-f]+)"', preview.content.decode()).group(1)
        confirm = form_data(step="confirm", token=token, line_1_quantity=2, line_1_restock="True")

        first = cs.post(url, confirm, **HTMX)
        again = cs.post(url, confirm, **HTMX)  # a double click: the same refund

        assert first.status_code == again.status_code == 204
        assert first["HX-Redirect"] == f"/orders/{square_sale.pk}/"
        refund = Refund.objects.get()
        assert (refund.amount, refund.status, refund.actor, refund.reason) == (
            827, RefundStatus.PENDING, "customer_service-all", "damaged")
        assert [(p.amount, p.platform, p.status) for p in refund.parts.all()] == [
            (827, "square", RefundPartStatus.PENDING)]
        assert StockLevel.objects.get(location=shop.oak, variant=shop.taco).on_hand == before + 2

    def test_the_refund_shows_with_its_parts_and_polls_while_a_part_waits(self, cs, square_sale):
        refund = refund_order(order_id=square_sale.pk, lines=[ReturnLineInput(1, 1)], actor="cs")

        html = cs.get(f"/orders/{square_sale.pk}/refunds/").content.decode()

        assert f'data-refund="{refund.pk}"' in html and 'data-part-status="pending"' in html
        assert 'hx-trigger="every 2s"' in html
        refund.parts.update(status=RefundPartStatus.COMPLETED)
        Refund.objects.filter(pk=refund.pk).update(status=RefundStatus.COMPLETED)
        html = cs.get(f"/orders/{square_sale.pk}/refunds/").content.decode()
        assert 'data-part-status="completed"' in html and "every 2s" not in html

    def test_the_timeline_shows_the_refund(self, cs, square_sale):
        refund = refund_order(order_id=square_sale.pk, amount=500, reason="goodwill", actor="sam")

        html = cs.get(f"/orders/{square_sale.pk}/timeline/").content.decode()

        assert f"Refund #{refund.pk} of $5.00 by sam: pending" in html
        assert "money alone" in html and "$5.00 to Card: pending" in html

    def test_the_preview_is_what_refund_order_then_does(self, square_sale):
        previewed = preview_refund(order_id=square_sale.pk, lines=[ReturnLineInput(1, 2)])
        made = refund_order(order_id=square_sale.pk, lines=[ReturnLineInput(1, 2)])

        assert previewed.amount == made.amount
        assert [(p.payment.pk, p.amount) for p in previewed.parts] == [
            (p.payment_id, p.amount) for p in made.parts.all()]
        assert [(p.order_line.pk, p.quantity, p.amount) for p in previewed.lines] == [
            (line.order_line_id, line.quantity, line.amount) for line in made.lines.all()]


class TestValidation:
    def test_nothing_returned_says_so_next_to_the_line(self, cs, square_sale):
        html = cs.post(f"/orders/{square_sale.pk}/refunds/new/", form_data(step="preview"),
                       **HTMX).content.decode()
        assert field_errors(html, "line_1_quantity") == [
            "Enter how many units come back on at least one line."]

    def test_more_units_than_are_left_is_refused_next_to_the_line(self, cs, square_sale):
        refund_order(order_id=square_sale.pk, lines=[ReturnLineInput(1, 2)])
        html = cs.post(f"/orders/{square_sale.pk}/refunds/new/", form_data(step="preview", line_1_quantity=2),
                       **HTMX).content.decode()
        assert field_errors(html, "line_1_quantity") == ["Line 1 has 1 units left to refund."]

    def test_an_amount_above_what_is_refundable_is_the_services_refusal_next_to_the_amount(
            self, cs, square_sale):
        html = cs.post(f"/orders/{square_sale.pk}/refunds/new/",
                       form_data(step="preview", kind="amount", amount="12.41"), **HTMX).content.decode()
        assert field_errors(html, "amount") == ["Only $12.40 is left to refund."]
        assert 'id="confirm-refund"' not in html

    def test_an_amount_that_is_not_money_is_refused(self, cs, square_sale):
        html = cs.post(f"/orders/{square_sale.pk}/refunds/new/",
                       form_data(step="preview", kind="amount", amount="ten"), **HTMX).content.decode()
        assert field_errors(html, "amount") == ["Enter an amount like 12.50."]

    def test_restocking_units_that_never_left_is_refused_next_to_restock(self, cs, phone):
        cash = {"type": "cash", "amount": {"amount": 1900, "currency": "USD"}}
        placed = post_order(phone, {**simple_order(quantity=2), "tenders": [cash]})
        html = cs.post(f"/orders/{placed.json()['id']}/refunds/new/",
                       form_data(step="preview", line_1_quantity=1, line_1_restock="on"),
                       **HTMX).content.decode()
        [error] = field_errors(html, "line_1_restock")
        assert error.startswith("The order&#x27;s units never left stock")

    def test_a_reason_is_required(self, cs, square_sale):
        html = cs.post(f"/orders/{square_sale.pk}/refunds/new/",
                       form_data(step="preview", line_1_quantity=1, reason=""), **HTMX).content.decode()
        assert field_errors(html, "reason") == ["This field is required."]


class TestApproval:
    @pytest.fixture
    def big_sale(self, stores):
        return register_sale(external_id="big", quantity=80)  # 30,000 > the 20,000 limit

    def test_customer_service_above_the_limit_waits_and_the_page_says_so(self, cs, big_sale):
        url = f"/orders/{big_sale.pk}/refunds/new/"
        preview = cs.post(url, form_data(step="preview", kind="amount", amount="250"),
                          **HTMX).content.decode()
        assert "will await approval" in preview
        token = re.search(r'name="token" value="([0-9a-f]+)"', preview).group(1)
        cs.post(url, form_data(step="confirm", kind="amount", amount="250", token=token), **HTMX)

        refund = Refund.objects.get()
        assert refund.status == RefundStatus.AWAITING_APPROVAL
        html = cs.get(f"/orders/{big_sale.pk}/refunds/").content.decode()
        assert "Awaiting approval" in html and "open the approval" in html
        assert "waits for approval" in html and "every 2s" not in html  # nothing is sent until decided

    def test_an_admin_above_the_limit_does_not_wait(self, signed_in, big_sale):
        admin = signed_in("admin")
        url = f"/orders/{big_sale.pk}/refunds/new/"
        admin.post(url, form_data(step="confirm", kind="amount", amount="250", token="a1"), **HTMX)
        assert Refund.objects.get().status == RefundStatus.PENDING  # sent to Square, not waiting

    def _waiting(self, order):
        refund = refund_order(order_id=order.pk, amount=25_000, actor="sam", actor_role="customer_service")
        return refund, ExceptionItem.objects.get(kind=ExceptionKind.APPROVAL_REQUIRED)

    def test_a_manager_of_the_store_approves_it_and_it_is_carried_out(self, signed_in, big_sale):
        refund, item = self._waiting(big_sale)
        manager = signed_in("store_manager", "OAK")

        page = manager.get(f"/exceptions/{item.pk}/").content.decode()
        assert 'id="approve-refund"' in page
        answer = manager.post(f"/exceptions/{item.pk}/", {"action": "approve"})

        assert answer.status_code == 302
        refund.refresh_from_db()
        item.refresh_from_db()
        assert (refund.status, refund.decided_by, item.status) == (
            RefundStatus.PENDING, "store_manager-OAK", ExceptionStatus.RESOLVED)
        assert AuditEntry.objects.filter(action="refund.approved", object_id=str(refund.pk)).exists()
        page = manager.get(f"/exceptions/{item.pk}/").content.decode()
        assert "refund.approved by store_manager-OAK" in page

    def test_rejecting_needs_a_reason_and_releases_the_claim(self, signed_in, big_sale):
        refund, item = self._waiting(big_sale)
        admin = signed_in("admin")

        refused = admin.post(f"/exceptions/{item.pk}/", {"action": "reject", "reason": ""})
        assert refused.status_code == 200
        assert 'id="reject-reason-error"' in refused.content.decode()
        admin.post(f"/exceptions/{item.pk}/", {"action": "reject", "reason": "outside the policy"})

        refund.refresh_from_db()
        big_sale.refresh_from_db()
        assert (refund.status, big_sale.refunded_amount) == (RefundStatus.REJECTED, 0)
        timeline = admin.get(f"/orders/{big_sale.pk}/timeline/").content.decode()
        assert f"Refund #{refund.pk} rejected by" in timeline and "outside the policy" in timeline

    def test_customer_service_sees_it_but_cannot_approve(self, cs, big_sale):
        refund, item = self._waiting(big_sale)
        page = cs.get(f"/exceptions/{item.pk}/").content.decode()
        assert 'id="approve-refund"' not in page
        assert cs.post(f"/exceptions/{item.pk}/", {"action": "approve"}).status_code == 403
        refund.refresh_from_db()
        assert refund.status == RefundStatus.AWAITING_APPROVAL


    def test_resolving_it_instead_of_deciding_is_refused_one_by_one_and_in_bulk(self, signed_in, big_sale):
        refund, item = self._waiting(big_sale)
        admin = signed_in("admin")

        one = admin.post(f"/exceptions/{item.pk}/", {"action": "resolve", "reason": "done"})
        admin.post("/exceptions/", {"action": "ignore", "reason": "noise", "ids": [item.pk]})

        assert "Approve or reject the refund on its page" in one.content.decode()
        item.refresh_from_db()
        refund.refresh_from_db()
        assert (item.status, refund.status) == (ExceptionStatus.OPEN, RefundStatus.AWAITING_APPROVAL)


class TestManualRefund:
    def test_a_toast_card_part_is_marked_refunded_with_the_reference_staff_give(self, signed_in, stores):
        order = register_sale(external_id="toast-1", platform="toast", source_name="Toast")
        refund = refund_order(order_id=order.pk, amount=300, actor="cs")
        part = refund.parts.get()
        assert part.status == RefundPartStatus.MANUAL_REQUIRED
        item = ExceptionItem.objects.get(kind=ExceptionKind.MANUAL_REFUND_REQUIRED)
        manager = signed_in("store_manager", "OAK")

        missing = manager.post(f"/exceptions/{item.pk}/", {"action": "mark_refunded", "reference": " "})
        assert 'id="reference-error"' in missing.content.decode()
        manager.post(f"/exceptions/{item.pk}/", {"action": "mark_refunded", "reference": "toast-receipt-77"})

        part.refresh_from_db()
        refund.refresh_from_db()
        item.refresh_from_db()
        assert (part.status, part.reference) == (RefundPartStatus.COMPLETED, "toast-receipt-77")
        assert (refund.status, item.status) == (RefundStatus.COMPLETED, ExceptionStatus.RESOLVED)

    def test_the_order_page_links_a_manual_part_to_its_exception(self, cs, stores):
        order = register_sale(external_id="toast-2", platform="toast", source_name="Toast")
        refund_order(order_id=order.pk, amount=300, actor="cs")
        item = ExceptionItem.objects.get(kind=ExceptionKind.MANUAL_REFUND_REQUIRED)
        html = cs.get(f"/orders/{order.pk}/refunds/").content.decode()
        assert f'href="/exceptions/{item.pk}/" class="mark-refunded"' in html
        assert 'data-part-status="manual_required"' in html
