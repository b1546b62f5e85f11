"""Idempotent API writes.

The record is inserted first, inside the write's own transaction. A second request with
the same key blocks on the unique index until the first commits, then replays its answer;
if the first rolled back, the second goes ahead as the first. A wait longer than the
database lock timeout becomes 409 request_in_progress. Only successful answers are bound
to a key: a refused request leaves nothing, so the client may retry it with the same key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

from django.db import OperationalError, connection, transaction
from psycopg import errors as pg_errors

from apps.core.errors import IdempotencyKeyReused, RequestInProgress, ValidationFailed
from apps.core.models import IdempotencyRecord

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class IdempotentResult:
    status: int
    body: dict
    replayed: bool


def request_fingerprint(*, method: str, path: str, data) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def validate_key(key: str | None) -> str:
    if key is None or not key.strip():
        raise ValidationFailed("Send an Idempotency-Key header with every write.",
                               field="Idempotency-Key", extra={"code": "idempotency_key_missing"})
    if len(key) > MAX_KEY_LENGTH:
        raise ValidationFailed(f"Idempotency-Key is longer than {MAX_KEY_LENGTH} characters.",
                               field="Idempotency-Key")
    if not key.isprintable():  # NUL cannot be stored; other control characters are typos
        raise ValidationFailed("Idempotency-Key holds a control character.", field="Idempotency-Key",
                               extra={"code": "invalid_characters"})
    return key.strip()


_CLAIM_SQL = (
    f"INSERT INTO {IdempotencyRecord._meta.db_table} (client_id, key, request_hash, created_at) "
    "VALUES (%s, %s, %s, now()) ON CONFLICT (client_id, key) DO NOTHING RETURNING id"
)
_STORE_SQL = (
    f"UPDATE {IdempotencyRecord._meta.db_table} "
    "SET response_status = %s, response_body = %s WHERE id = %s"
)


def run_idempotent(*, client_id: int, key: str, request_hash: str,
                   perform: Callable[[], tuple[int, dict]]) -> IdempotentResult:
    """Run `perform` once per (client, key); it runs inside the transaction and may raise."""
    with transaction.atomic():
        claimed_id = _claim(client_id=client_id, key=key, request_hash=request_hash)
        if claimed_id is None:
            return _replay(client_id=client_id, key=key, request_hash=request_hash)
        status, body = perform()
        with connection.cursor() as cursor:
            cursor.execute(_STORE_SQL, [status, json.dumps(body), claimed_id])
        return IdempotentResult(status, body, replayed=False)


def _claim(*, client_id: int, key: str, request_hash: str) -> int | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute(_CLAIM_SQL, [client_id, key, request_hash])
            row = cursor.fetchone()
    except OperationalError as exc:
        if isinstance(exc.__cause__, pg_errors.LockNotAvailable):
            raise RequestInProgress(
                "Another request with this Idempotency-Key is still running; retry shortly."
            ) from exc
        raise
    return row[0] if row else None


def _replay(*, client_id: int, key: str, request_hash: str) -> IdempotentResult:
    record = IdempotencyRecord.objects.get(client_id=client_id, key=key)
    if record.request_hash != request_hash:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was already used with a different request.",
            field="Idempotency-Key",
        )
    if record.response_status is None:  # cannot happen: answers are stored before commit
        raise RequestInProgress("The first request with this key has not finished.")
    return IdempotentResult(record.response_status, record.response_body, replayed=True)
