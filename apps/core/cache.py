"""Small per-process memos for rows that change rarely and are read on every request (API
keys, locations), each bounded in size and saying how stale it may be.

Where stale is not acceptable (a revoked API key), the memo is keyed by a shared
generation counter that every process reads per request: bumping it in the database
retires every process's entries at once."""

from __future__ import annotations

import functools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from django.db import connection

_registry: list[Callable[[], None]] = []

DEFAULT_MAXSIZE = 1024


def ttl_memo(seconds: float, *, maxsize: int = DEFAULT_MAXSIZE):
    """Remember a function's answers for `seconds`, at most `maxsize` of them (the least
    recently used goes first), so a caller sending random arguments cannot grow it."""

    def decorate(function):
        entries: OrderedDict = OrderedDict()
        lock = threading.Lock()

        @functools.wraps(function)
        def wrapper(*args):
            now = time.monotonic()
            with lock:
                hit = entries.get(args)
                if hit is not None and hit[0] > now:
                    entries.move_to_end(args)
                    return hit[1]
            value = function(*args)
            with lock:
                entries[args] = (now + seconds, value)
                entries.move_to_end(args)
                while len(entries) > maxsize:
                    entries.popitem(last=False)
            return value

        def clear():
            with lock:
                entries.clear()

        wrapper.cache_clear = clear
        wrapper.cache_len = lambda: len(entries)
        _registry.append(clear)
        return wrapper

    return decorate


def clear_all() -> None:
    """Forget every memo (tests, and after a catalog or key change in this process)."""
    for clear in _registry:
        clear()


def read_generation(name: str) -> int:
    """The shared generation `name` (0 until first bumped): one primary-key read."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM core_sharedgeneration WHERE name = %s", [name])
        row = cursor.fetchone()
    return row[0] if row else 0


def bump_generation(name: str) -> None:
    """Retire every process's memo keyed by generation `name` (when the caller's
    transaction commits)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO core_sharedgeneration (name, value) VALUES (%s, 1) "
            "ON CONFLICT (name) DO UPDATE SET value = core_sharedgeneration.value + 1",
            [name],
        )
