"""A stored webhook keeps its headers without credentials: no Authorization, no Clover
auth code, no signature is handed on by the event table."""

import json

import pytest

from apps.connectors.models import InboundEvent
from apps.core.redaction import REDACTED
from apps.demo import dev_credentials

from .test_hostile_webhooks import post, secrets, signed_headers  # noqa: F401 (fixture)

CREDENTIAL_HEADERS = {"shopify": "X-Shopify-Hmac-Sha256", "square": "X-Square-Hmacsha256-Signature",
                      "toast": "Toast-Signature", "clover": "X-Clover-Auth"}


@pytest.mark.django_db
@pytest.mark.parametrize("platform", ["shopify", "square", "toast", "clover"])
def test_signatures_and_auth_headers_are_not_stored(secrets, platform):  # noqa: F811
    body = b"[1, 2, 3]"  # signed, stored whole as unreadable
    headers = {**signed_headers(platform, body), "Authorization": "Bearer ck_not_ours",
               "X-Request-Note": "kept"}

    assert post(platform, body, headers).status_code == 200

    stored = InboundEvent.objects.get().headers
    assert stored[CREDENTIAL_HEADERS[platform]] == REDACTED
    assert stored["Authorization"] == REDACTED
    assert stored["X-Request-Note"] == "kept"
    secret_values = [*dev_credentials.SECRETS.values(), "ck_not_ours",
                     *(value for name, value in signed_headers(platform, body).items() if "ignature" in name
                       or "Hmac" in name or "Auth" in name)]
    assert not any(value and value in json.dumps(stored) for value in secret_values)


@pytest.mark.django_db
def test_an_event_that_reads_is_stored_without_its_signature_too(secrets):  # noqa: F811
    body = json.dumps({"event_id": "e-1", "type": "unknown.topic", "data": {}}).encode()

    assert post("square", body, signed_headers("square", body)).status_code == 200

    event = InboundEvent.objects.get(event_id="e-1")
    assert event.headers["X-Square-Hmacsha256-Signature"] == REDACTED
    assert event.verified
