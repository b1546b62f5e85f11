"""Sync lag: a sale committed on one channel -> the new availability readable at every
other platform's emulator. With the sync workers and the four emulators running and
background traffic at a fixed rate.

    python tests/perf/bench_sync.py --rate 20 --seconds 30

Everything is real: gunicorn serves Concord (API + webhooks), `run_emulators` serves the
four platforms, two `manage.py sync --loop` processes are the workers (the loop the
scheduled django-q2 task runs). Probes sell single units of SKUs the background traffic
never touches, one at a time, so the expected count on each other platform is exact.
Prints lag p50/p95/p99 (overall and by store), deliveries/s, what was left pending at
the end, and each platform's API calls per second by endpoint (where the rate limits go).
"""

from __future__ import annotations

import argparse
import io
import os
import random
import re
import subprocess
import sys
import threading
import time
import uuid

import requests
from benchlib import BASE_DIR, base_database_url, free_port, percentile, recreate_database

PLATFORMS = ("clover", "toast", "square", "shopify")
PROBE_SKUS = ["SALSA-JAR-VERDE", "SALSA-JAR-ROJA", "HOT-SAUCE", "TORTILLAS-CORN", "TORTILLAS-FLOUR",
              "MOLE-PASTE", "BEANS-HOUSE-250G", "BEANS-OAXACA-250G"]


def environment(database_url: str, web_port: int, ports: dict) -> dict:
    sys.path.insert(0, str(BASE_DIR))
    from apps.demo.dev_credentials import SECRETS

    concord = f"http://127.0.0.1:{web_port}"
    env = {**os.environ, **SECRETS, "DATABASE_URL": database_url, "CONCORD_PUBLIC_URL": concord,
           "SQUARE_WEBHOOK_URL": f"{concord}/webhooks/square/", "DJANGO_SETTINGS_MODULE": "config.settings"}
    for platform, port in ports.items():
        env[f"{platform.upper()}_BASE_URL"] = f"http://127.0.0.1:{port}"
        env[f"{platform.upper()}_EMULATOR_PORT"] = str(port)
    return env


def route_name(pattern: str) -> str:
    """`GET /v3/merchants/(?P<mid>[^/]+)/items` -> `GET /v3/merchants/{mid}/items`."""
    return re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", pattern).replace("\\", "")


def manage(env, *args, **popen):
    return subprocess.Popen([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, **popen)


def wait_http(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


class Platforms:
    def __init__(self, ports: dict):
        self.urls = {p: f"http://127.0.0.1:{port}" for p, port in ports.items()}
        self.session = requests.Session()

    def count(self, platform: str, location: str, sku: str) -> int | None:
        state = self.session.get(f"{self.urls[platform]}/__emulator/state", params={"only": "stock"},
                                 timeout=5).json()
        entry = state["stock"].get(location, {}).get(sku)
        return None if entry is None else entry.get("quantity")

    def calls_by_route(self, platform: str) -> dict:
        state = self.session.get(f"{self.urls[platform]}/__emulator/state", params={"only": "requests"},
                                 timeout=5).json()
        return state["requests"]["by_route"]

    def sale(self, platform: str, location: str, sku: str) -> bool:
        body = {"location": location, "lines": [{"sku": sku, "quantity": 1}], "tender": {"type": "card"}}
        response = self.session.post(f"{self.urls[platform]}/__emulator/sale", json=body, timeout=10)
        return response.ok and response.json().get("accepted", False)


def phone_order(session, concord: str, key: str, location: str, sku: str) -> int:
    body = {"location": location, "fulfillment": {"type": "pickup"}, "lines": [{"sku": sku, "quantity": 1}]}
    response = session.post(f"{concord}/api/v1/orders", json=body, timeout=10,
                            headers={"Authorization": f"Bearer {key}", "Idempotency-Key": uuid.uuid4().hex})
    return response.status_code


def background_traffic(stop, rate, concord, key, platforms, stores, counts):
    from apps.demo.management.commands.simulate_traffic import SELLING_SKUS

    rng = random.Random(1)
    session = requests.Session()
    next_at = time.monotonic()
    while not stop.is_set():
        store = rng.choice(stores)
        sku = rng.choice(SELLING_SKUS)
        channel = rng.choices(["web", "register", "phone"], [0.4, 0.4, 0.2])[0]
        try:
            if channel == "phone":
                phone_order(session, concord, key, store["code"], sku)
            else:
                platforms.sale("shopify" if channel == "web" else store["pos"], store["code"], sku)
            counts[channel] = counts.get(channel, 0) + 1
        except requests.RequestException:
            counts["errors"] = counts.get("errors", 0) + 1
        next_at += rng.expovariate(rate)
        time.sleep(max(0.0, next_at - time.monotonic()))


def probe(platforms, session, concord, key, store, sku, channel, timeout=10.0) -> float | None:
    """Sell one unit on `channel`; seconds until every other platform shows it."""
    pos = store["pos"]
    code = store["code"]
    others = {"phone": [pos, "shopify"], "register": ["shopify"], "web": [pos]}[channel]
    before = {p: platforms.count(p, code, sku) for p in others}
    if channel == "phone":
        if phone_order(session, concord, key, code, sku) != 201:
            return None
    elif not platforms.sale(pos if channel == "register" else "shopify", code, sku):
        return None
    committed = time.monotonic()
    waiting = {p for p in others if before[p] is not None}
    while waiting and time.monotonic() - committed < timeout:
        for platform in list(waiting):
            now = platforms.count(platform, code, sku)
            if now is not None and now <= before[platform] - 1:
                waiting.discard(platform)
        time.sleep(0.05)
    return None if waiting else time.monotonic() - committed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--rate", type=float, default=20.0, help="background orders per second")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=2, help="sync worker processes")
    args = parser.parse_args()

    database_url = recreate_database(base_database_url(), "concord_bench_sync")
    web_port = free_port()
    ports = {p: free_port() for p in ("shopify", "square", "toast", "clover")}
    env = environment(database_url, web_port, ports)
    env["CONNECTOR_WORKER_PROCESSES"] = str(args.workers)  # each paces to its share of the limits
    os.environ.update({k: v for k, v in env.items() if k not in os.environ or k == "DATABASE_URL"})
    import django

    django.setup()
    from django.core.management import call_command

    from apps.connectors.models import Delivery
    from apps.core.services import create_api_client
    from apps.demo.demo_data import LOCATIONS

    call_command("migrate", verbosity=0)
    call_command("seed_demo", stdout=io.StringIO())
    call_command("connect_demo", stdout=io.StringIO())
    concord = env["CONCORD_PUBLIC_URL"]
    processes = [subprocess.Popen([sys.executable, "-m", "gunicorn", "config.wsgi", "--bind",
                                   f"127.0.0.1:{web_port}", "--workers", "3", "--log-level", "warning"],
                                  cwd=BASE_DIR, env=env),
                 # one process per emulator, as each platform is its own service
                 *[manage(env, "run_emulators", "--concord-url", concord, "--only", platform,
                          stdout=subprocess.DEVNULL) for platform in ports]]
    try:
        wait_http(f"{concord}/healthz")
        for port in ports.values():
            wait_http(f"http://127.0.0.1:{port}/__emulator/health")
        call_command("pull_catalog", stdout=io.StringIO())
        processes += [manage(env, "sync", "--loop", "3600") for _ in range(args.workers)]
        _, key = create_api_client(name="bench_sync", channel="phone")
        return measure(args, concord, key, Platforms(ports), LOCATIONS, Delivery)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=20)


def measure(args, concord, key, platforms, stores, Delivery) -> int:
    from django.utils import timezone

    stop = threading.Event()
    counts: dict = {}
    traffic = threading.Thread(target=background_traffic,
                               args=(stop, args.rate, concord, key, platforms, stores, counts))
    calls_before = {p: platforms.calls_by_route(p) for p in PLATFORMS}
    started_at = timezone.now()
    traffic.start()
    lags, failed, by_store = [], 0, {}
    session = requests.Session()
    deadline = time.monotonic() + args.seconds
    n = 0
    while time.monotonic() < deadline:
        store = stores[n % len(stores)]
        sku = PROBE_SKUS[(n // len(stores)) % len(PROBE_SKUS)]
        channel = ["phone", "register", "web"][n % 3]
        lag = probe(platforms, session, concord, key, store, sku, channel)
        if lag is None:
            failed += 1
            print(f"  probe not seen within 10 s: {channel} sale of {sku} at {store['code']}", flush=True)
        else:
            lags.append(lag * 1000)
            by_store.setdefault(f"{store['code']}/{store['pos']}", []).append(lag * 1000)
        n += 1
    stop.set()
    traffic.join()
    calls_after = {p: platforms.calls_by_route(p) for p in PLATFORMS}
    elapsed = (timezone.now() - started_at).total_seconds()
    done = Delivery.objects.filter(done_at__gte=started_at).count()
    drain_started = time.monotonic()
    for waiting in Delivery.objects.filter(status__in=["pending", "in_flight"]).order_by("id")[:5]:
        print(f"  waiting when traffic stopped: {waiting} attempts {waiting.attempts} "
              f"next {waiting.next_attempt_at:%H:%M:%S} {waiting.last_error[:120]}")
    while Delivery.objects.filter(status__in=["pending", "in_flight"]).exists() and \
            time.monotonic() - drain_started < 60:
        time.sleep(0.5)
    lags.sort()
    print(f"Concord sync benchmark: background {args.rate:g} orders/s for {elapsed:.0f} s "
          f"({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))}), {args.workers} sync workers")
    print(f"sync lag over {len(lags)} probes: p50 {percentile(lags, .5):.0f} ms, "
          f"p95 {percentile(lags, .95):.0f} ms, p99 {percentile(lags, .99):.0f} ms, "
          f"max {max(lags, default=0):.0f} ms; probes not seen within 10 s: {failed}")
    for name, values in sorted(by_store.items()):
        values.sort()
        print(f"  {name}: {len(values)} probes, p50 {percentile(values, .5):.0f} ms, "
              f"max {values[-1]:.0f} ms")
    drained = time.monotonic() - drain_started
    pending = Delivery.objects.filter(status__in=["pending", "in_flight"]).count()
    print(f"deliveries done: {done} = {done / elapsed:.1f}/s; drained {drained:.1f} s after traffic "
          f"stopped; still pending: {pending}")
    for platform in PLATFORMS:
        calls = sorted(((route, n - calls_before[platform].get(route, 0))
                        for route, n in calls_after[platform].items()), key=lambda kv: -kv[1])
        print(f"  {platform} API calls/s: "
              + ", ".join(f"{route_name(route)} {n / elapsed:.1f}" for route, n in calls[:6] if n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
