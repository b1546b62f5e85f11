"""Helpers for end-to-end connector tests: a worker thread, emulator reads, waiting."""

from __future__ import annotations

import threading
import time

import requests
from django.db import connections

from apps.connectors.enums import DeliveryStatus
from apps.connectors.models import Delivery, InboundEvent
from apps.connectors.tasks import sync_once


class BackgroundSync:
    """The worker, as a thread running sync passes (what the scheduled task loops over)."""

    def __init__(self, poll_every: float | None = None):
        self.stop_event = threading.Event()
        self.poll_every = poll_every
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        from apps.connectors.services.polling import poll_all

        next_poll = 0.0
        try:
            while not self.stop_event.is_set():
                if self.poll_every and time.monotonic() >= next_poll:
                    poll_all()
                    next_poll = time.monotonic() + self.poll_every
                if not any(sync_once().values()):
                    time.sleep(0.05)
        finally:
            connections.close_all()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_event.set()
        self.thread.join(timeout=30)


def stock_at(emulator, location: str, sku: str):
    state = requests.get(f"{emulator.url}/__emulator/state", params={"only": "stock"}, timeout=5).json()
    return state["stock"].get(location, {}).get(sku, {})


def emulator_state(emulator) -> dict:
    return requests.get(f"{emulator.url}/__emulator/state", timeout=10).json()


def wait_until(condition, *, timeout: float = 20.0, interval: float = 0.05, message=""):
    """Poll `condition` until it returns a truthy value; the bound only stops a hung test."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    said = message() if callable(message) else message
    raise AssertionError(f"timed out waiting: {said or condition}")


def quiescent() -> bool:
    waiting = Delivery.objects.filter(status__in=[DeliveryStatus.PENDING, DeliveryStatus.IN_FLIGHT])
    return not waiting.exists() and not InboundEvent.objects.filter(status="pending").exists()
