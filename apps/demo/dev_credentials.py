"""Development credentials shared by the demo, the tests and the emulators.

These values only ever reach settings through `make run`, the test configuration or an
emulator's defaults; production values come from the environment alone.
"""

import uuid

CONCORD_URL = "http://127.0.0.1:8000"

DEFAULT_PORTS = {"shopify": 8101, "square": 8102, "toast": 8103, "clover": 8104}

SECRETS = {
    "SHOPIFY_API_SECRET": "dev-shopify-api-secret",
    "SHOPIFY_ACCESS_TOKEN": "shpat_devconcord0000000000000000",
    "SHOPIFY_SHOP_DOMAIN": "mission-street.myshopify.com",
    "SQUARE_ACCESS_TOKEN": "EAAAdevconcordsquareaccesstoken",
    "SQUARE_WEBHOOK_SIGNATURE_KEY": "dev-square-signature-key",
    "TOAST_CLIENT_ID": "dev-toast-client-id",
    "TOAST_CLIENT_SECRET": "dev-toast-client-secret",
    "TOAST_WEBHOOK_SECRET": "dev-toast-webhook-secret",
    "CLOVER_ACCESS_TOKEN": "dev-clover-access-token",
    "CLOVER_AUTH_CODE": "dev-clover-auth-code",
}

_NAMESPACE = uuid.UUID("6f1c7f0e-4a53-4f57-9b8e-1d7b2c9a0c11")


def platform_location_id(platform: str, location_code: str) -> str:
    """The id a platform gives the store named `location_code` in the demo."""
    if platform == "toast":  # restaurant GUID
        return str(uuid.uuid5(_NAMESPACE, f"toast:{location_code}"))
    if platform == "clover":  # 13-character merchant id
        return (location_code + "MERCHANT00000")[:13]
    if platform == "square":
        return f"L{location_code}SQ0000000"
    if platform == "shopify":  # numeric location id
        return str(70000000000 + sum(ord(c) * 31**i for i, c in enumerate(location_code)))
    raise ValueError(f"unknown platform {platform!r}")
