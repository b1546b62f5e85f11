"""Helpers shared by API views: idempotent writes, channel and role checks.

A channel key (no role) writes orders on its channel and works only on what its own
client placed; a staff key (a role) reads every channel; `finance` only reads."""

from rest_framework.response import Response

from apps.core.enums import ApiRole
from apps.core.errors import DomainError, ValidationFailed
from apps.core.idempotency import IdempotentResult, request_fingerprint, validate_key


class ChannelNotAllowed(DomainError):
    status = 403
    code = "channel_not_allowed"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


def require_channel(request, allowed: set[str]) -> None:
    if request.user.role:
        raise Forbidden("A staff key does not place orders; orders come from a channel key.")
    channel = request.user.channel
    if channel not in allowed:
        raise ChannelNotAllowed(
            f"This endpoint takes {', '.join(sorted(allowed))} API keys; this key is for "
            f"the {channel} channel."
        )


def require_role(request, allowed: set[str], *, action: str) -> None:
    """Only staff keys of these roles may do `action` (e.g. "merge customers")."""
    role = request.user.role
    if role not in allowed:
        who = f"a {role} key" if role else "a channel key"
        raise Forbidden(f"{who[0].upper()}{who[1:]} may not {action}.")


def require_writer(request, *, action: str) -> None:
    """Finance keys only read."""
    if request.user.role == ApiRole.FINANCE:
        raise Forbidden(f"A finance key only reads; it may not {action}.")


def idempotency_inputs(request) -> tuple[str, str]:
    key = validate_key(request.headers.get("Idempotency-Key"))
    data = request.data or None  # an empty body and {} are the same request
    return key, request_fingerprint(method=request.method, path=request.path, data=data)


def idempotent_response(result: IdempotentResult, *, location: str | None = None) -> Response:
    headers = {}
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
    if location and result.status == 201:
        headers["Location"] = location
    return Response(result.body, status=result.status, headers=headers)


def validated_body(serializer_class, request) -> dict:
    """The request's JSON object, validated by `serializer_class` (422 otherwise)."""
    data = request.data
    if not isinstance(data, dict):
        raise ValidationFailed("The body must be a JSON object.", extra={"code": "invalid_body"})
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
