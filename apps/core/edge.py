"""Limits every request meets before any view: body size, query string size and content.

One middleware, so each view may assume a bounded body and a query string free of what
Postgres cannot store (NUL). Refusals use the one error shape; the body is not read.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from django.conf import settings
from django.http import JsonResponse

from apps.core.errors import error_body


class RequestLimitsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        refusal = body_refusal(request.META) or query_refusal(request.META.get("QUERY_STRING", ""))
        if refusal is not None:
            status, code, detail, field = refusal
            return JsonResponse(error_body(code, detail, field), status=status)
        response = self.get_response(request)
        if response.status_code == 405 and not response.content:  # Django's require_POST & co.
            return method_not_allowed(request, response)
        return response


def method_not_allowed(request, refused) -> JsonResponse:
    allowed = refused.get("Allow", "")
    response = JsonResponse(error_body("method_not_allowed", f"{request.method[:16]} is not allowed here; "
                                       f"use {allowed or 'another method'}."), status=405)
    if allowed:
        response["Allow"] = allowed
    return response


def body_refusal(meta: dict) -> tuple[int, str, str, str | None] | None:
    raw_length = meta.get("CONTENT_LENGTH") or "0"
    try:
        length = int(raw_length)
    except ValueError:
        length = -1
    if length < 0:
        return 400, "invalid_content_length", "Content-Length must be a whole number of bytes.", None
    if length > settings.MAX_REQUEST_BODY_BYTES:
        return (413, "payload_too_large",
                f"The body is {length} bytes; this server takes at most {settings.MAX_REQUEST_BODY_BYTES}.",
                None)
    return None


def query_refusal(query_string: str) -> tuple[int, str, str, str | None] | None:
    if not query_string:
        return None
    if len(query_string) > settings.MAX_QUERY_STRING_BYTES:
        return (414, "query_too_long",
                f"The query string is longer than {settings.MAX_QUERY_STRING_BYTES} bytes.", None)
    if query_string.count("&") + 1 > settings.MAX_QUERY_PARAMETERS:
        return (400, "too_many_parameters",
                f"Send at most {settings.MAX_QUERY_PARAMETERS} query parameters.", None)
    if b"\x00" in unquote_to_bytes(query_string):
        return 400, "invalid_characters", "The query string holds a NUL character.", None
    return None
