"""The one error shape: {"errors": [{"code", "detail", "field"?, ...}]}.

Domain code raises `DomainError` subclasses (each knows its status and code); the DRF
exception handler and the plain-Django fallbacks render them, and render DRF's own
parse, auth and validation errors in the same shape.
"""

from __future__ import annotations

import logging

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

logger = logging.getLogger(__name__)


class DomainError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, detail: str = "", *, field: str | None = None, errors: list | None = None,
                 extra: dict | None = None):
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self._errors = errors
        self.extra = extra or {}

    def as_errors(self) -> list[dict]:
        if self._errors is not None:
            return self._errors
        error = {"code": self.code, "detail": self.detail}
        if self.field:
            error["field"] = self.field
        error.update(self.extra)
        return [error]

    def body(self) -> dict:
        return {"errors": self.as_errors()}


class ValidationFailed(DomainError):
    status = 422
    code = "invalid"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class InvalidTransition(Conflict):
    code = "invalid_transition"


class IdempotencyKeyReused(DomainError):
    status = 422
    code = "idempotency_key_reused"


class RequestInProgress(Conflict):
    code = "request_in_progress"


class Busy(DomainError):
    status = 503
    code = "busy"


class MalformedBody(DomainError):
    """A body refused before any view reads it (see apps/core/strict_json.py)."""

    code = "malformed_json"

    @classmethod
    def from_rejection(cls, rejected) -> MalformedBody:
        error = cls(rejected.detail, field=rejected.field)
        error.status, error.code = rejected.status, rejected.code
        return error


def error_body(code: str, detail: str, field: str | None = None) -> dict:
    error = {"code": code, "detail": detail}
    if field:
        error["field"] = field
    return {"errors": [error]}


def _flatten_validation(detail, prefix: str = "") -> list[dict]:
    """DRF's nested serializer errors as a flat list with paths like lines[0].quantity."""
    errors: list[dict] = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            if key == "non_field_errors":
                errors += _flatten_validation(value, prefix)
            elif isinstance(key, int):  # a list serializer reports items by index
                errors += _flatten_validation(value, f"{prefix}[{key}]")
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
                errors += _flatten_validation(value, path)
    elif isinstance(detail, list):
        for index, value in enumerate(detail):
            if isinstance(value, dict | list):
                errors += _flatten_validation(value, f"{prefix}[{index}]")
            else:
                errors += _flatten_validation(value, prefix)
    else:
        code = getattr(detail, "code", "invalid") or "invalid"
        error = {"code": _validation_code(code), "detail": str(detail)}
        if prefix:
            error["field"] = prefix
        errors.append(error)
    return errors


def _validation_code(code: str) -> str:
    return {"null": "required", "blank": "required"}.get(code, code)


_DRF_CODES = {
    drf_exceptions.ParseError: (400, "malformed_json"),
    drf_exceptions.NotAuthenticated: (401, "not_authenticated"),
    drf_exceptions.AuthenticationFailed: (401, "invalid_api_key"),
    drf_exceptions.PermissionDenied: (403, "forbidden"),
    drf_exceptions.NotFound: (404, "not_found"),
    drf_exceptions.MethodNotAllowed: (405, "method_not_allowed"),
    drf_exceptions.NotAcceptable: (406, "not_acceptable"),
    drf_exceptions.UnsupportedMediaType: (415, "unsupported_media_type"),
    drf_exceptions.Throttled: (429, "throttled"),
}


def api_exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response(exc.body(), status=exc.status)
    if isinstance(exc, drf_exceptions.ValidationError):
        return Response({"errors": _flatten_validation(exc.detail)}, status=422)
    for exc_type, (status, code) in _DRF_CODES.items():
        if isinstance(exc, exc_type):
            headers = {}
            if isinstance(exc, drf_exceptions.NotAuthenticated | drf_exceptions.AuthenticationFailed):
                headers["WWW-Authenticate"] = 'Bearer realm="api"'
            return Response(error_body(code, str(exc.detail)), status=status, headers=headers)
    if isinstance(exc, drf_exceptions.APIException):
        return Response(error_body(exc.default_code, str(exc.detail)), status=exc.status_code)
    if isinstance(exc, Http404):
        return Response(error_body("not_found", "Not found."), status=404)
    if isinstance(exc, RequestDataTooBig):
        return Response(error_body("payload_too_large", "The body is larger than this server takes."),
                        status=413)
    if isinstance(exc, SuspiciousOperation):  # e.g. too many fields: the request, not us
        return Response(error_body("bad_request", "The request could not be read."), status=400)
    logger.exception("unhandled error in API view", exc_info=exc)
    return Response(error_body("server_error", "An unexpected error occurred."), status=500)


def json_error_view(status: int, code: str, detail: str):
    def view(request, exception=None):
        return JsonResponse(error_body(code, detail), status=status)

    return view
