"""How Square signs a webhook (CONNECTORS.md §2.7): base64 HMAC-SHA256 of the subscription's
notification URL followed by the raw body."""

import base64
import hashlib
import hmac

HEADER = "x-square-hmacsha256-signature"


def sign(key: str, notification_url: str, body: bytes) -> str:
    message = notification_url.encode() + body
    return base64.b64encode(hmac.new(key.encode(), message, hashlib.sha256).digest()).decode()
