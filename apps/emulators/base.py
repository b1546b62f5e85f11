"""The machinery every platform emulator shares.

An emulator is a small HTTP server on loopback that serves one platform's documented
endpoints from in-memory state, sends signed webhooks to Concord when that state changes,
and can be told to misbehave the way real platforms do (5xx, 429, latency, dropped and
hung connections, duplicate and reordered webhooks). Tests, benchmarks and the demo drive
every emulator through the same control API under `/__emulator/` (CONNECTORS.md).

This module is stdlib only: no Django, no database. A platform subclass supplies its
routes and state through the hooks on `Emulator`; the base runs each handler under
`self.lock`, so a handler sees and leaves the state consistent, and applies faults around
it so an injected error never changes state.

Subclass contract, in short:
- set configuration attributes before calling `super().__init__()`: the base calls
  `reset_state(seed)` at the end of its own `__init__`;
- `routes()` returns `(METHOD, path regex, handler)`; the regex is matched against the
  whole path (query string excluded), its named groups land in `request.params`;
- handlers return `Response`; `request.json()` raising `BadJson` is answered with
  `bad_json_response` (the platform's 400);
- raise `ControlError` from `ring_sale`/`set_stock`/`make_refund`/`set_order_state` for bad
  control input;
- `webhook_attempt_headers` lets a platform number its redeliveries (Square's
  `square-retry-number`, Toast's `Toast-Attempt-Number`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import re
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .faults import DEFAULT_FAULTS, clean_faults
from .messages import BadJson, ControlError, DropConnection, Headers, Request, Response
from .ratelimit import TokenBucket, format_retry_after
from .server import RunningEmulator, make_server
from .webhooks import WebhookDelivery, WebhookDispatcher

__all__ = [
    "DEFAULT_FAULTS", "BadJson", "ControlError", "Emulator", "Headers", "Request", "Response",
    "RunningEmulator", "TokenBucket", "WebhookDelivery", "WebhookDispatcher", "format_retry_after",
]

logger = logging.getLogger(__name__)

CONTROL_PREFIX = "/__emulator/"

Handler = Callable[[Request], Response]


class Emulator:
    platform: str = ""

    # Webhook delivery: a short bounded backoff so tests and demos see redelivery quickly.
    # Instances may change these (tests use smaller values).
    webhook_retry_base_s: float = 0.2
    webhook_max_attempts: int = 6
    webhook_timeout_s: float = 5.0  # Shopify allows 5 s in total, Square 10 s
    webhook_workers: int = 1  # one worker keeps delivery order when shuffling is off

    DROP_APPLIED_CHANCE = 0.5  # a dropped request ran its handler this often
    DROP_LOG_SIZE = 1000

    def __init__(
        self,
        *,
        concord_url: str = "http://127.0.0.1:8000",
        seed: bool = True,
        rate_limits: bool = True,
    ):
        self.concord_url = concord_url.rstrip("/")
        self.rate_limits = rate_limits
        self.lock = threading.RLock()
        self.faults: dict = dict(DEFAULT_FAULTS)
        self.rng = random.Random()
        self.webhooks = WebhookDispatcher(self)
        self._counter_lock = threading.Lock()
        self._reset_counters()
        self._compiled_routes: list[tuple[str, re.Pattern, Handler]] | None = None
        with self.lock:
            self.reset_state(seed)

    # -- subclass hooks ------------------------------------------------------------------

    def routes(self) -> list[tuple[str, str, Handler]]:
        return []

    def reset_state(self, seed: bool) -> None:
        raise NotImplementedError

    def snapshot(self) -> dict:
        raise NotImplementedError

    def ring_sale(self, body: dict) -> dict:
        raise NotImplementedError

    def set_stock(self, body: dict) -> dict:
        raise NotImplementedError

    def make_refund(self, body: dict) -> dict:
        raise NotImplementedError

    def set_order_state(self, body: dict) -> dict:
        """Staff close (`closed`), void (`voided`) or cancel (`cancelled`) an order as the
        platform's own UI does, and the platform's webhooks follow; a state the platform
        does not allow from where the order is raises `ControlError(..., 409)`."""
        raise NotImplementedError

    def settle(self, body: dict) -> dict:
        """`{"through": ISO 8601}`: every settlement window that ended by then becomes a
        payout or deposit on the platform's schedule (idempotent); answers what it made."""
        raise ControlError(f"{self.platform} does not settle", 404)

    def open_dispute(self, body: dict) -> dict:
        """`{"payment_id", "amount"}`: a chargeback on a payment, in the next payout."""
        raise ControlError(f"{self.platform} has no disputes here", 404)

    def adjust_fee(self, body: dict) -> dict:
        """`{"location", "amount", "created_at"?}`: the processor trues up its fees by
        `amount` cents (positive: it takes more), in the next payout or deposit."""
        raise ControlError(f"{self.platform} has no fee adjustments here", 404)

    def exports(self) -> dict[str, Callable[[Request], str]]:
        """CSV files the merchant downloads from the platform, by control path
        (`exports/toast/PaymentDetails.csv`): each answers the file's text."""
        return {}

    def authenticate(self, request: Request) -> Response | None:
        return None

    def error_response(self, request: Request, status: int) -> Response:
        return Response.json(status, {"error": "internal error"})

    def rate_limit_response(self, request: Request, retry_after: float) -> Response:
        return Response.json(429, {"error": "rate limited"},
                             {"Retry-After": format_retry_after(retry_after)})

    def check_rate_limit(self, request: Request) -> float | None:
        return None

    def bad_json_response(self, request: Request, error: BadJson) -> Response:
        return self.error_response(request, 400)

    def not_found_response(self, request: Request) -> Response:
        return Response.json(404, {"error": "Not Found"})

    def webhook_attempt_headers(self, headers: dict, attempt: int, last_result: Any) -> dict:
        """Headers for delivery attempt `attempt` (1 = first send); platforms number retries."""
        return headers

    # -- webhooks --------------------------------------------------------------------------

    @property
    def webhook_url(self) -> str:
        return f"{self.concord_url}/webhooks/{self.platform}/"

    def send_webhook(self, body: bytes, headers: dict, *, label: str = "") -> None:
        """Queue a POST of `body` to Concord; faults and retries are the dispatcher's job."""
        headers = {"Content-Type": "application/json", **headers}
        self.webhooks.enqueue(self.webhook_url, body, headers, label)

    def flush_webhooks(self, timeout: float = 10.0) -> bool:
        return self.webhooks.flush(timeout)

    @property
    def webhook_log(self) -> list[dict]:
        return [d.record() for d in list(self.webhooks.log)]

    # -- request counting ----------------------------------------------------------------

    def _reset_counters(self) -> None:
        with self._counter_lock:
            self._counts = {"total": 0, "faulted": 0, "throttled": 0, "errors": 0,
                            "rate_limited": 0, "timeouts": 0, "drops": 0}
            self._by_route: dict[str, int] = {}
            self._dropped: deque[dict] = deque(maxlen=self.DROP_LOG_SIZE)

    def _count(self, *keys: str) -> None:
        with self._counter_lock:
            for key in keys:
                self._counts[key] += 1

    def _record_drop(self, kind: str, request: Request, applied: bool) -> None:
        with self._counter_lock:
            self._dropped.append({"kind": kind, "method": request.method, "path": request.path,
                                  "applied": applied, "at": time.time()})

    def _count_route(self, method: str, pattern: re.Pattern) -> None:
        key = f"{method} {pattern.pattern}"
        with self._counter_lock:
            self._by_route[key] = self._by_route.get(key, 0) + 1

    def request_counts(self) -> dict:
        with self._counter_lock:
            return {**self._counts, "by_route": dict(self._by_route), "dropped": list(self._dropped)}

    # -- control API -----------------------------------------------------------------------

    def state_document(self) -> dict:
        with self.lock:
            document = {"platform": self.platform, **self.snapshot()}
        for key in ("locations", "orders", "refunds", "payments", "payouts"):
            document.setdefault(key, [])
        document.setdefault("stock", {})
        document["requests"] = self.request_counts()
        document["webhooks"] = self.webhooks.summary()
        return document

    def reset(self, seed: bool) -> None:
        self.webhooks.clear()
        with self.lock:
            self.reset_state(seed)
        self._reset_counters()

    def set_faults(self, changes: Any) -> dict:
        with self.lock:
            self.faults = clean_faults(self.faults, changes)
            return dict(self.faults)

    def clear_faults(self) -> dict:
        with self.lock:
            self.faults = dict(DEFAULT_FAULTS)
            return dict(self.faults)

    def handle_control(self, request: Request) -> Response:
        action = request.path[len(CONTROL_PREFIX):].strip("/")
        try:
            return self._control(request.method, action, request)
        except BadJson as exc:
            return Response.json(400, {"error": f"body is not valid JSON: {exc}"})
        except ControlError as exc:
            return Response.json(exc.status, {"error": str(exc)})

    def _control(self, method: str, action: str, request: Request) -> Response:
        if (method, action) == ("GET", "health"):
            return Response.json(200, {"platform": self.platform, "ok": True})
        if (method, action) == ("GET", "state"):
            document = self.state_document()
            only = request.query.get("only")
            if only:  # e.g. ?only=stock: what a poller of counts needs, without every order
                keep = {"platform", *only[0].split(",")}
                document = {key: value for key, value in document.items() if key in keep}
            return Response.json(200, document)
        if (method, action) == ("GET", "webhooks"):
            return Response.json(200, {"platform": self.platform, "deliveries": self.webhook_log})
        if (method, action) == ("POST", "faults"):
            return Response.json(200, self.set_faults(_control_body(request)))
        if (method, action) == ("DELETE", "faults"):
            return Response.json(200, self.clear_faults())
        if (method, action) == ("POST", "reset"):
            body = _control_body(request)
            self.reset(seed=bool(body.get("seed", False)))
            return Response.json(200, {"platform": self.platform, "ok": True,
                                       "seed": bool(body.get("seed", False))})
        actions = {"sale": self.ring_sale, "stock": self.set_stock, "refund": self.make_refund,
                   "order-state": self.set_order_state, "settle": self.settle,
                   "dispute": self.open_dispute, "fee-adjustment": self.adjust_fee}
        if method == "POST" and action in actions:
            body = _control_body(request)
            with self.lock:
                return Response.json(200, actions[action](body))
        export = self.exports().get(action) if method == "GET" else None
        if export is not None:
            with self.lock:
                return Response(200, export(request), {"Content-Type": "text/csv; charset=utf-8"})
        return Response.json(404, {"error": f"no control call {method} /__emulator/{action}"})

    # -- platform requests -------------------------------------------------------------------

    def _routes(self) -> list[tuple[str, re.Pattern, Handler]]:
        if self._compiled_routes is None:
            self._compiled_routes = [
                (method.upper(), re.compile(pattern), handler)
                for method, pattern, handler in self.routes()
            ]
        return self._compiled_routes

    def match(self, request: Request) -> Handler | None:
        for method, pattern, handler in self._routes():
            found = pattern.fullmatch(request.path)
            if found and method == request.method:
                self._count_route(method, pattern)
                request.params = {k: v for k, v in found.groupdict().items() if v is not None}
                return handler
        return None

    def handle(self, request: Request) -> Response:
        """Answer one request: control calls plainly, platform calls through the faults.

        Raises `DropConnection` when the connection must be closed without an answer.
        """
        if request.path.startswith(CONTROL_PREFIX):
            return self.handle_control(request)
        self._count("total")
        self._sleep_latency()
        injected = self._injected_fault(request)
        if injected is not None:
            return injected
        return self._serve_platform(request)

    def _sleep_latency(self) -> None:
        low, high = self.faults["latency_ms"]
        if high > 0:
            time.sleep(self.rng.uniform(low, high) / 1000)

    def _injected_fault(self, request: Request) -> Response | None:
        faults = self.faults
        if self.rng.random() < faults["rate_limit_rate"]:
            self._count("faulted", "rate_limited")
            return self.rate_limit_response(request, faults["retry_after_s"])
        if self.rng.random() < faults["error_rate"]:
            self._count("faulted", "errors")
            return self.error_response(request, 500)
        if self.rng.random() < faults["timeout_rate"]:
            self._count("faulted", "timeouts")
            self._hang_then_drop(request, faults["timeout_hold_s"])
        if self.rng.random() < faults["drop_rate"]:
            self._count("faulted", "drops")
            self._drop(request, "drop")
        return None

    def _hang_then_drop(self, request: Request, hold_s: float) -> None:
        # A platform that hangs may still act (Toast documents exactly this), so the hung
        # request, like a dropped one, decides at random whether it took effect. The effect
        # happens on arrival, so a client that looks before it retries can see it.
        applied = self._maybe_apply(request)
        time.sleep(hold_s)
        self._record_drop("timeout", request, applied)
        raise DropConnection()

    def _drop(self, request: Request, kind: str) -> None:
        applied = self._maybe_apply(request)
        self._record_drop(kind, request, applied)
        raise DropConnection()

    def _maybe_apply(self, request: Request) -> bool:
        applied = self.rng.random() < self.DROP_APPLIED_CHANCE
        if applied:
            with contextlib.suppress(Exception):
                self._serve_platform(request)
        return applied

    def _serve_platform(self, request: Request) -> Response:
        handler = self.match(request)
        if handler is None:
            return self.not_found_response(request)
        denied = self.authenticate(request)
        if denied is not None:
            return denied
        if self.rate_limits:
            wait = self.check_rate_limit(request)
            if wait:
                self._count("throttled")
                return self.rate_limit_response(request, wait)
        try:
            with self.lock:
                return handler(request)
        except BadJson as exc:
            return self.bad_json_response(request, exc)
        except Exception:
            logger.error("%s emulator handler failed:\n%s", self.platform, traceback.format_exc())
            return self.error_response(request, 500)

    # -- serving -----------------------------------------------------------------------------

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> RunningEmulator:
        return make_server(self, host, port)

    def call(
        self, method: str, path: str, *, body: Any = None, headers: dict | None = None
    ) -> Response:
        """Answer a request in-process (no socket, no faults) — handy for unit tests."""
        split = urlsplit(path)
        raw = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        raw = raw or b""
        request = Request(method.upper(), split.path, parse_qs(split.query, keep_blank_values=True),
                          Headers(headers or {}), raw)
        if request.path.startswith(CONTROL_PREFIX):
            return self.handle_control(request)
        return self._serve_platform(request)


ORDER_STATES = ("closed", "voided", "cancelled")


def order_state_request(body: dict) -> tuple[str, str]:
    """(order id, state) of an `/__emulator/order-state` body; ControlError if malformed."""
    order_id, state = body.get("order_id"), body.get("state")
    if not isinstance(order_id, str | int) or isinstance(order_id, bool) or not str(order_id):
        raise ControlError("order_id is required")
    if state not in ORDER_STATES:
        raise ControlError(f"state must be one of {', '.join(ORDER_STATES)}")
    return str(order_id), state


def _control_body(request: Request) -> dict:
    if not request.body.strip():
        return {}
    body = request.json()
    if not isinstance(body, dict):
        raise ControlError("body must be a JSON object")
    return body
