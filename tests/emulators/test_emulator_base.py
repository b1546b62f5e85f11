"""The shared emulator machinery, through a toy platform over real HTTP: routing, the
control API, fault injection, rate limiting and webhook delivery. No database."""

import json
import time

import pytest
import requests

from apps.emulators import EMULATORS, load_emulator
from apps.emulators.base import (
    DEFAULT_FAULTS,
    ControlError,
    Emulator,
    Request,
    Response,
    TokenBucket,
)
from tests.emulators.support import WebhookReceiver


class CounterEmulator(Emulator):
    """A platform with one counter: POST /v1/count adds `by` (JSON) and sends a webhook."""

    platform = "toy"
    token = "secret"
    bucket: TokenBucket | None = None

    def reset_state(self, seed):
        self.count = 10 if seed else 0

    def snapshot(self):
        return {"count": self.count}

    def routes(self):
        return [
            ("POST", r"/v1/count", self.increment),
            ("GET", r"/v1/items/(?P<item_id>\d+)", self.item),
            ("GET", r"/v1/boom", self.boom),
        ]

    def increment(self, request: Request) -> Response:
        body = request.json_object()
        self.count += body.get("by", 1)
        self.send_webhook(json.dumps({"count": self.count}).encode(), {"X-Toy-Event": "counted"})
        return Response.json(200, {"count": self.count})

    def item(self, request: Request) -> Response:
        return Response.json(200, {"id": request.params["item_id"], "q": request.arg("q")})

    def boom(self, request: Request) -> Response:
        raise RuntimeError("handler bug")

    def authenticate(self, request):
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return Response.json(401, {"toy_error": "unauthorized"})
        return None

    def error_response(self, request, status):
        return Response.json(status, {"toy_error": f"status {status}"})

    def rate_limit_response(self, request, retry_after):
        return Response.json(429, {"toy_error": "slow down"}, {"Retry-After": str(retry_after)})

    def bad_json_response(self, request, error):
        return Response.json(400, {"toy_error": "bad json"})

    def not_found_response(self, request):
        return Response.json(404, {"toy_error": "no such thing"})

    def check_rate_limit(self, request):
        return self.bucket.take() if self.bucket else None

    def ring_sale(self, body):
        if body.get("location") != "HQ":
            raise ControlError("unknown location")
        self.count -= 1
        return {"accepted": True, "order_id": "o-1"}

    def webhook_attempt_headers(self, headers, attempt, last_result):
        headers["X-Toy-Attempt"] = str(attempt)
        return headers


@pytest.fixture
def receiver():
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def toy(receiver):
    emulator = CounterEmulator(concord_url=receiver.url)
    emulator.webhook_retry_base_s = 0.02
    running = emulator.serve(port=0)
    session = requests.Session()
    session.headers["Authorization"] = "Bearer secret"
    running.session = session
    yield running
    running.shutdown()


def post_count(toy, by=1, **kwargs):
    return toy.session.post(toy.url + "/v1/count", json={"by": by}, **kwargs)


def control(toy, method, action, body=None):
    return requests.request(method, f"{toy.url}/__emulator/{action}", json=body, timeout=5)


def set_faults(toy, **faults):
    response = control(toy, "POST", "faults", faults)
    assert response.status_code == 200, response.text
    return response.json()


# -- registry -------------------------------------------------------------------------------------


def test_registry_names_every_platform_by_dotted_path():
    assert set(EMULATORS) == {"shopify", "square", "toast", "clover"}
    assert load_emulator("square").platform == "square"
    assert load_emulator("shopify").platform == "shopify"


# -- routing and platform-shaped answers -------------------------------------------------------------


def test_route_params_query_and_state_counting(toy):
    answer = toy.session.get(toy.url + "/v1/items/42?q=tacos")
    assert answer.json() == {"id": "42", "q": "tacos"}
    assert post_count(toy, by=5).json() == {"count": 15}
    state = control(toy, "GET", "state").json()
    assert state["platform"] == "toy"
    assert state["count"] == 15
    assert state["requests"]["total"] == 2
    assert state["requests"]["faulted"] == 0
    for key in ("locations", "orders", "refunds", "payments", "payouts"):
        assert state[key] == []
    assert state["stock"] == {}


def test_unknown_path_bad_json_auth_and_handler_bug_use_platform_shapes(toy):
    assert toy.session.get(toy.url + "/v2/nothing").json() == {"toy_error": "no such thing"}
    bad = toy.session.post(toy.url + "/v1/count", data=b"{not json",
                           headers={"Content-Type": "application/json"})
    assert (bad.status_code, bad.json()) == (400, {"toy_error": "bad json"})
    denied = requests.post(toy.url + "/v1/count", json={"by": 1})
    assert (denied.status_code, denied.json()) == (401, {"toy_error": "unauthorized"})
    broken = toy.session.get(toy.url + "/v1/boom")
    assert (broken.status_code, broken.json()) == (500, {"toy_error": "status 500"})
    assert toy.emulator.count == 10


# -- control API -------------------------------------------------------------------------------------


def test_health_and_reset(toy):
    assert control(toy, "GET", "health").json() == {"platform": "toy", "ok": True}
    post_count(toy)
    control(toy, "POST", "reset", {"seed": False})
    assert toy.emulator.count == 0
    control(toy, "POST", "reset", {"seed": True})
    assert control(toy, "GET", "state").json()["count"] == 10


def test_control_errors_are_json_and_change_nothing(toy):
    assert control(toy, "POST", "sale", {"location": "nowhere"}).status_code == 400
    assert control(toy, "POST", "sale", {"location": "nowhere"}).json() == {"error": "unknown location"}
    assert control(toy, "POST", "sale", {"location": "HQ"}).json() == {"accepted": True, "order_id": "o-1"}
    assert control(toy, "GET", "nope").status_code == 404
    assert toy.emulator.count == 9


def test_fault_settings_merge_validate_and_clear(toy):
    merged = set_faults(toy, error_rate=0.5, latency_ms=[1, 2])
    assert merged["error_rate"] == 0.5
    assert merged["latency_ms"] == [1, 2]
    assert set_faults(toy, drop_rate=0.1)["error_rate"] == 0.5  # missing keys stay
    for bad in ({"error_rate": 2}, {"latency_ms": [5, 1]}, {"bogus": 1}, {"shuffle_webhooks": "yes"}):
        response = control(toy, "POST", "faults", bad)
        assert response.status_code == 400, bad
    assert control(toy, "DELETE", "faults").json() == DEFAULT_FAULTS


def test_control_api_is_never_faulted(toy):
    set_faults(toy, error_rate=1.0, drop_rate=1.0, latency_ms=[300, 300])
    started = time.monotonic()
    assert control(toy, "GET", "state").status_code == 200
    assert time.monotonic() - started < 0.25


# -- faults -----------------------------------------------------------------------------------------


def test_injected_error_does_not_run_the_handler(toy):
    set_faults(toy, error_rate=1.0)
    answer = post_count(toy)
    assert (answer.status_code, answer.json()) == (500, {"toy_error": "status 500"})
    state = control(toy, "GET", "state").json()
    assert state["count"] == 10
    assert state["requests"]["faulted"] == 1
    assert toy.emulator.webhooks.summary()["queued"] == 0


def test_injected_rate_limit_carries_retry_after(toy):
    set_faults(toy, rate_limit_rate=1.0, retry_after_s=3)
    answer = post_count(toy)
    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "3.0"
    assert toy.emulator.count == 10


def test_dropped_connection_records_whether_it_took_effect(toy):
    set_faults(toy, drop_rate=1.0)
    for _ in range(12):
        with pytest.raises(requests.ConnectionError):
            post_count(toy)
    dropped = control(toy, "GET", "state").json()["requests"]["dropped"]
    applied = sum(entry["applied"] for entry in dropped)
    assert len(dropped) == 12
    assert toy.emulator.count == 10 + applied  # exactly the recorded ones took effect


def test_timeout_holds_then_drops(toy):
    set_faults(toy, timeout_rate=1.0, timeout_hold_s=0.3)
    with pytest.raises(requests.ReadTimeout):
        post_count(toy, timeout=0.1)
    time.sleep(0.4)
    dropped = control(toy, "GET", "state").json()["requests"]["dropped"]
    assert [entry["kind"] for entry in dropped] == ["timeout"]
    assert toy.emulator.count == 10 + dropped[0]["applied"]


def test_latency_is_added(toy):
    set_faults(toy, latency_ms=[80, 80])
    started = time.monotonic()
    post_count(toy)
    assert time.monotonic() - started >= 0.08


def test_rate_limit_hook_uses_the_token_bucket(toy):
    toy.emulator.bucket = TokenBucket(rate=1, capacity=2)
    assert [post_count(toy).status_code for _ in range(3)] == [200, 200, 429]
    state = control(toy, "GET", "state").json()
    assert state["requests"]["throttled"] == 1
    assert state["requests"]["faulted"] == 0
    toy.emulator.rate_limits = False
    assert post_count(toy).status_code == 200


# -- webhooks -----------------------------------------------------------------------------------------


def test_webhook_is_delivered_to_the_platform_path(toy, receiver):
    post_count(toy, by=2)
    [delivery] = receiver.wait_for(1)
    assert delivery["path"] == "/webhooks/toy/"
    assert json.loads(delivery["body"]) == {"count": 12}
    assert delivery["headers"]["X-Toy-Event"] == "counted"
    assert delivery["headers"]["X-Toy-Attempt"] == "1"
    assert delivery["headers"]["Content-Type"] == "application/json"


def test_failed_webhook_is_retried_with_backoff_until_2xx(toy, receiver):
    receiver.answers = [500, 503, 302]  # a redirect is a failure too
    post_count(toy)
    assert toy.emulator.flush_webhooks(5)
    deliveries = receiver.wait_for(4)
    assert [d["status"] for d in deliveries] == [500, 503, 302, 200]
    assert [d["headers"]["X-Toy-Attempt"] for d in deliveries] == ["1", "2", "3", "4"]
    assert len({d["body"] for d in deliveries}) == 1
    [record] = toy.emulator.webhook_log
    assert (record["status"], record["attempts"], record["results"]) == ("delivered", 4, [500, 503, 302, 200])


def test_webhook_gives_up_after_the_bounded_attempts(toy, receiver):
    toy.emulator.webhook_max_attempts = 3
    receiver.answers = [500] * 10
    post_count(toy)
    assert toy.emulator.flush_webhooks(5)
    assert len(receiver.received) == 3
    assert toy.emulator.webhooks.summary() == {"queued": 0, "delivered": 0, "failed": 1}


def test_unreachable_concord_is_retried_then_recorded(receiver):
    emulator = CounterEmulator(concord_url="http://127.0.0.1:9")  # nothing listens on discard
    emulator.webhook_retry_base_s = 0.01
    emulator.webhook_max_attempts = 2
    emulator.send_webhook(b"{}", {})
    assert emulator.flush_webhooks(5)
    [record] = emulator.webhook_log
    assert record["status"] == "failed"
    assert all(isinstance(result, str) for result in record["results"])


def test_duplicate_webhooks_repeat_the_same_bytes_and_headers(toy, receiver):
    set_faults(toy, duplicate_webhooks=True)
    post_count(toy)
    first, second = receiver.wait_for(2)
    assert first["body"] == second["body"]
    assert first["headers"]["X-Toy-Event"] == second["headers"]["X-Toy-Event"]
    assert [d["duplicate"] for d in toy.emulator.webhook_log] == [False, True]


def test_shuffled_webhooks_arrive_out_of_order(toy, receiver):
    set_faults(toy, shuffle_webhooks=True)
    for number in range(20):
        toy.emulator.send_webhook(str(number).encode(), {})
    received = receiver.wait_for(20)
    order = [int(d["body"]) for d in received]
    assert sorted(order) == list(range(20))
    assert order != list(range(20))


def test_webhook_delay_holds_delivery(toy, receiver):
    set_faults(toy, webhook_delay_ms=[150, 150])
    started = time.monotonic()
    toy.emulator.send_webhook(b"{}", {})
    receiver.wait_for(1)
    assert time.monotonic() - started >= 0.15


def test_flush_reports_a_queue_that_does_not_drain(toy):
    set_faults(toy, webhook_delay_ms=[500, 500])
    toy.emulator.send_webhook(b"{}", {})
    assert toy.emulator.flush_webhooks(0.05) is False
    control(toy, "POST", "reset", {"seed": True})  # reset discards what is queued
    assert toy.emulator.flush_webhooks(1)


# -- token bucket --------------------------------------------------------------------------------------


def test_token_bucket_refills_at_its_rate():
    now = [0.0]
    bucket = TokenBucket(rate=2, capacity=4, clock=lambda: now[0])
    assert [bucket.take() for _ in range(4)] == [0, 0, 0, 0]
    assert bucket.take() == pytest.approx(0.5)
    now[0] = 1.0
    assert bucket.available == pytest.approx(2)
    assert bucket.take(3) == pytest.approx(0.5)  # nothing taken when short
    bucket.give_back(10)
    assert bucket.available == 4
    assert bucket.take(5) == float("inf")
