"""Shopify webhook HMAC (CONNECTORS.md §4.2).

`X-Shopify-Hmac-Sha256 = base64(HMAC-SHA256(key=app client secret, msg=raw body))`,
computed on the raw bytes before any JSON parsing and compared in constant time.
"""

import base64
import hashlib
import hmac

HEADER = "X-Shopify-Hmac-Sha256"


def sign(secret: str, body: bytes) -> str:
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify(secret: str, body: bytes, header_value: str | None) -> bool:
    if not secret or not header_value:
        return False
    return hmac.compare_digest(sign(secret, body).encode("ascii"), header_value.encode("utf-8"))
