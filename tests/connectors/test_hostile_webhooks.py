"""Webhooks under hostile input: refused with 401 before the signature holds, and after
it stored, acknowledged and turned into an exception, never a 500 (platforms retry 5xx
for hours). Nothing stored holds what jsonb or text refuse."""

import hashlib
import json

import pytest
from django.test import Client

from apps.connectors.clover.webhooks import order_envelope
from apps.connectors.enums import InboundStatus
from apps.connectors.models import ExternalMapping, InboundEvent, PlatformConnection
from apps.connectors.services.intake import process_inbound_event, store_events
from apps.connectors.shopify import signatures as shopify_signatures
from apps.connectors.square import signatures as square_signatures
from apps.connectors.toast import signatures as toast_signatures
from apps.core.models import ExceptionItem
from apps.demo import dev_credentials

SQUARE_URL = "http://testserver/webhooks/square/"
TOAST_TIMESTAMP = "2026-11-25T18:30:00.000+0000"


@pytest.fixture
def secrets(settings):
    for name, value in dev_credentials.SECRETS.items():
        setattr(settings, name, value)
    settings.SQUARE_WEBHOOK_URL = SQUARE_URL
    return settings


def signed_headers(platform: str, body: bytes) -> dict:
    secrets = dev_credentials.SECRETS
    if platform == "shopify":
        return {shopify_signatures.HEADER: shopify_signatures.sign(secrets["SHOPIFY_API_SECRET"], body),
                "X-Shopify-Webhook-Id": "wh-1", "X-Shopify-Topic": "orders/paid"}
    if platform == "square":
        return {square_signatures.HEADER: square_signatures.sign(
            secrets["SQUARE_WEBHOOK_SIGNATURE_KEY"], SQUARE_URL, body)}
    if platform == "toast":
        return {toast_signatures.HEADER: toast_signatures.sign(secrets["TOAST_WEBHOOK_SECRET"], body,
                                                               TOAST_TIMESTAMP),
                toast_signatures.TIMESTAMP_HEADER: TOAST_TIMESTAMP}
    return {"X-Clover-Auth": secrets["CLOVER_AUTH_CODE"]}


def post(platform: str, body: bytes, headers: dict | None = None):
    return Client().post(f"/webhooks/{platform}/", data=body, content_type="application/json",
                         headers=headers or {})


PLATFORMS = ["shopify", "square", "toast", "clover"]
DEEP = b"[" * 5000 + b"]" * 5000
HOSTILE_BODIES = {
    "not an object": b"[1, 2, 3]",
    "a bare string": b'"hello"',
    "not JSON": b"\x00\xff\xfe",
    "NUL in a string": b'{"event_id": "e-\\u0000", "merchants": {"M\\u0000": []}}',
    "lone surrogate": b'{"event_id": "\\ud800", "type": "x", "guid": "\\udc00"}',
    "deep nesting": DEEP,
    "deep object": b'{"a":' * 3000 + b"1" + b"}" * 3000,
    "NaN": b'{"event_id": NaN}',
    "1e309": b'{"event_id": "e", "type": "t", "amount": 1e309}',
    "duplicate keys": b'{"event_id": "a", "event_id": "b", "type": "t"}',
}
WRONG_TYPES = {
    "shopify": b'{"id": 5, "updated_at": 1764000000}',
    "square": b'{"event_id": 12345, "type": "order.created", "created_at": 1764000000}',
    "toast": b'{"guid": 42, "eventCategory": "stock", "timestamp": 1764000000}',
    "clover": b'{"merchants": {"M1": [{"objectId": 7, "type": "UPDATE", "ts": "soon"}]}}',
}


@pytest.mark.django_db
@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("name", list(HOSTILE_BODIES))
def test_a_hostile_body_without_a_valid_signature_is_401_and_stores_nothing(secrets, platform, name):
    answer = post(platform, HOSTILE_BODIES[name], {"X-Clover-Auth": "wrong"})

    assert answer.status_code == 401
    assert answer.json()["errors"][0]["code"] == "bad_signature"
    assert not InboundEvent.objects.exists()


def assert_parked_as_unreadable(platform: str, body: bytes, answer) -> InboundEvent:
    assert answer.status_code == 200, answer.content
    assert answer.json() == {"received": 1, "new": 0, "unreadable": 1}
    event = InboundEvent.objects.get()
    assert (event.platform, event.topic, event.status, event.verified) == (
        platform, "unreadable", InboundStatus.FAILED, True)
    assert event.event_id == f"unreadable:{hashlib.sha256(body).hexdigest()}"
    assert bytes(event.body) == body
    exception = ExceptionItem.objects.get()
    assert (exception.kind, exception.platform, exception.data["inbound_event_id"]) == (
        "inbound_failed", platform, event.pk)
    return event


@pytest.mark.django_db
@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("name", list(HOSTILE_BODIES))
def test_a_signed_body_that_is_not_events_is_stored_acknowledged_and_queued(secrets, platform, name):
    body = HOSTILE_BODIES[name]
    answer = post(platform, body, signed_headers(platform, body))

    assert_parked_as_unreadable(platform, body, answer)


@pytest.mark.django_db
@pytest.mark.parametrize("platform", PLATFORMS)
def test_signed_fields_of_the_wrong_type_are_parked_not_a_500(secrets, platform):
    body = WRONG_TYPES[platform]
    answer = post(platform, body, signed_headers(platform, body))

    event = assert_parked_as_unreadable(platform, body, answer)
    assert "Cannot read this event" in event.last_error


@pytest.mark.django_db
def test_a_redelivered_unreadable_body_counts_once(secrets):
    body = b"[1]"
    for _ in range(3):
        assert post("square", body, signed_headers("square", body)).status_code == 200

    event = InboundEvent.objects.get()
    assert event.deliveries == 3
    assert ExceptionItem.objects.get().occurrences == 1


@pytest.mark.django_db
def test_a_nul_in_a_signed_header_is_stored_as_an_escape(secrets):
    body = json.dumps({"event_id": "e-1", "type": "unknown.topic", "data": {}}).encode()
    headers = {**signed_headers("square", body), "X-Note": "a\x00b"}

    answer = post("square", body, headers)

    assert answer.status_code == 200
    assert InboundEvent.objects.get().headers["X-Note"] == "a\\u0000b"


@pytest.mark.django_db
@pytest.mark.parametrize("data", ["nonsense", {"id": 5}, {"type": "order", "object": []}])
def test_a_signed_event_that_parses_but_makes_no_sense_becomes_an_exception_at_once(secrets, data):
    body = json.dumps({"event_id": "e-1", "type": "order.created", "data": data}).encode()

    answer = post("square", body, signed_headers("square", body))
    assert answer.status_code == 200
    event = InboundEvent.objects.get()
    assert event.status == InboundStatus.PENDING

    process_inbound_event(event.pk)

    event.refresh_from_db()
    assert (event.status, event.attempts) == (InboundStatus.FAILED, 1)
    assert ExceptionItem.objects.get().kind == "inbound_failed"


@pytest.mark.django_db
def test_clover_verification_posts_still_answer_and_store_nothing(secrets):
    answer = post("clover", b'{"verificationCode": "abc-123"}')

    assert answer.status_code == 200
    assert not InboundEvent.objects.exists()


@pytest.fixture
def clover_link(shop, secrets):
    secrets.CLOVER_BASE_URL = "http://127.0.0.1:9"  # nothing listens: a fetch would fail
    ExternalMapping.objects.create(platform="clover", kind="variant", external_id="cl-TACO",
                                   variant=shop.taco)
    return PlatformConnection.objects.create(platform="clover", location=shop.oak,
                                             external_location_id="MOAK")


@pytest.mark.django_db
def test_an_unknown_item_sold_on_clover_opens_unmapped_sku(shop, clover_link):
    link = clover_link
    order = {"id": "ORD1", "state": "locked", "paymentState": "PAID", "createdTime": 1764000000000,
             "modifiedTime": 1764000000000, "total": 1000,
             "lineItems": {"elements": [{"item": {"id": "cl-TACO"}, "price": 375},
                                        {"item": {"id": "cl-MYSTERY"}, "price": 625}]}}
    [event_id] = store_events(platform="clover", envelopes=[order_envelope(link, order)], body=b"{}",
                              headers={}, verified=False)

    process_inbound_event(event_id)

    unmapped = ExceptionItem.objects.get(kind="unmapped_sku")
    assert (unmapped.platform, unmapped.data["reference"]) == ("clover", "cl-MYSTERY")
    assert InboundEvent.objects.get(pk=event_id).status == InboundStatus.FAILED



@pytest.mark.django_db
def test_a_webhook_naming_an_unknown_clover_item_opens_unmapped_sku_without_a_fetch(clover_link):
    body = json.dumps({"merchants": {"MOAK": [{"objectId": "I:BOGUS", "type": "UPDATE",
                                               "ts": 1764000000000}]}}).encode()
    assert post("clover", body, signed_headers("clover", body)).status_code == 200
    event = InboundEvent.objects.get()

    process_inbound_event(event.pk)

    unmapped = ExceptionItem.objects.get(kind="unmapped_sku")
    assert (unmapped.platform, unmapped.data["reference"]) == ("clover", "BOGUS")
    event.refresh_from_db()
    assert event.status == InboundStatus.FAILED


@pytest.mark.django_db
@pytest.mark.parametrize("platform", PLATFORMS)
def test_an_oversized_webhook_is_413_and_stores_nothing(secrets, platform):
    body = b'{"pad": "' + b"x" * 1_000_001 + b'"}'

    answer = post(platform, body, signed_headers(platform, body))

    assert answer.status_code == 413
    assert answer.json()["errors"][0]["code"] == "payload_too_large"
    assert not InboundEvent.objects.exists()
