"""Fault settings: what `POST /__emulator/faults` accepts and how it is validated."""

from __future__ import annotations

from typing import Any

from .messages import ControlError

DEFAULT_FAULTS: dict[str, Any] = {
    "error_rate": 0.0,
    "rate_limit_rate": 0.0,
    "retry_after_s": 1.0,
    "timeout_rate": 0.0,
    "timeout_hold_s": 20.0,
    "drop_rate": 0.0,
    "latency_ms": [0, 0],
    "duplicate_webhooks": 0.0,
    "shuffle_webhooks": False,
    "webhook_delay_ms": [0, 0],
}

_RATE_KEYS = ("error_rate", "rate_limit_rate", "timeout_rate", "drop_rate")
_SECONDS_KEYS = ("retry_after_s", "timeout_hold_s")
_RANGE_KEYS = ("latency_ms", "webhook_delay_ms")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _clean_rate(key: str, value: Any) -> float:
    if isinstance(value, bool):  # duplicate_webhooks: true means every webhook twice
        return 1.0 if value else 0.0
    if not _is_number(value) or not 0 <= value <= 1:
        raise ControlError(f"{key} must be a number between 0 and 1")
    return float(value)


def _clean_range(key: str, value: Any) -> list[float]:
    if _is_number(value):
        value = [value, value]
    if (
        not isinstance(value, list) or len(value) != 2
        or not all(_is_number(v) and v >= 0 for v in value) or value[0] > value[1]
    ):
        raise ControlError(f"{key} must be [min, max] with 0 <= min <= max")
    return [float(value[0]), float(value[1])]


def clean_faults(current: dict, changes: Any) -> dict:
    """Merge a fault request into the current settings; missing keys stay as they are."""
    if not isinstance(changes, dict):
        raise ControlError("body must be a JSON object")
    unknown = set(changes) - set(DEFAULT_FAULTS)
    if unknown:
        raise ControlError(f"unknown fault keys: {', '.join(sorted(unknown))}")
    merged = dict(current)
    for key, value in changes.items():
        if key in _RATE_KEYS or key == "duplicate_webhooks":
            merged[key] = _clean_rate(key, value)
        elif key in _SECONDS_KEYS:
            if not _is_number(value) or value < 0:
                raise ControlError(f"{key} must be a number of seconds >= 0")
            merged[key] = float(value)
        elif key in _RANGE_KEYS:
            merged[key] = _clean_range(key, value)
        elif key == "shuffle_webhooks":
            if not isinstance(value, bool):
                raise ControlError("shuffle_webhooks must be true or false")
            merged[key] = value
    return merged
