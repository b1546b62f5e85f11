"""PlatformClient: what each kind of failure means for the caller (retry or not, and when),
against a real local server whose answers the test scripts. No database."""

import email.utils
import time

import pytest
import requests

from apps.connectors.http import PlatformClient, PlatformError, parse_retry_after
from apps.emulators.base import Emulator, Request, Response


class ScriptedServer(Emulator):
    """Answers GET /answer with the status, body and headers queued in `script`."""

    platform = "scripted"

    def reset_state(self, seed):
        self.script: list[Response] = []
        self.seen_headers = []

    def snapshot(self):
        return {}

    def routes(self):
        return [("GET", r"/answer", self.answer), ("POST", r"/answer", self.answer)]

    def answer(self, request: Request) -> Response:
        self.seen_headers.append(dict(request.headers))
        return self.script.pop(0) if self.script else Response.json(200, {"ok": True})


class ToyClient(PlatformClient):
    platform = "toy"

    def default_headers(self):
        return {**super().default_headers(), "X-Toy-Key": "k"}

    def parse_error(self, response):
        error = response.json()["error"]
        return error["code"], error["message"]


@pytest.fixture
def server():
    running = ScriptedServer().serve(port=0)
    yield running
    running.shutdown()


@pytest.fixture
def client(server):
    return ToyClient(server.url + "/", timeout=(1, 0.5))


def queue(server, *responses):
    server.emulator.script.extend(responses)


def failure(client, method="GET") -> PlatformError:
    with pytest.raises(PlatformError) as caught:
        client.request(method, "/answer")
    return caught.value


def test_success_returns_the_response_with_default_headers(client, server):
    response = client.request("GET", "/answer", headers={"X-Extra": "1"})
    assert response.json() == {"ok": True}
    seen = server.emulator.seen_headers[0]
    assert (seen["X-Toy-Key"], seen["X-Extra"], seen["Accept"]) == ("k", "1", "application/json")
    assert client.request_json("POST", "answer", json={"a": 1}) == {"ok": True}


def test_429_is_retryable_after_retry_after(client, server):
    queue(server, Response.json(429, {"error": {"code": "RATE_LIMITED", "message": "slow"}},
                                {"Retry-After": "2.0"}))
    error = failure(client)
    assert (error.status, error.code, error.detail) == (429, "RATE_LIMITED", "slow")
    assert error.retryable is True
    assert error.retry_after == 2.0
    assert error.platform == "toy"


def test_5xx_is_retryable(client, server):
    queue(server, Response.json(503, {"error": {"code": "DOWN", "message": "maintenance"}}))
    error = failure(client)
    assert (error.status, error.code, error.retryable, error.retry_after) == (503, "DOWN", True, None)


def test_other_4xx_is_not_retryable_and_parsed_by_the_subclass(client, server):
    queue(server, Response.json(400, {"error": {"code": "INVALID_VALUE", "message": "bad sku"}}))
    error = failure(client)
    assert (error.status, error.code, error.detail) == (400, "INVALID_VALUE", "bad sku")
    assert error.retryable is False
    assert "INVALID_VALUE" in str(error)


def test_unparseable_error_body_keeps_the_status(client, server):
    queue(server, Response(502, b"<html>Bad gateway</html>", {"Content-Type": "text/html"}))
    error = failure(client)
    assert (error.status, error.code, error.retryable) == (502, "http_502", True)
    assert "Bad gateway" in error.detail


def test_dropped_connection_is_a_retryable_network_error(client, server):
    server.emulator.set_faults({"drop_rate": 1.0})
    error = failure(client, "POST")
    assert (error.status, error.code, error.retryable) == (None, "network", True)


def test_read_timeout_is_a_retryable_network_error(client, server):
    server.emulator.set_faults({"timeout_rate": 1.0, "timeout_hold_s": 1.0})
    started = time.monotonic()
    error = failure(client)
    assert (error.code, error.retryable) == ("network", True)
    assert "Timeout" in error.detail
    assert time.monotonic() - started < 0.95


def test_refused_connection_is_a_retryable_network_error():
    error = failure(ToyClient("http://127.0.0.1:9", timeout=(0.5, 0.5)))
    assert (error.status, error.code, error.retryable) == (None, "network", True)


def test_undecodable_success_body_is_a_retryable_bad_response(client, server):
    queue(server, Response(200, b"{truncated"))
    with pytest.raises(PlatformError) as caught:
        client.request_json("GET", "/answer")
    assert (caught.value.code, caught.value.retryable) == ("bad_response", True)


def test_a_shared_session_is_used(server):
    session = requests.Session()
    client = ToyClient(server.url, session=session)
    assert client.session is session
    assert client.request("GET", "/answer").status_code == 200


def test_retry_after_accepts_seconds_and_http_dates():
    assert parse_retry_after("1.5") == 1.5
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 28 <= parse_retry_after(later) <= 30
