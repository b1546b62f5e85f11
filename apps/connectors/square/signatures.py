"""Square webhook signature (CONNECTORS.md §2.7).

`x-square-hmacsha256-signature = base64(HMAC-SHA256(key=signature key,
msg=notification_url + raw body))`. The URL must match the subscription's byte for byte,
so it comes from configuration (`SQUARE_WEBHOOK_URL`), never from the request's Host.
Like Square's SDK helper, an empty key or URL is a programming error (ValueError), not a
failed verification.
"""

import base64
import hashlib
import hmac

HEADER = "x-square-hmacsha256-signature"


def sign(key: str, notification_url: str, body: bytes) -> str:
    _require(key, notification_url)
    message = notification_url.encode("utf-8") + body
    digest = hmac.new(key.encode("utf-8"), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify(key: str, notification_url: str, body: bytes, header_value: str | None) -> bool:
    _require(key, notification_url)
    if not header_value:
        return False
    expected = sign(key, notification_url, body)
    return hmac.compare_digest(expected.encode("ascii"), header_value.encode("utf-8"))


def _require(key: str, notification_url: str) -> None:
    if not key:
        raise ValueError("signature key is empty")
    if not notification_url:
        raise ValueError("notification URL is empty")
