"""What the OpenAPI schema says that no single view can: the one error shape, the answers
every request may meet before its view runs, and request bodies that refuse unknown
fields. API views list their own errors with `error_responses`."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

from apps.core.idempotency import MAX_KEY_LENGTH

ERROR_SHAPE = inline_serializer("ErrorResponse", fields={
    "errors": inline_serializer("Error", fields={
        "code": serializers.CharField(help_text="Stable, machine-readable: see the README's error table."),
        "detail": serializers.CharField(help_text="For people."),
        "field": serializers.CharField(required=False, help_text="Where, e.g. `lines[0].quantity`."),
    }, many=True, min_length=1),
})

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key", {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": r"\S"},
    OpenApiParameter.HEADER, required=True,
    description=(f"Unique per write, 1 to {MAX_KEY_LENGTH} printable characters. The same key "
                 "with the same body replays the first answer (header `Idempotent-Replayed: true`); "
                 "with another body it is 422 `idempotency_key_reused`; while the first request "
                 "still runs, the second waits for it (409 `request_in_progress` if too long). "
                 "A refused request binds nothing to its key."),
)


def money_schema(name: str):
    """A money object in an answer (`{"amount": minor units, "currency"}`), named `name`."""
    return inline_serializer(name, fields={"amount": serializers.IntegerField(),
                                           "currency": serializers.CharField()})


def replayed_header(status: int) -> OpenApiParameter:
    """Only successful answers are bound to a key, so only they are replayed."""
    return OpenApiParameter(
        "Idempotent-Replayed", str, OpenApiParameter.HEADER, response=[status], enum=["true"],
        description="Present when this answer replays the first one sent with the same key.")


def location_header(*statuses: int) -> OpenApiParameter:
    return OpenApiParameter("Location", str, OpenApiParameter.HEADER, response=list(statuses), required=True,
                            description="The path of the created resource.")


def error_responses(**codes_by_status: str) -> dict[int, OpenApiResponse]:
    """error_responses(s404="not_found", ...): each status with the codes it may carry."""
    return {int(status.removeprefix("s")): OpenApiResponse(ERROR_SHAPE, description=f"Codes: {codes}.")
            for status, codes in codes_by_status.items()}


# Answered before any view runs (apps/core/edge.py, strict_json.py, authentication).
EDGE_ERRORS = {
    "400": "Codes: `invalid_characters` (NUL in the query string), `too_many_parameters`; for a body: "
           "`malformed_json`, `non_finite_number`, `duplicate_key`, `too_deeply_nested`, "
           "`invalid_content_length`.",
    "401": "Codes: `not_authenticated`, `invalid_api_key`.",
    "414": "Code: `query_too_long`.",
}
BODY_ERRORS = {
    "413": "Code: `payload_too_large` (over `MAX_REQUEST_BODY_BYTES`).",
    "415": "Code: `unsupported_media_type`: send `application/json`.",
}
ERROR_REF = {"$ref": "#/components/schemas/ErrorResponse"}


def document_edge(result, generator, request, public):
    """drf-spectacular postprocessing hook: every operation gets the edge's errors, and
    request bodies (InputSerializer) refuse unknown fields."""
    for methods in result.get("paths", {}).values():
        for method, operation in methods.items():
            errors = {**EDGE_ERRORS, **(BODY_ERRORS if method in ("post", "put", "patch") else {})}
            if not operation.get("security"):
                errors.pop("401")
            for status, description in errors.items():
                operation["responses"].setdefault(status, {
                    "description": description, "content": {"application/json": {"schema": ERROR_REF}}})
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") and component.get("type") == "object":
            component["additionalProperties"] = False
    return result
