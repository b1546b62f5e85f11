"""Hostile input to every endpoint gets a 4xx in the one error shape and changes nothing."""

import json

import pytest
from django.test import Client

from tests.helpers import CONTRACT_EXAMPLE, levels, row_counts, simple_order

ORDER = {**CONTRACT_EXAMPLE, "expected_total": {"amount": 2300, "currency": "USD"}}
DEEP_ARRAY = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECT = b'{"a":' * 5000 + b"1" + b"}" * 5000


def order_with(**fields) -> bytes:
    return json.dumps({**ORDER, **fields}).encode()


# (body, status, code, field)
HOSTILE_ORDER_BODIES = {
    "NaN": (b'{"location": NaN}', 400, "non_finite_number", None),
    "Infinity": (b'{"location": "OAK", "lines": [{"sku": "BURRITO", "quantity": -Infinity}]}', 400,
                 "non_finite_number", None),
    "1e309": (b'{"location": "OAK", "lines": [{"sku": "BURRITO", "quantity": 1e309}]}', 400,
              "non_finite_number", None),
    "1e309 in an address": (
        b'{"location":"OAK","fulfillment":{"type":"delivery","address":{"zip":1e309}},'
        b'"lines":[{"sku":"BURRITO","quantity":1}]}', 400, "non_finite_number", None),
    "duplicate keys": (b'{"location":"OAK","location":"BKN","fulfillment":{"type":"pickup"},'
                       b'"lines":[{"sku":"BURRITO","quantity":1}]}', 400, "duplicate_key", "location"),
    "deep array": (DEEP_ARRAY, 400, "too_deeply_nested", None),
    "deep object": (DEEP_OBJECT, 400, "too_deeply_nested", None),
    "40 levels": (b"[" * 40 + b"]" * 40, 400, "too_deeply_nested", None),
    "not UTF-8": (b'{"location": "\xff"}', 400, "malformed_json", None),
    "5000-digit integer": (b'{"location": "OAK", "lines": [{"sku": "BURRITO", "quantity": ' + b"9" * 5000
                           + b"}]}", 400, "malformed_json", None),
    "NUL in a note": (order_with(note="a\x00b"), 422, "invalid_characters", "note"),
    "NUL in a line note": (order_with(lines=[{"sku": "BURRITO", "quantity": 1, "note": "\x00"}]), 422,
                           "invalid_characters", "lines[0].note"),
    "NUL in a name": (order_with(customer={"name": "Ana\x00"}), 422, "invalid_characters", "customer.name"),
    "NUL in an address": (order_with(fulfillment={"type": "delivery", "address": {"line1": "1 Main\x00"}}),
                          422, "invalid_characters", "fulfillment.address.line1"),
    "NUL in a key": (order_with(fulfillment={"type": "delivery", "address": {"l\x00": "x"}}), 422,
                     "invalid_characters", "fulfillment.address"),
    "lone surrogate in a note": (order_with(note="\ud800"), 422, "invalid_characters", "note"),
    "lone surrogate in an external id": (order_with(external_id="x\udfff"), 422, "invalid_characters",
                                         "external_id"),
    "lone surrogate in an address": (
        order_with(fulfillment={"type": "shipping", "address": {"city": "\udc00"}}), 422,
        "invalid_characters", "fulfillment.address.city"),
    "lone surrogate in a key": (order_with(**{"\ud800": 1}), 422, "invalid_characters", None),
    "a list": (b"[1, 2]", 422, "invalid_body", None),
    "a number": (b"0", 422, "invalid_body", None),
}


@pytest.mark.django_db
@pytest.mark.parametrize("name", list(HOSTILE_ORDER_BODIES))
def test_a_hostile_order_body_is_refused_and_changes_nothing(shop, phone, name):
    body, status, code, field = HOSTILE_ORDER_BODIES[name]
    before = (row_counts(), levels())

    answer = phone.generic("POST", "/api/v1/orders", body, content_type="application/json",
                           HTTP_IDEMPOTENCY_KEY=f"key-{len(body)}")

    assert answer.status_code == status, answer.content[:300]
    [error] = answer.json()["errors"]
    assert error["code"] == code
    assert error.get("field") == field
    assert (row_counts(), levels()) == before


@pytest.mark.django_db
def test_a_valid_order_with_surrogate_pairs_and_escapes_is_taken(shop, phone):
    """Only what cannot be stored is refused: an emoji sent as a surrogate pair is fine."""
    body = json.dumps({**simple_order(), "note": "\U0001f32f to go, \\n not a newline"}).encode()

    answer = phone.generic("POST", "/api/v1/orders", body, content_type="application/json",
                           HTTP_IDEMPOTENCY_KEY="emoji")

    assert answer.status_code == 201, answer.content
    assert answer.json()["note"] == "\U0001f32f to go, \\n not a newline"


@pytest.mark.django_db
def test_an_oversized_body_is_413_before_it_is_read(shop, phone, settings):
    settings.MAX_REQUEST_BODY_BYTES = 10_000
    body = order_with(note="a" * 20_000)
    before = row_counts()

    answer = phone.generic("POST", "/api/v1/orders", body, content_type="application/json",
                           HTTP_IDEMPOTENCY_KEY="big")

    assert answer.status_code == 413
    assert answer.json()["errors"][0]["code"] == "payload_too_large"
    assert row_counts() == before


@pytest.mark.django_db
def test_an_oversized_body_needs_no_credentials_to_be_refused(db, settings):
    settings.MAX_REQUEST_BODY_BYTES = 100
    answer = Client().post("/api/v1/orders", data=b"{" + b" " * 200 + b"}", content_type="application/json")

    assert answer.status_code == 413


@pytest.mark.django_db
def test_a_content_length_that_is_not_a_number_is_400(shop, phone):
    answer = phone.generic("POST", "/api/v1/orders", b"{}", content_type="application/json",
                           HTTP_IDEMPOTENCY_KEY="k", CONTENT_LENGTH="ten")

    assert answer.status_code == 400
    assert answer.json()["errors"][0]["code"] == "invalid_content_length"


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["k\x00", "tab\there", "\x7f"])
def test_an_idempotency_key_with_control_characters_is_422_and_stores_nothing(shop, phone, key):
    before = (row_counts(), levels())

    answer = phone.generic("POST", "/api/v1/orders", json.dumps(simple_order()),
                           content_type="application/json", HTTP_IDEMPOTENCY_KEY=key)

    assert answer.status_code == 422
    assert answer.json()["errors"][0] == {
        "code": "invalid_characters", "detail": "Idempotency-Key holds a control character.",
        "field": "Idempotency-Key"}
    assert (row_counts(), levels()) == before


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["ready", "fulfill", "cancel"])
@pytest.mark.parametrize("body, status, code", [
    (b'{"a": NaN}', 400, "non_finite_number"),
    (DEEP_ARRAY, 400, "too_deeply_nested"),
    (b'{"a": "\\u0000"}', 422, "invalid_characters"),
    (b'{"a": 1, "a": 2}', 400, "duplicate_key"),
    (b"\x00", 400, "malformed_json"),
    (b'"x"', 422, "invalid_body"),
])
def test_a_hostile_transition_body_is_refused_and_changes_nothing(shop, phone, action, body, status, code):
    order_id = phone.post("/api/v1/orders", simple_order(), format="json",
                          HTTP_IDEMPOTENCY_KEY="place").json()["id"]
    before = (row_counts(), levels())

    answer = phone.generic("POST", f"/api/v1/orders/{order_id}/{action}", body,
                           content_type="application/json", HTTP_IDEMPOTENCY_KEY=f"t-{action}")

    assert answer.status_code == status
    assert answer.json()["errors"][0]["code"] == code
    assert (row_counts(), levels()) == before


HOSTILE_QUERIES = [
    ("/api/v1/catalog?location=OA%00K", 400, "invalid_characters"),
    ("/api/v1/availability?location=OAK&sku=BURRITO,%00", 400, "invalid_characters"),
    ("/api/v1/availability?location=OAK&" + "&".join(f"sku=S{i}" for i in range(150)), 400,
     "too_many_parameters"),
    ("/api/v1/availability?location=OAK&sku=" + ",".join(f"S{i}" for i in range(300)), 422, "invalid"),
    ("/api/v1/availability?location=OAK&sku=" + ",".join(f"SKU-{i:05}" for i in range(2000)), 414,
     "query_too_long"),
    ("/api/v1/locations?x=%00", 400, "invalid_characters"),
    ("/api/v1/orders/1?%00=1", 400, "invalid_characters"),
    ("/api/v1/catalog?location=%ED%A0%80", 422, "unknown_location"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("url, status, code", HOSTILE_QUERIES)
def test_a_hostile_query_string_is_refused(shop, phone, url, status, code):
    answer = phone.get(url)

    assert answer.status_code == status, answer.content[:300]
    assert answer.json()["errors"][0]["code"] == code


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/healthz?x=%00", "/metrics?%00=1", "/admin/login/?next=%00",
                                 "/api/schema/?lang=%00", "/api/v1/orders?%00",
                                 "/healthz?" + "&".join(f"a{i}=1" for i in range(500))])
def test_hostile_query_strings_need_no_credentials_to_be_refused(db, url):
    answer = Client().get(url)

    assert answer.status_code in (400, 414)
    assert answer.json()["errors"][0]["code"] in ("invalid_characters", "too_many_parameters",
                                                  "query_too_long")


@pytest.mark.django_db
@pytest.mark.parametrize("body", [b'{"a": NaN}', DEEP_ARRAY, b'{"a": "\\u0000"}', b"[]"])
def test_hostile_bodies_without_credentials_get_401(db, body):
    answer = Client().post("/api/v1/orders", data=body, content_type="application/json")

    assert answer.status_code == 401
    assert answer.json()["errors"][0]["code"] == "not_authenticated"


@pytest.mark.django_db
@pytest.mark.parametrize("username", ["ana\x00", "\x00", "a" * 5000])
def test_the_admin_sign_in_refuses_hostile_names_without_a_500(db, username):
    answer = Client().post("/admin/login/", {"username": username, "password": "x\x00"})

    assert answer.status_code in (200, 400, 403, 429)


@pytest.mark.django_db
@pytest.mark.parametrize("method, url, allowed", [
    ("get", "/webhooks/square/", "POST"), ("put", "/webhooks/toast/", "POST"), ("post", "/healthz", "GET"),
    ("post", "/metrics", "GET")])
def test_a_wrong_method_on_a_plain_view_is_405_in_the_one_shape(db, method, url, allowed):
    answer = getattr(Client(), method)(url)

    assert answer.status_code == 405
    assert answer["Allow"] == allowed
    assert answer.json()["errors"][0]["code"] == "method_not_allowed"
