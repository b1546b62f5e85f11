"""Toast webhook signature (CONNECTORS.md §1.5).

`Toast-Signature = base64(HMAC-SHA256(key=subscription secret, msg=raw body + timestamp))`.
Toast's docs do not say where the timestamp comes from; `timestamp_from` is the one place
that decides it, so a correction touches nothing else.
"""

import base64
import hashlib
import hmac
from collections.abc import Mapping

from apps.core.strict_json import loads_strict

HEADER = "Toast-Signature"
TIMESTAMP_HEADER = "Toast-Timestamp"


def sign(secret: str, body: bytes, timestamp: str) -> str:
    message = body + timestamp.encode("utf-8")
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify(secret: str, body: bytes, timestamp: str | None, header_value: str | None) -> bool:
    if not secret or not header_value or timestamp is None:
        return False
    expected = sign(secret, body, timestamp)
    return hmac.compare_digest(expected.encode("ascii"), header_value.encode("utf-8"))


def timestamp_from(body: bytes, headers: Mapping[str, str]) -> str | None:
    """The timestamp the signature covers.

    [unverified] The body's `timestamp` field is the likeliest source (the standard
    message schema carries one); some integrators read a `Toast-Timestamp` header, so that
    is the fallback. Returns None when neither is present.
    """
    try:
        payload = loads_strict(body)
    except ValueError:
        payload = None
    if isinstance(payload, dict) and isinstance(payload.get("timestamp"), str):
        return payload["timestamp"]
    for name, value in headers.items():
        if name.lower() == TIMESTAMP_HEADER.lower():
            return value
    return None
