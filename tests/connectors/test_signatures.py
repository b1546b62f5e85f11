"""Webhook verifiers against the platforms' own (or documented-algorithm) vectors.

The vectors live in tests/fixtures/platforms/, copied verbatim from shared/fixtures so the
suite stands alone. Each verifier must accept its vector bit for bit and reject any
tampering with body, URL, timestamp or header.
"""

import json
from pathlib import Path

import pytest

from apps.connectors.clover import signatures as clover
from apps.connectors.shopify import signatures as shopify
from apps.connectors.square import signatures as square
from apps.connectors.toast import signatures as toast

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "platforms"


def load(name: str):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


# --- Square (official SDK vectors) ---------------------------------------------------

SQUARE = load("square_webhook_signature_vectors.json")["vectors"]
SQUARE_FIRST = SQUARE[0]


def _square_body(vector: dict) -> bytes:
    raw = vector["raw_body"]
    return (SQUARE_FIRST["raw_body"] if raw == "<same as vector 1>" else raw).encode("utf-8")


@pytest.mark.parametrize("vector", [v for v in SQUARE if "signature_key" in v])
def test_square_vectors(vector):
    body = _square_body(vector)
    args = (vector["signature_key"], vector["notification_url"], body)

    assert square.verify(*args, vector["expected_signature"]) is vector["valid"]
    if vector["valid"]:
        assert square.sign(*args) == vector["expected_signature"]


def test_square_rejects_reformatted_body():
    pretty = json.dumps(json.loads(SQUARE_FIRST["raw_body"]), indent=2).encode("utf-8")

    assert not square.verify(SQUARE_FIRST["signature_key"], SQUARE_FIRST["notification_url"],
                             pretty, SQUARE_FIRST["expected_signature"])


def test_square_rejects_tampered_header_and_missing_header():
    key, url = SQUARE_FIRST["signature_key"], SQUARE_FIRST["notification_url"]
    body = SQUARE_FIRST["raw_body"].encode("utf-8")
    flipped = "H" + SQUARE_FIRST["expected_signature"][1:]

    assert not square.verify(key, url, body, flipped)
    assert not square.verify(key, url, body, "")
    assert not square.verify(key, url, body, None)


@pytest.mark.parametrize(("key", "url"), [("", "https://x.test/hook"), ("k", "")])
def test_square_empty_key_or_url_raises_like_the_sdk(key, url):
    with pytest.raises(ValueError):
        square.verify(key, url, b"{}", "sig")
    with pytest.raises(ValueError):
        square.sign(key, url, b"{}")


# --- Shopify (self-computed vector, documented algorithm) ----------------------------

SHOPIFY = load("shopify_webhook_hmac_vector.SELF_COMPUTED.json")


def test_shopify_vector():
    body = SHOPIFY["raw_body"].encode("utf-8")

    assert shopify.sign(SHOPIFY["client_secret"], body) == SHOPIFY["expected_header_value"]
    assert shopify.verify(SHOPIFY["client_secret"], body, SHOPIFY["expected_header_value"])


@pytest.mark.parametrize("change", ["body", "secret", "header", "empty"])
def test_shopify_rejects_tampering(change):
    secret, body = SHOPIFY["client_secret"], SHOPIFY["raw_body"].encode("utf-8")
    header = SHOPIFY["expected_header_value"]
    if change == "body":
        body = body.replace(b'"paid"', b'"refunded"')
    elif change == "secret":
        secret = "hush!"
    elif change == "header":
        header = header[:-2] + "A="
    else:
        header = ""

    assert not shopify.verify(secret, body, header)


# --- Toast (self-computed vector; timestamp source unverified) -----------------------

TOAST = load("toast_webhook_signature_vector.SELF_COMPUTED.json")


def test_toast_vector_with_timestamp_from_body():
    body = TOAST["raw_body"].encode("utf-8")
    timestamp = toast.timestamp_from(body, {})

    assert timestamp == TOAST["timestamp"]
    assert toast.sign(TOAST["secret"], body, timestamp) == TOAST["expected_signature"]
    assert toast.verify(TOAST["secret"], body, timestamp, TOAST["expected_signature"])


@pytest.mark.parametrize("change", ["body", "timestamp", "header", "secret"])
def test_toast_rejects_tampering(change):
    secret, body = TOAST["secret"], TOAST["raw_body"].encode("utf-8")
    timestamp, header = TOAST["timestamp"], TOAST["expected_signature"]
    if change == "body":
        body = body.replace(b"menus_updated", b"menus_deleted")
    elif change == "timestamp":
        timestamp = "2019-09-16T21:01:53.686Z"
    elif change == "header":
        header = "A" + header[1:]
    else:
        secret = "toast-secret2"

    assert not toast.verify(secret, body, timestamp, header)


def test_toast_timestamp_falls_back_to_header_then_none():
    body = b'{"eventCategory":"menus"}'

    assert toast.timestamp_from(body, {"toast-timestamp": "1700000000"}) == "1700000000"
    assert toast.timestamp_from(b"not json", {"Toast-Timestamp": "x"}) == "x"
    assert toast.timestamp_from(body, {}) is None
    assert not toast.verify("s", body, None, "anything")


# --- Clover (static auth code, verification POST) ------------------------------------

CLOVER_VERIFICATION = load("clover_webhook_verification.json")


def test_clover_auth_code_compare():
    assert clover.verify("dev-clover-auth-code", "dev-clover-auth-code")
    assert not clover.verify("dev-clover-auth-code", "dev-clover-auth-cod")
    assert not clover.verify("dev-clover-auth-code", "DEV-CLOVER-AUTH-CODE")
    assert not clover.verify("dev-clover-auth-code", None)
    assert not clover.verify("", "")


def test_clover_verification_request_returns_the_code():
    body = json.dumps(CLOVER_VERIFICATION).encode("utf-8")

    assert clover.is_verification_request(body) == CLOVER_VERIFICATION["verificationCode"]


@pytest.mark.parametrize("body", [
    b'{"appId":"A","merchants":{"M":[{"objectId":"O:1","type":"CREATE","ts":1}]}}',
    b'{"verificationCode":""}',
    b'{"verificationCode":"x","appId":"A"}',
    b"[]",
    b"not json",
])
def test_clover_ordinary_deliveries_are_not_verification_requests(body):
    assert clover.is_verification_request(body) is None
