"""Rate limiting shared by the emulators."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    """A bucket of `capacity` tokens refilled at `rate` per second.

    `take(cost)` removes `cost` tokens and returns 0, or, when too few are left, takes
    nothing and returns the seconds until there will be enough. Shopify's leaky bucket
    (40 requests, leaking 2/s) and its GraphQL cost bucket (1000 points, 100/s) are both
    this shape seen from the other side.
    """

    def __init__(
        self, rate: float, capacity: float, *, clock: Callable[[], float] = time.monotonic
    ):
        if rate <= 0 or capacity <= 0:
            raise ValueError("rate and capacity must be positive")
        self.rate = float(rate)
        self.capacity = float(capacity)
        self._clock = clock
        self._tokens = float(capacity)
        self._stamp = clock()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def take(self, cost: float = 1) -> float:
        with self._lock:
            self._refill()
            if cost <= self._tokens:
                self._tokens -= cost
                return 0.0
            if cost > self.capacity:
                return float("inf")  # can never fit; callers answer with their max-cost error
            return (cost - self._tokens) / self.rate

    def give_back(self, amount: float) -> None:
        """Refund tokens (Shopify charges the actual, not the requested, query cost)."""
        with self._lock:
            self._refill()
            self._tokens = min(self.capacity, self._tokens + amount)

    @property
    def available(self) -> float:
        with self._lock:
            self._refill()
            return self._tokens

    def reset(self) -> None:
        with self._lock:
            self._tokens = self.capacity
            self._stamp = self._clock()


def format_retry_after(seconds: float) -> str:
    """Retry-After as whole seconds when whole ("2"), else one decimal ("0.5")."""
    seconds = max(0.0, float(seconds))
    return str(int(seconds)) if seconds.is_integer() else f"{seconds:.1f}"
