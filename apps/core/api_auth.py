"""API key authentication: `Authorization: Bearer <key>`, keys stored as SHA-256."""

import hashlib
import secrets

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from apps.core.cache import read_generation, ttl_memo
from apps.core.models import ApiClient

# The memo of keys is keyed by this shared generation, bumped by every change of a key
# (`revoke_api_client`, a save in the admin): a revoked key is refused on its next
# request in every process. The TTL only bounds an edit made behind Concord's back (SQL).
KEYS_GENERATION = "api_keys"
KEY_CACHE_SECONDS = 300
KEY_CACHE_SIZE = 1000

KEY_PREFIX = "ck_"


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _, raw_key = header.partition(" ")
        if scheme.lower() != "bearer" or not raw_key.strip():
            raise exceptions.AuthenticationFailed("Use 'Authorization: Bearer <api key>'.")
        client = active_client_by_hash(hash_key(raw_key.strip()))
        if client is None:
            raise exceptions.AuthenticationFailed("The API key is not valid or was revoked.")
        return client, None

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


def active_client_by_hash(key_hash: str) -> ApiClient | None:
    return _active_client(read_generation(KEYS_GENERATION), key_hash)


@ttl_memo(KEY_CACHE_SECONDS, maxsize=KEY_CACHE_SIZE)
def _active_client(generation: int, key_hash: str) -> ApiClient | None:
    return ApiClient.objects.filter(key_hash=key_hash, is_active=True) \
        .only("id", "name", "channel", "role").first()


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """Tells the OpenAPI schema (and /api/docs/'s Authorize button) how keys are sent."""

    target_class = "apps.core.api_auth.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer",
                "description": "A key from `python manage.py create_api_key`, as `Bearer <key>`."}
