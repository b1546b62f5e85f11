"""API key authentication: `Authorization: Bearer <key>`, keys stored as SHA-256."""

import hashlib
import secrets

from rest_framework import authentication, exceptions

from apps.core.models import ApiClient

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
        client = (
            ApiClient.objects.filter(key_hash=hash_key(raw_key.strip()), is_active=True)
            .only("id", "name", "channel")
            .first()
        )
        if client is None:
            raise exceptions.AuthenticationFailed("The API key is not valid or was revoked.")
        return client, None

    def authenticate_header(self, request):
        return 'Bearer realm="api"'
