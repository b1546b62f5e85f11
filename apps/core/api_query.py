"""Query-string parameters of API reads, checked: a bad one is 422 naming its field."""

from __future__ import annotations

from datetime import UTC, datetime

from django.utils.dateparse import parse_datetime

from apps.core.errors import ValidationFailed

MAX_QUERY_LENGTH = 200
MAX_ID = 2**63 - 1


def query_text(params, name: str, max_length: int) -> str:
    value = params.get(name, "").strip()
    if len(value) > max_length:
        raise ValidationFailed(f"{name} is longer than {max_length} characters.", field=name,
                               extra={"code": "max_length"})
    return value


def query_id(params, name: str) -> int | None:
    """None when absent; present, a positive integer (an empty one is refused too)."""
    if name not in params:
        return None
    raw = params[name]
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_ID:
        raise ValidationFailed(f"{name} is an id: a positive integer.", field=name)
    return int(raw)


def query_datetime(params, name: str) -> datetime | None:
    if name not in params:
        return None
    raw = params[name]
    try:
        value = parse_datetime(raw)
    except ValueError:
        value = None
    if value is None:
        raise ValidationFailed(f"{name} is a date and time in ISO 8601, e.g. 2026-11-25T18:30:00Z.",
                               field=name)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def refuse_unknown(params, known: set[str]) -> None:
    """A misspelt filter (`?chanel=web`) is an error, never a silently wider answer."""
    unknown = sorted(set(params) - known)
    if unknown:
        raise ValidationFailed(f"Unknown query parameter {unknown[0]!r}; this endpoint takes "
                               f"{', '.join(sorted(known))}.", field=unknown[0],
                               extra={"code": "unknown_parameter"})
