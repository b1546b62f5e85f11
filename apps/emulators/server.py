"""The HTTP plumbing: a threading server whose handler hands every request to an emulator."""

from __future__ import annotations

import contextlib
import logging
import socket
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from .messages import DropConnection, Headers, Request, Response

if TYPE_CHECKING:
    from .base import Emulator

logger = logging.getLogger(__name__)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128


class _EmulatorRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the connectors' sessions expect
    # Headers and body go out as two writes; without TCP_NODELAY a reused connection
    # waits ~40 ms (Nagle + delayed ACK) on every request.
    disable_nagle_algorithm = True
    emulator: Emulator

    def do_GET(self):
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    def _dispatch(self) -> None:
        request = self._read_request()
        if request is None:
            return
        try:
            response = self.emulator.handle(request)
        except DropConnection:
            self._close_without_answer()
            return
        self._write(response)

    def _read_request(self) -> Request | None:
        length = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self._write(Response.json(411, {"error": "chunked bodies are not supported"}))
            self.close_connection = True
            return None
        body = self.rfile.read(int(length)) if length else b""
        split = urlsplit(self.path)
        return Request(
            method=self.command.upper(), path=split.path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers=Headers(list(self.headers.items())), body=body,
        )

    def _write(self, response: Response) -> None:
        payload, headers = response.encode()
        self.send_response(response.status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _close_without_answer(self) -> None:
        # RST rather than FIN, so the client sees the connection die with no answer at all.
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()

    def handle_one_request(self) -> None:
        with contextlib.suppress(ConnectionError):
            super().handle_one_request()

    def log_message(self, format: str, *args) -> None:
        logger.debug("%s %s", self.emulator.platform, format % args)


def _handler_class(emulator: Emulator) -> type[_EmulatorRequestHandler]:
    name = f"{type(emulator).__name__}Handler"
    return type(name, (_EmulatorRequestHandler,), {"emulator": emulator})


class RunningEmulator:
    """A served emulator: `.url`, `.port`, `.emulator`; `shutdown()` stops it."""

    def __init__(self, emulator: Emulator, server: _Server, thread: threading.Thread):
        self.emulator = emulator
        self._server = server
        self._thread = thread
        self.host, self.port = server.server_address[:2]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def shutdown(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self.emulator.webhooks.stop()
        self._thread.join(timeout=5)

    def __enter__(self) -> RunningEmulator:
        return self

    def __exit__(self, *exc_info) -> None:
        self.shutdown()


def make_server(emulator: Emulator, host: str, port: int) -> RunningEmulator:
    server = _Server((host, port), _handler_class(emulator))
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1},
        name=f"{emulator.platform}-emulator", daemon=True,
    )
    thread.start()
    return RunningEmulator(emulator, server, thread)
