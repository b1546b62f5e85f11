"""Which platform connectors are configured, read from settings."""

import threading

from django.conf import settings

REQUIRED_SETTINGS = {
    "shopify": ["SHOPIFY_BASE_URL", "SHOPIFY_ACCESS_TOKEN", "SHOPIFY_API_SECRET"],
    "square": ["SQUARE_BASE_URL", "SQUARE_ACCESS_TOKEN", "SQUARE_WEBHOOK_SIGNATURE_KEY",
               "SQUARE_WEBHOOK_URL"],
    "toast": ["TOAST_BASE_URL", "TOAST_CLIENT_ID", "TOAST_CLIENT_SECRET", "TOAST_WEBHOOK_SECRET"],
    "clover": ["CLOVER_BASE_URL", "CLOVER_ACCESS_TOKEN", "CLOVER_AUTH_CODE"],
}


def missing_settings(platform: str) -> list[str]:
    return [name for name in REQUIRED_SETTINGS[platform] if not getattr(settings, name, "")]


def is_configured(platform: str) -> bool:
    return not missing_settings(platform)


def status() -> dict[str, dict]:
    return {platform: {"configured": is_configured(platform), "missing": missing_settings(platform)}
            for platform in REQUIRED_SETTINGS}


_clients: dict[tuple, object] = {}
_clients_lock = threading.Lock()


def kept_client(platform: str, account: tuple, build):
    """One client per platform account, kept for the process (it keeps its token and its
    pace under the rate limit); a platform whose settings are missing is refused clearly."""
    from apps.connectors.http import PlatformError

    missing = missing_settings(platform)
    if missing:
        raise PlatformError(platform=platform, status=None, code="not_configured",
                            detail=f"{platform} is off: set {', '.join(missing)}")
    with _clients_lock:
        if (platform, *account) not in _clients:
            client = build()
            client.paced = True
            _clients[(platform, *account)] = client
        return _clients[(platform, *account)]
