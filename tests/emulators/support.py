"""Test support for the POS emulator tests: a tiny stand-in for Concord's webhook
endpoint, and a way to serve an emulator on a free loopback port."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from requests.structures import CaseInsensitiveDict


class WebhookReceiver:
    """Records every POST; answers with the statuses in `answers` first, then 200.

    Header names are matched case-insensitively, as HTTP requires (urllib, which the
    emulators deliver with, sends `Toast-restaurant-external-id`)."""

    def __init__(self):
        self.received: list[dict] = []
        self.answers: list[int] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    status = receiver.answers.pop(0) if receiver.answers else 200
                    receiver.received.append({
                        "path": self.path, "body": body, "status": status,
                        "headers": CaseInsensitiveDict(self.headers.items()),
                    })
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.01)
        raise AssertionError(f"expected {count} webhooks, got {len(self.received)}")

    def clear(self) -> None:
        with self._lock:
            self.received.clear()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextlib.contextmanager
def serve(emulator) -> Iterator:
    """Serve `emulator` on a free port, with quick webhook retries, until the block ends."""
    emulator.webhook_retry_base_s = 0.05
    running = emulator.serve(port=0)
    try:
        yield running
    finally:
        running.shutdown()
