"""Helpers shared by API views: idempotent writes and channel checks."""

from rest_framework.response import Response

from apps.core.errors import DomainError
from apps.core.idempotency import IdempotentResult, request_fingerprint, validate_key


class ChannelNotAllowed(DomainError):
    status = 403
    code = "channel_not_allowed"


def require_channel(request, allowed: set[str]) -> None:
    channel = request.user.channel
    if channel not in allowed:
        raise ChannelNotAllowed(
            f"This endpoint takes {', '.join(sorted(allowed))} API keys; this key is for "
            f"the {channel} channel."
        )


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
