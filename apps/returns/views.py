"""The order page's refunds: the return and refund form (a preview of what goes back where,
then a confirmation) and each refund with its parts' status. Every write goes through
returns.services, the path the API takes; the server checks who may refund which order."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from apps.core import roles
from apps.core.enums import ApiRole, ExceptionStatus
from apps.core.errors import DomainError
from apps.core.models import ExceptionItem
from apps.inventory.access import may_at
from apps.inventory.models import Location
from apps.orders.enums import STORED_VALUE_TENDERS, TenderType
from apps.orders.views import order_within_reach
from apps.returns.enums import PLATFORMS_WITH_REFUND_API, RefundPartStatus, RefundStatus
from apps.returns.forms import RefundForm
from apps.returns.selectors import list_order_refunds, refundable_amount
from apps.returns.services import (
    approval_exception_key,
    manual_refund_exception_key,
    preview_refund,
    refund_order,
)

# Parts whose status may still change by itself (the delivery engine, the platform's answer).
MOVING_PART_STATUSES = (RefundPartStatus.PENDING, RefundPartStatus.SENT)
ADMIN_ROLE = "admin"  # a refund asked for by an admin: no approval limit


@require_GET
@roles.capability_required(roles.VIEW_ORDERS)
def refund_list(request, order_id: int):
    """The order's refunds and their parts (a partial the order page loads; polled while a
    part still waits for a platform)."""
    order = order_within_reach(request.user, order_id)
    refunds = list_order_refunds(order.pk)
    # A refund waiting for approval sends nothing until it is decided: nothing to poll for.
    moving = any(part.status in MOVING_PART_STATUSES for refund in refunds
                 if refund.status == RefundStatus.PENDING for part in refund.parts.all())
    _attach_open_exceptions(refunds)
    return render(request, "returns/refund_list.html", {
        "order": order, "refunds": refunds, "moving": moving,
        "can_work_exceptions": may_at(request.user, roles.WORK_EXCEPTIONS, order.location_id)})


def _attach_open_exceptions(refunds) -> None:
    """`exception_id` on each refund waiting for approval and each part waiting for a person:
    the open exception where it is approved or marked refunded (one query for all)."""
    keys = {approval_exception_key(refund): refund for refund in refunds}
    keys |= {manual_refund_exception_key(part): part for refund in refunds for part in refund.parts.all()}
    rows = ExceptionItem.objects.filter(dedupe_key__in=list(keys), status=ExceptionStatus.OPEN)
    found = dict(rows.values_list("dedupe_key", "pk"))
    for key, obj in keys.items():
        obj.exception_id = found.get(key)


@require_http_methods(["GET", "POST"])
@roles.capability_required(roles.REFUND_ORDERS)
def refund_form(request, order_id: int):
    """GET: the empty form. POST step=preview: what the refund would give back and to which
    tender (nothing written). POST step=confirm: the refund, as previewed."""
    order = order_within_reach(request.user, order_id, roles.REFUND_ORDERS)
    lines = list(order.lines.all())
    data = request.POST if request.method == "POST" else None
    form = RefundForm(data, order=order, lines=lines, locations=Location.objects.filter(is_active=True))
    context = {"order": order, "form": form, "preview": None, "refundable": refundable_amount(order),
               "approval_limit": settings.REFUND_APPROVAL_LIMIT}
    if request.method == "POST" and form.is_valid():
        if request.POST.get("step") == "confirm":
            made = _confirm(request, form, order)
            if made is not None:
                return _back_to_order(request, order, made)
        else:
            preview = context["preview"] = _preview(request, form, order)
            context["token"] = uuid.uuid4().hex
            context["parts"] = [{"tender": part.payment.get_tender_type_display(), "amount": part.amount,
                                 "how": way_back(part.payment, part.points)}
                                for part in (preview.parts if preview else [])]
    template = "returns/refund_form.html" if request.htmx else "returns/refund_page.html"
    return render(request, template, context)


def way_back(payment, points: int = 0) -> str:
    """How a tender's part goes back, in the words of the refund path (services._give_back)."""
    if payment.tender_type in STORED_VALUE_TENDERS and payment.stored_value_account_id:
        return f"credit back on the {payment.get_tender_type_display().lower()}"
    if payment.tender_type == TenderType.LOYALTY:
        return f"{points} points back"
    if payment.tender_type == TenderType.CASH:
        return "cash payout from the drawer"
    if payment.platform in PLATFORMS_WITH_REFUND_API and payment.reference:
        return f"back to the card through {payment.platform.capitalize()}"
    where = payment.platform.capitalize() if payment.platform else "the register"
    return f"by hand at {where} (it goes to the exception queue)"


def refund_role(user) -> str:
    """The role a member of staff refunds with: an admin has no limit, everyone else refunds
    as customer service does through the API (above the limit it waits for approval)."""
    if roles.reach(user, roles.APPROVE_REFUNDS) is roles.Reach.EVERYWHERE:
        return ADMIN_ROLE
    return ApiRole.CUSTOMER_SERVICE


def _preview(request, form: RefundForm, order):
    try:
        return preview_refund(order_id=order.pk, lines=form.return_lines(), amount=form.amount_minor(),
                              actor_role=refund_role(request.user))
    except DomainError as error:
        form.add_service_error(error)
        return None


def _confirm(request, form: RefundForm, order):
    token = request.POST.get("token", "")[:64]
    try:
        return refund_order(
            order_id=order.pk, lines=form.return_lines(), amount=form.amount_minor(),
            reason=form.cleaned_data["reason"], return_location_id=form.return_location_id(),
            actor=request.user.username, actor_role=refund_role(request.user),
            idempotency_key=f"staff:{request.user.pk}:{token}" if token else "")
    except DomainError as error:
        form.add_service_error(error)
        return None


def _back_to_order(request, order, refund) -> HttpResponse:
    waits = " It waits for a manager's approval." if refund.status == RefundStatus.AWAITING_APPROVAL else ""
    messages.success(request, f"Refund #{refund.pk} recorded.{waits}")
    url = reverse("orders:detail", args=[order.pk])
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)
