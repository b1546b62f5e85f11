"""Clover webhook authentication (CONNECTORS.md §3.4).

Clover does not sign deliveries: every POST carries the app's static Clover Auth Code in
`X-Clover-Auth`, compared here in constant time. Before that code exists, Clover POSTs
`{"verificationCode": "<uuid>"}` once; the endpoint answers 200 and an operator pastes the
code into the dashboard.
"""

import hmac

from apps.core.strict_json import loads_strict

HEADER = "X-Clover-Auth"


def verify(auth_code: str, header_value: str | None) -> bool:
    if not auth_code or not header_value:
        return False
    return hmac.compare_digest(auth_code.encode("utf-8"), header_value.encode("utf-8"))


def is_verification_request(body: bytes) -> str | None:
    """The verificationCode if `body` is Clover's one-off verification POST, else None."""
    try:
        payload = loads_strict(body)
    except ValueError:
        return None
    if not isinstance(payload, dict) or set(payload) != {"verificationCode"}:
        return None
    code = payload["verificationCode"]
    return code if isinstance(code, str) and code else None
