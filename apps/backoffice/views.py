"""The back-office shell: the dashboard, the exception queue, an order's timeline, the 404 page."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from apps.backoffice import selectors
from apps.connectors.services.delivery import retry_failed_delivery
from apps.connectors.services.operator import replay_inbound_event
from apps.core import roles
from apps.core.enums import Channel, ExceptionKind, ExceptionStatus
from apps.core.errors import DomainError, ValidationFailed, json_error_view
from apps.core.models import ExceptionItem
from apps.core.services import close_exception
from apps.inventory.access import may_at, permitted_location_ids, permitted_locations
from apps.inventory.models import Location
from apps.orders.views import order_within_reach
from apps.returns.services import approve_refund, complete_refund_part, reject_refund

_json_not_found = json_error_view(404, "not_found", "No such page.")
# Paths machines call: they get the API's JSON error shape, people get a page.
MACHINE_PREFIXES = ("/api/", "/webhooks/", "/metrics", "/healthz")


def not_found(request, exception=None):
    if request.path.startswith(MACHINE_PREFIXES):
        return _json_not_found(request, exception)
    return render(request, "404.html", status=404)


@require_GET
@roles.capability_required(roles.VIEW_DASHBOARD)
def dashboard(request):
    """Today's sales, sync health and open exceptions; htmx polls the figures partial."""
    locations = list(permitted_locations(request.user, roles.VIEW_DASHBOARD))
    codes = location_codes_within_reach(request.user, roles.VIEW_DASHBOARD)
    context = {
        "sales": selectors.todays_sales(locations),
        "health": selectors.sync_health(),
        "exceptions_by_kind": selectors.open_exceptions_by_kind(codes),
        "channels": Channel.choices,
        "can_work_exceptions": roles.can(request.user, roles.WORK_EXCEPTIONS),
        # finance works its variances on the reconciliation page, not in the exception queue
        "can_view_reports": roles.can(request.user, roles.VIEW_REPORTS),
    }
    template = "backoffice/dashboard.html#figures" if request.htmx else "backoffice/dashboard.html"
    return render(request, template, context)


def location_codes_within_reach(user, capability: str) -> list[str] | None:
    """The codes of the locations `user` reaches with `capability`; None for all of them."""
    if permitted_location_ids(user, capability) is None:
        return None
    return list(permitted_locations(user, capability).values_list("code", flat=True))


@require_GET
@roles.capability_required(roles.VIEW_ORDERS)
def order_timeline(request, order_id: int):
    """The order page's timeline (a partial it loads and refreshes): it reads the sync
    engine's deliveries, which the orders app may not import."""
    order = order_within_reach(request.user, order_id)
    return render(request, "backoffice/order_timeline.html", {
        "order": order, "location": order.location, "entries": selectors.order_timeline(order)})


# ---------------------------------------------------------------- the exception queue

EXCEPTION_ACTIONS = {"retry": "retried", "resolve": "resolved", "ignore": "ignored"}
# On one refund exception's page: decide a refund waiting for approval, or record that a
# manual refund was made (each through returns.services, which audits it).
REFUND_ACTIONS = {"approve": "approved", "reject": "rejected", "mark_refunded": "marked refunded"}
REFUND_DECISIONS = {
    ExceptionKind.APPROVAL_REQUIRED: "Approve or reject the refund on its page; that closes this exception.",
    ExceptionKind.MANUAL_REFUND_REQUIRED: "Mark the refund refunded on its page once it is done; that closes "
                                          "this exception.",
}


def _exception_codes(user) -> list[str] | None:
    return location_codes_within_reach(user, roles.WORK_EXCEPTIONS)


def _exception_within_reach(user, exception_id: int) -> ExceptionItem:
    """The exception, once the user reaches its location (403 for one elsewhere or unknown)."""
    codes = _exception_codes(user)
    item = selectors.exceptions_within(codes).filter(pk=exception_id).first()
    if item is None:
        if codes is not None:
            raise PermissionDenied("This exception is not one of your stores'.")
        raise Http404("No such exception.")
    return item


@require_http_methods(["GET", "POST"])
@roles.capability_required(roles.WORK_EXCEPTIONS)
def exception_list(request):
    """The queue, filtered; htmx refreshes its rows, and a POST acts on the ticked ones."""
    if request.method == "POST":
        _act_in_bulk(request)
        return redirect(request.get_full_path())
    codes = _exception_codes(request.user)
    filters = {"kind": request.GET.get("kind", ""), "location": request.GET.get("location", ""),
               "search": request.GET.get("q", "").strip(),
               "status": request.GET.get("status", ExceptionStatus.OPEN)}
    items = selectors.exception_queue(location_codes=codes, **filters)
    page = Paginator(items, 50).get_page(request.GET.get("page"))
    context = {"page": page, **filters, "kinds": ExceptionKind.choices, "statuses": ExceptionStatus.choices,
               "locations": permitted_locations(request.user, roles.WORK_EXCEPTIONS)}
    template = "backoffice/exception_list.html#rows" if request.htmx else "backoffice/exception_list.html"
    return render(request, template, context)


def _act_in_bulk(request) -> None:
    action, reason = request.POST.get("action", ""), request.POST.get("reason", "").strip()
    ids = [int(value) for value in request.POST.getlist("ids") if value.isdigit()]
    if action not in EXCEPTION_ACTIONS or not ids:
        messages.error(request, "Tick at least one exception and choose what to do.")
        return
    done, refused = 0, []
    for exception_id in ids:
        try:
            _act_on_exception(request, _exception_within_reach(request.user, exception_id), action, reason)
            done += 1
        except (DomainError, PermissionDenied, Http404) as error:
            refused.append(f"#{exception_id}: {getattr(error, 'detail', None) or error}")
    if done:
        messages.success(request, f"{done} exception{'s' if done != 1 else ''} {EXCEPTION_ACTIONS[action]}.")
    for line in refused:
        messages.error(request, line)


def _act_on_exception(request, item: ExceptionItem, action: str, reason: str) -> None:
    """Retry a failed delivery, or resolve / ignore with a reason: each service audits it."""
    who = {"user": request.user, "actor_label": request.user.username}
    if action == "retry":
        _retry(request, item)
        return
    if item.kind in REFUND_DECISIONS:
        # Closing it would leave its refund waiting for ever: the refund is decided instead.
        raise ValidationFailed(REFUND_DECISIONS[item.kind])
    if not reason:
        raise ValidationFailed("Say why (a reason is kept in the audit log).", field="reason")
    status = ExceptionStatus.RESOLVED if action == "resolve" else ExceptionStatus.IGNORED
    close_exception(exception_id=item.pk, status=status, reason=reason, **who)


def _retry(request, item: ExceptionItem) -> None:
    """A failed delivery is sent again; a failed inbound event is applied again, with the
    payload a person corrected on the page when they did."""
    who = {"user": request.user}
    if item.kind == ExceptionKind.DELIVERY_FAILED:
        retry_failed_delivery(exception_id=item.pk, actor_label=request.user.username, **who)
    elif item.kind == ExceptionKind.INBOUND_FAILED and item.data.get("inbound_event_id"):
        replay_inbound_event(event_id=item.data["inbound_event_id"], payload=_edited_payload(request), **who)
    else:
        raise ValidationFailed("Only a failed delivery or inbound event can be retried; resolve or "
                               "ignore this one.")


def _edited_payload(request) -> dict | None:
    text = request.POST.get("payload")
    if text is None:
        return None
    try:
        payload = json.loads(text)
    except ValueError as error:
        raise ValidationFailed(f"This is not JSON: {error}.", field="payload") from None
    if not isinstance(payload, dict):
        raise ValidationFailed("The payload is a JSON object ({...}).", field="payload")
    return payload


@require_http_methods(["GET", "POST"])
@roles.capability_required(roles.WORK_EXCEPTIONS)
def exception_detail(request, exception_id: int):
    item = _exception_within_reach(request.user, exception_id)
    error = None
    if request.method == "POST":
        action = request.POST.get("action", "")
        done = {**EXCEPTION_ACTIONS, **REFUND_ACTIONS}.get(action)
        if done is None:
            return HttpResponseBadRequest("Unknown action.")
        try:
            if action in REFUND_ACTIONS:
                _act_on_refund(request, item, action)
            else:
                _act_on_exception(request, item, action, request.POST.get("reason", "").strip())
        except DomainError as refused:
            error = refused
        else:
            messages.success(request, f"Exception #{item.pk}: refund {done}." if action in REFUND_ACTIONS
                             else f"Exception #{item.pk} {done}.")
            return redirect("backoffice:exception", exception_id=item.pk)
    context = selectors.exception_context(item)
    return render(request, "backoffice/exception_detail.html", {
        "item": item, "error": error, "payload": _pretty(item.data), **context,
        "can_approve": _may_approve(request.user, item),
        "event_payload": _pretty(context["inbound_event"].payload) if context["inbound_event"] else ""})


def _may_approve(user, item: ExceptionItem) -> bool:
    location_id = Location.objects.filter(code=item.location_code).values_list("pk", flat=True).first()
    if location_id is None:
        return roles.reach(user, roles.APPROVE_REFUNDS) is roles.Reach.EVERYWHERE
    return may_at(user, roles.APPROVE_REFUNDS, location_id)


def _act_on_refund(request, item: ExceptionItem, action: str) -> None:
    """Approve or reject the refund an approval_required exception holds (managers of its
    store and admins), or mark a manual_refund_required part refunded with the reference
    staff give (whoever works the exception)."""
    data = item.data if isinstance(item.data, dict) else {}
    who = request.user.username
    if item.status != ExceptionStatus.OPEN:
        raise ValidationFailed("This exception is closed already.")
    if action == "mark_refunded":
        if item.kind != ExceptionKind.MANUAL_REFUND_REQUIRED or not data.get("part_id"):
            raise ValidationFailed("Only a manual refund can be marked refunded.")
        reference = request.POST.get("reference", "").strip()
        if not reference:
            raise ValidationFailed("Say where it was refunded (a POS receipt, the processor's refund id).",
                                   field="reference")
        complete_refund_part(part_id=data["part_id"], reference=reference, actor=who)
        return
    if item.kind != ExceptionKind.APPROVAL_REQUIRED or not data.get("refund_id"):
        raise ValidationFailed("Only a refund waiting for approval can be approved or rejected.")
    if not _may_approve(request.user, item):
        raise PermissionDenied("Your role does not approve refunds here.")
    if action == "approve":
        approve_refund(refund_id=data["refund_id"], actor=who)
        return
    reason = request.POST.get("reason", "").strip()
    if not reason:
        raise ValidationFailed("Say why the refund is rejected (the customer service agent reads it).",
                               field="reason")
    reject_refund(refund_id=data["refund_id"], actor=who, reason=reason)


def _pretty(data) -> str:
    return json.dumps(data, indent=2, sort_keys=True, default=str)
