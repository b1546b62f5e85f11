"""Webhook delivery from an emulator to Concord, with platform-like faults and retries."""

from __future__ import annotations

import itertools
import logging
import random
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .base import Emulator

logger = logging.getLogger(__name__)


@dataclass
class WebhookDelivery:
    id: int
    url: str
    body: bytes
    headers: dict
    label: str
    duplicate: bool
    due: float
    attempts: int = 0
    status: str = "queued"  # queued -> delivered | failed
    results: list = field(default_factory=list)  # per attempt: HTTP status or error text

    def record(self) -> dict:
        return {
            "id": self.id, "label": self.label, "duplicate": self.duplicate,
            "status": self.status, "attempts": self.attempts, "results": list(self.results),
            "headers": dict(self.headers), "body": self.body.decode("utf-8", "replace"),
        }


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # Platforms do not follow redirects from a webhook endpoint: a 3xx is a failure.
    def redirect_request(self, *args, **kwargs):
        return None


class WebhookDispatcher:
    """Delivers queued webhooks from background threads, with the platform-like faults.

    Redelivery of a failed attempt is scheduled, not slept on, so one failing webhook does
    not hold up the others. Redeliveries reuse the body and headers (as Shopify's retries
    reuse X-Shopify-Webhook-Id), except what `Emulator.webhook_attempt_headers` changes.
    """

    SHUFFLE_WINDOW_S = 0.05  # how long shuffled webhooks wait so later ones can overtake
    LOG_SIZE = 5000

    def __init__(self, emulator: Emulator):
        self.emulator = emulator
        self._cond = threading.Condition()
        self._queue: list[WebhookDelivery] = []
        self._in_flight = 0
        self._ids = itertools.count(1)
        self._threads: list[threading.Thread] = []
        self._stopping = False
        self._rng = random.Random()
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect)
        self.log: deque[WebhookDelivery] = deque(maxlen=self.LOG_SIZE)

    # enqueue side

    def enqueue(self, url: str, body: bytes, headers: dict, label: str = "") -> None:
        faults = self.emulator.faults
        copies = 2 if self._rng.random() < faults["duplicate_webhooks"] else 1
        with self._cond:
            for copy in range(copies):
                delivery = WebhookDelivery(
                    id=next(self._ids), url=url, body=body, headers=dict(headers), label=label,
                    duplicate=copy > 0, due=time.monotonic() + self._initial_delay(faults),
                )
                self._queue.append(delivery)
                self.log.append(delivery)
            self._ensure_workers()
            self._cond.notify_all()

    def _initial_delay(self, faults: dict) -> float:
        low, high = faults["webhook_delay_ms"]
        delay = self._rng.uniform(low, high) / 1000
        if faults["shuffle_webhooks"]:
            delay += self._rng.uniform(0, self.SHUFFLE_WINDOW_S)
        return delay

    def _ensure_workers(self) -> None:
        self._stopping = False
        self._threads = [t for t in self._threads if t.is_alive()]
        while len(self._threads) < max(1, self.emulator.webhook_workers):
            thread = threading.Thread(
                target=self._work, name=f"{self.emulator.platform}-webhooks", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    # worker side

    def _work(self) -> None:
        while True:
            delivery = self._next_due()
            if delivery is None:
                return
            try:
                self._attempt(delivery)
            finally:
                with self._cond:
                    self._in_flight -= 1
                    self._cond.notify_all()

    def _next_due(self) -> WebhookDelivery | None:
        with self._cond:
            while not self._stopping:
                now = time.monotonic()
                due = [d for d in self._queue if d.due <= now]
                if due:
                    if self.emulator.faults["shuffle_webhooks"]:
                        chosen = self._rng.choice(due)
                    else:
                        chosen = min(due, key=lambda d: (d.due, d.id))
                    self._queue.remove(chosen)
                    self._in_flight += 1
                    return chosen
                wait = min((d.due for d in self._queue), default=now + 1.0) - now
                self._cond.wait(timeout=max(0.001, min(wait, 1.0)))
            return None

    def _attempt(self, delivery: WebhookDelivery) -> None:
        delivery.attempts += 1
        last_result = delivery.results[-1] if delivery.results else None
        headers = self.emulator.webhook_attempt_headers(
            dict(delivery.headers), delivery.attempts, last_result
        )
        result = self._post(delivery.url, delivery.body, headers)
        delivery.results.append(result)
        if isinstance(result, int) and 200 <= result < 300:
            delivery.status = "delivered"
            return
        if delivery.attempts >= self.emulator.webhook_max_attempts:
            delivery.status = "failed"
            logger.warning("%s webhook %s gave up after %s attempts: %s",
                           self.emulator.platform, delivery.label, delivery.attempts, result)
            return
        backoff = self.emulator.webhook_retry_base_s * 2 ** (delivery.attempts - 1)
        with self._cond:
            delivery.due = time.monotonic() + backoff
            self._queue.append(delivery)
            self._cond.notify_all()

    def _post(self, url: str, body: bytes, headers: dict) -> int | str:
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with self._opener.open(request, timeout=self.emulator.webhook_timeout_s) as answer:
                answer.read()
                return answer.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except (urllib.error.URLError, OSError) as exc:
            return f"{type(exc).__name__}: {exc}"

    # control side

    def flush(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(timeout=min(remaining, 0.05))
            return True

    def clear(self) -> None:
        with self._cond:
            for delivery in self._queue:
                delivery.status = "failed"
                delivery.results.append("discarded by reset")
            self._queue.clear()
            self.log.clear()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()

    def summary(self) -> dict:
        with self._cond:
            counts = {"queued": 0, "delivered": 0, "failed": 0}
            for delivery in self.log:
                counts[delivery.status] += 1
            return counts
