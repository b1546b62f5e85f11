"""How Shopify signs a webhook (CONNECTORS.md §4.2): base64 HMAC-SHA256 of the raw body."""

import base64
import hashlib
import hmac

HEADER = "X-Shopify-Hmac-Sha256"


def sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
