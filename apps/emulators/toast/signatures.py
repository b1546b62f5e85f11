"""How Toast signs a webhook (CONNECTORS.md §1.5): base64 HMAC-SHA256 of the raw body
followed by the timestamp the body carries."""

import base64
import hashlib
import hmac

HEADER = "Toast-Signature"


def sign(secret: str, body: bytes, timestamp: str) -> str:
    message = body + timestamp.encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()
