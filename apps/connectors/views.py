"""Webhooks in, and the numbers a person running Concord needs (/metrics, /healthz)."""

from __future__ import annotations

import json

from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from apps.connectors.enums import Platform
from apps.connectors.metrics import render_metrics, sync_health
from apps.connectors.platforms import connector_platform
from apps.connectors.services.intake import store_events, store_unreadable
from apps.core.errors import error_body


def unreadable_reason(error: Exception) -> str:
    if isinstance(error, KeyError):
        return f"Cannot read this event: no {error} field"
    return f"Cannot read this event: {error}"


@csrf_exempt
@require_POST
def webhook(request, platform: str):
    """Verify on the raw bytes, store, answer 2xx; the sync loop applies the events."""
    if platform not in Platform.values:
        return JsonResponse(error_body("not_found", f"No webhooks for {platform!r}."), status=404)
    body = request.body  # RequestLimitsMiddleware has bounded its size
    inbound = connector_platform(platform).inbound
    headers = dict(request.headers)
    if inbound.challenge is not None and (answer := inbound.challenge(body, headers)) is not None:
        return answer
    if not inbound.verify(body, headers):
        return JsonResponse(error_body("bad_signature", "Signature verification failed."), status=401)
    try:
        envelopes = inbound.parse(body, headers)
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        # Signed by the platform yet senseless: a 4xx or 5xx would only bring it back for hours.
        store_unreadable(platform=platform, body=body, headers=headers, reason=unreadable_reason(error))
        return JsonResponse({"received": 1, "new": 0, "unreadable": 1})
    stored = store_events(platform=platform, envelopes=envelopes, body=body, headers=headers, verified=True)
    return JsonResponse({"received": len(envelopes), "new": len(stored)})


@require_GET
def metrics(request):
    return HttpResponse(render_metrics(), content_type="text/plain; version=0.0.4; charset=utf-8")


@require_GET
def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    health = sync_health()
    status = 200 if health["ok"] else 503
    return HttpResponse(json.dumps(health), status=status, content_type="application/json")
