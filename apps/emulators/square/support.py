"""Square shapes the emulator shares between its modules: ids, times, money, errors.

Sources: SQ-SPEC (`square/connect-api-specification` api.json, Square-Version 2025-08-20)
for field names and the error envelope; fixtures/platforms/square_*.json for examples.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import string
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from apps.demo import demo_data

CURRENCY = demo_data.CURRENCY
MERCHANT_ID = "MLCONCORDDEMO"  # the demo seller's merchant id; any 13-char id would do

_ALPHABET = string.ascii_letters + string.digits


def catalog_id(kind: str, key: str) -> str:
    """A deterministic 24-character catalog id (Square's look: upper-case base32), so a
    restarted emulator and Concord's stored mappings agree."""
    digest = hashlib.sha256(f"square:{kind}:{key}".encode()).digest()
    return base64.b32encode(digest).decode()[:24]


def random_id(length: int = 29) -> str:
    """An order/payment/refund id: Square's are ~29 base62 characters."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def now() -> datetime:
    return datetime.now(UTC)


def rfc3339(moment: datetime) -> str:
    """`2020-01-17T20:47:53.293Z`, as in Square's examples."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_rfc3339(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None  # RFC 3339 requires an offset
    return moment.astimezone(UTC)


def money(amount: int) -> dict:
    return {"amount": int(amount), "currency": CURRENCY}


def quantity_text(value: Decimal) -> str:
    """A decimal quantity as Square writes it: "53", "1.5" (no exponent, no trailing zeros)."""
    normalized = value.normalize()
    if normalized == normalized.to_integral():
        return str(int(normalized))
    return format(normalized, "f")


def parse_quantity(value: object) -> Decimal | None:
    """A Square quantity string, or None when it is not one (Square wants strings)."""
    if not isinstance(value, str) or not 1 <= len(value) <= 12:
        return None
    try:
        parsed = Decimal(value)
    except InvalidOperation:
        return None
    return parsed if parsed.is_finite() else None


ONE_DAY = timedelta(hours=24)
CLOCK_SKEW = timedelta(seconds=5)


class SquareError(Exception):
    """One or more errors in Square's envelope, answered with `status`."""

    def __init__(self, status: int, category: str, code: str, detail: str = "",
                 field: str | None = None):
        super().__init__(detail or code)
        self.status = status
        self.errors = [_error(category, code, detail, field)]

    @classmethod
    def many(cls, status: int, errors: list[dict]) -> SquareError:
        error = cls(status, errors[0]["category"], errors[0]["code"])
        error.errors = errors
        return error

    def body(self) -> dict:
        return {"errors": self.errors}

    @property
    def detail(self) -> str:
        first = self.errors[0]
        return first.get("detail", first["code"])


def _error(category: str, code: str, detail: str = "", field: str | None = None) -> dict:
    error = {"category": category, "code": code}
    if detail:
        error["detail"] = detail
    if field:
        error["field"] = field
    return error


def invalid(code: str, detail: str, field: str | None = None) -> SquareError:
    return SquareError(400, "INVALID_REQUEST_ERROR", code, detail, field)


def missing(field: str) -> SquareError:
    return invalid("MISSING_REQUIRED_PARAMETER", f"Field must be set: `{field}`.", field)


def not_found(detail: str, field: str | None = None) -> SquareError:
    return SquareError(404, "INVALID_REQUEST_ERROR", "NOT_FOUND", detail, field)


def key_reused() -> SquareError:
    # Detail text as reported on Square's developer forum [secondary].
    return invalid("IDEMPOTENCY_KEY_REUSED",
                   "The idempotency key can only be retried with the same request data.",
                   "idempotency_key")


def require_idempotency_key(body: dict, max_length: int) -> str:
    key = body.get("idempotency_key")
    if key is None or key == "":
        raise missing("idempotency_key")
    if not isinstance(key, str):
        raise invalid("EXPECTED_STRING", "Expected a string value.", "idempotency_key")
    if len(key) > max_length:
        raise invalid("VALUE_TOO_LONG",
                      f"Must be at most {max_length} characters long.", "idempotency_key")
    return key


class IdempotencyStore:
    """Square's rule: the same key and request replays the first answer; the same key with
    another request is IDEMPOTENCY_KEY_REUSED. Keys are scoped per endpoint; Square's
    retention window is not documented here [unverified], so keys live until reset."""

    def __init__(self):
        self._answers: dict[tuple[str, str], tuple[str, int, dict]] = {}

    def replay(self, endpoint: str, key: str, fingerprint: str) -> tuple[int, dict] | None:
        stored = self._answers.get((endpoint, key))
        if stored is None:
            return None
        if stored[0] != fingerprint:
            raise key_reused()
        return stored[1], stored[2]

    def remember(self, endpoint: str, key: str, fingerprint: str, status: int, body: dict):
        self._answers[(endpoint, key)] = (fingerprint, status, body)


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def decode_cursor(cursor: object, size: int) -> int:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(str(cursor).encode()).decode()
        offset = int(text.removeprefix("offset:")) if text.startswith("offset:") else -1
    except (ValueError, UnicodeDecodeError):
        offset = -1
    if not 0 <= offset <= size:
        raise invalid("INVALID_CURSOR", "The pagination cursor is not valid.", "cursor")
    return offset
