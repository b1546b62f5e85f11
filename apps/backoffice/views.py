"""The back-office shell: dashboard, and the HTML answers for pages that do not exist."""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.http import require_GET

from apps.backoffice import selectors
from apps.core import roles
from apps.core.enums import Channel
from apps.core.errors import json_error_view
from apps.inventory.access import permitted_location_ids, permitted_locations
from apps.orders.views import order_within_reach

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
