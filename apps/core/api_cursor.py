"""Opaque cursors of paginated API lists: the keyset of the last item, as URL-safe base64
of JSON. Clients pass `next` back unchanged; anything else is 422 `invalid_cursor`."""

from __future__ import annotations

import base64
import binascii
import json

from apps.core.errors import ValidationFailed

MAX_CURSOR_LENGTH = 200


def invalid_cursor() -> ValidationFailed:
    return ValidationFailed("This is not a cursor this API gave; pass `next` back unchanged.",
                            field="cursor", extra={"code": "invalid_cursor"})


def encode_cursor(*values) -> str:
    raw = json.dumps(list(values), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, *, arity: int) -> list:
    """The values `encode_cursor` packed; 422 `invalid_cursor` for anything it did not make."""
    try:
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise ValueError
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(values, list) or len(values) != arity:
            raise ValueError
        return values
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise invalid_cursor() from None
