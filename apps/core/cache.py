"""A small per-process TTL memo for rows that change rarely and are read on every request
(API keys, locations). Each cached function says how stale it may be."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable

_registry: list[Callable[[], None]] = []


def ttl_memo(seconds: float):
    def decorate(function):
        entries: dict = {}
        lock = threading.Lock()

        @functools.wraps(function)
        def wrapper(*args):
            now = time.monotonic()
            hit = entries.get(args)
            if hit is not None and hit[0] > now:
                return hit[1]
            value = function(*args)
            with lock:
                entries[args] = (now + seconds, value)
            return value

        wrapper.cache_clear = entries.clear
        _registry.append(entries.clear)
        return wrapper

    return decorate


def clear_all() -> None:
    """Forget every memo (tests, and after a catalog or key change in this process)."""
    for clear in _registry:
        clear()
