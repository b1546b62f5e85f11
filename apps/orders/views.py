"""Order pages: one search box over every channel's orders, and an order with its actions."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from apps.core import roles
from apps.core.enums import Channel
from apps.core.errors import DomainError
from apps.inventory.access import may_at, permitted_location_ids, permitted_locations
from apps.orders import services
from apps.orders.enums import ALLOWED_TRANSITIONS, OrderStatus
from apps.orders.models import Order
from apps.orders.selectors import search_orders

PAGE_SIZE = 50
ACTIONS = {
    "ready": (OrderStatus.READY, services.mark_order_ready, "marked ready"),
    "fulfill": (OrderStatus.FULFILLED, services.fulfill_order, "fulfilled"),
    "cancel": (OrderStatus.CANCELED, services.cancel_order, "canceled"),
}


@require_GET
@roles.capability_required(roles.VIEW_ORDERS)
def order_list(request):
    params = {name: request.GET.get(name, "").strip() for name in ("q", "channel", "location", "status")}
    orders = search_orders(query=params["q"], channel=params["channel"], location_code=params["location"],
                           status=params["status"],
                           location_ids=permitted_location_ids(request.user, roles.VIEW_ORDERS))
    page = Paginator(orders, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "orders/order_list.html", {
        "page": page, **params, "channels": Channel.choices, "statuses": OrderStatus.choices,
        "locations": permitted_locations(request.user, roles.VIEW_ORDERS),
    })


def order_within_reach(user, order_id: int, capability: str = roles.VIEW_ORDERS) -> Order:
    """The order, once the user is known to reach its location. A store manager gets 403
    for an order elsewhere and for one that does not exist alike: ids tell them nothing."""
    order = (Order.objects.select_related("location").prefetch_related("lines", "payments")
             .filter(pk=order_id).first())
    if order is None:
        if permitted_location_ids(user, capability) is not None:
            raise PermissionDenied("This order is not one of your stores'.")
        raise Http404("No such order.")
    if not may_at(user, capability, order.location_id):
        raise PermissionDenied("This order is not one of your stores'.")
    return order


@require_GET
@roles.capability_required(roles.VIEW_ORDERS)
def order_detail(request, order_id: int):
    order = order_within_reach(request.user, order_id)
    can_change = may_at(request.user, roles.CHANGE_ORDERS, order.location_id)
    next_steps = ALLOWED_TRANSITIONS.get(order.status, set())
    actions = [name for name, (target, _, _) in ACTIONS.items() if can_change and target in next_steps]
    return render(request, "orders/order_detail.html", {
        "order": order, "lines": order.lines.all(), "payments": order.payments.all(),
        "location": order.location, "actions": actions,
        "can_refund": may_at(request.user, roles.REFUND_ORDERS, order.location_id),
    })


@require_POST
@roles.capability_required(roles.CHANGE_ORDERS)
def order_action(request, order_id: int, action: str):
    """Ready, fulfil or cancel, through the same services as the API."""
    if action not in ACTIONS:
        return HttpResponseBadRequest("Unknown action.")
    order = order_within_reach(request.user, order_id, roles.CHANGE_ORDERS)
    _, service, done = ACTIONS[action]
    extra = {"reason": request.POST.get("reason", "").strip()} if action == "cancel" else {}
    try:
        service(order_id=order.pk, user=request.user, actor=request.user.username, **extra)
    except DomainError as error:
        messages.error(request, error.detail)
    else:
        messages.success(request, f"Order #{order.pk} {done}.")
    return redirect("orders:detail", order_id=order.pk)
