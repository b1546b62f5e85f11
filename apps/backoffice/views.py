"""The back-office shell: dashboard, and the HTML answers for pages that do not exist."""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.http import require_GET

from apps.core import roles
from apps.core.errors import json_error_view

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
    return render(request, "backoffice/dashboard.html", {})
