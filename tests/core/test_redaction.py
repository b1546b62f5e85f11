"""Stored headers keep no credential; log lines carry nothing a caller could forge."""

from __future__ import annotations

import io
import logging

from apps.core.redaction import REDACTED, EscapingFormatter, credential_free_headers, escape_for_log


def test_credentials_and_signatures_are_redacted_and_the_rest_kept():
    headers = {
        "Authorization": "Bearer ck_secret", "X-Clover-Auth": "clover-auth-code",
        "Toast-Signature": "c2ln", "X-Shopify-Hmac-Sha256": "aG1hYw==",
        "X-Square-Hmacsha256-Signature": "c3E=", "Cookie": "sessionid=abc",
        "Content-Type": "application/json", "Toast-Restaurant-External-ID": "r-1",
        "X-Shopify-Topic": "orders/paid",
    }
    assert credential_free_headers(headers) == {
        "Authorization": REDACTED, "X-Clover-Auth": REDACTED, "Toast-Signature": REDACTED,
        "X-Shopify-Hmac-Sha256": REDACTED, "X-Square-Hmacsha256-Signature": REDACTED,
        "Cookie": REDACTED, "Content-Type": "application/json",
        "Toast-Restaurant-External-ID": "r-1", "X-Shopify-Topic": "orders/paid",
    }


def test_control_characters_are_escaped():
    assert escape_for_log("ok\nERROR forged line\r\x1b[31m\u2028") == r"ok\nERROR forged line\r\x1b[31m\u2028"
    assert escape_for_log("café 🍕 plain") == "café 🍕 plain"


def test_a_log_line_built_from_request_input_stays_one_line():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(EscapingFormatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("webhook from %s", "shop\nCRITICAL admin signed in")
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("failed for %s", "x\r\ny")
    finally:
        logger.removeHandler(handler)

    lines = stream.getvalue().splitlines()
    assert lines[0] == r"WARNING webhook from shop\nCRITICAL admin signed in"
    assert lines[1] == r"ERROR failed for x\r\ny"
    assert lines[2] == "Traceback (most recent call last):"  # a traceback keeps its lines
    assert lines[-1] == "ValueError: boom"
