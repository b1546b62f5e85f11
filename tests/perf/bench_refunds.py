"""Refunds: throughput through the API, money over-refunded (must be 0), and the time from a
refund's 201 to the platform (the Square emulator) showing it.

    python tests/perf/bench_refunds.py --clients 8 --seconds 15 --orders 600 --platform-refunds 60

Everything is real: gunicorn serves Concord, `run_emulators --only square` serves Square,
one `manage.py sync --loop` process is the worker (the loop the scheduled django-q2 task
runs). On a scratch database (`concord_bench_refunds`), never the demo data.

Phase 1, throughput: phone orders of 3 burritos paid with three tenders (a gift card, a card
taken by an outside processor, cash), then client processes POST partial refunds at random
orders (half one unit of the line, half 1-6 dollars of money) as a customer_service key,
so clients often race on one order and the last ones find nothing left (409). Each refund
splits over the tenders: credit back on the gift card, a manual_refund_required exception
for the outside card, a drawer payout for cash. Over-refunded money is computed from the
database against the payments (parts per payment over what it paid, refunds per order over
its total) and must print 0.

Phase 2, refund to platform: register card sales rung at the Square emulator and recorded
through its webhooks; refunds of one unit each through the API (a few threads); a watcher
reads the emulator's refunds and notes when each part's idempotency key first appears.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import multiprocessing
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests
from bench_sync import environment, manage, wait_http
from benchlib import BASE_DIR, base_database_url, free_port, latency_summary, percentile, recreate_database

SKU = "BURRITO"
UNITS = 3
PRICE = 950  # the demo's burrito; the bench store charges no tax, so the total is exact
GIFT, OUTSIDE_CARD = 1000, 850


def setup(database_url: str, env: dict) -> None:
    os.environ.update({k: v for k, v in env.items() if k not in os.environ or k == "DATABASE_URL"})
    import django

    django.setup()
    from django.core.management import call_command

    from apps.connectors.models import PlatformConnection
    from apps.demo.dev_credentials import platform_location_id
    from apps.inventory.enums import MovementReason
    from apps.inventory.models import Location, StockLevel
    from apps.inventory.services import adjust_stock

    call_command("migrate", verbosity=0)
    call_command("seed_demo", stdout=io.StringIO())
    oakland = Location.objects.get(code="OAK")
    Location.objects.filter(pk=oakland.pk).update(tax_rate_bps=0)
    level = StockLevel.objects.get(location=oakland, variant__sku=SKU)
    adjust_stock(location_id=oakland.pk, variant_id=level.variant_id, delta=1_000_000,
                 reason=MovementReason.RECEIPT, actor="bench")
    PlatformConnection.objects.create(platform="square", location=oakland,
                                      external_location_id=platform_location_id("square", "OAK"))


def place_orders(concord: str, count: int) -> list[int]:
    """Phone orders paid by a gift card, an outside processor's card and cash."""
    from apps.core.services import create_api_client
    from apps.customers.services import issue_gift_card

    _, key = create_api_client(name="bench phone", channel="phone")
    cards = [issue_gift_card(amount=GIFT, currency="USD", actor="bench").code for _ in range(count)]
    total = PRICE * UNITS

    def place(index: int) -> int:
        body = {"location": "OAK", "source_name": "bench", "fulfillment": {"type": "pickup"},
                "lines": [{"sku": SKU, "quantity": UNITS}],
                "tenders": [{"type": "gift_card", "code": cards[index], "amount": usd(GIFT)},
                            {"type": "card", "amount": usd(OUTSIDE_CARD), "reference": f"proc-{index}"},
                            {"type": "cash", "amount": usd(total - GIFT - OUTSIDE_CARD)}]}
        answer = requests.post(f"{concord}/api/v1/orders", json=body, timeout=30, headers={
            "Authorization": f"Bearer {key}", "Idempotency-Key": f"order-{index}"})
        assert answer.status_code == 201, answer.text
        return answer.json()["id"]

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(place, range(count)))


def usd(amount: int) -> dict:
    return {"amount": amount, "currency": "USD"}


def refund_body(rng: random.Random) -> dict:
    if rng.random() < 0.5:
        return {"lines": [{"line": 1, "quantity": 1}], "reason": "bench"}
    return {"amount": usd(rng.randint(100, 600)), "reason": "bench"}


def refund_client(args) -> tuple[int, list[float], dict]:
    port, key, order_ids, seconds, seed = args
    rng = random.Random(seed)
    latencies, statuses = [], {}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        body = json.dumps(refund_body(rng))
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json",
                   "Idempotency-Key": uuid.uuid4().hex}
        started = time.perf_counter()
        try:
            path = f"/api/v1/orders/{rng.choice(order_ids)}/refunds"
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            status = 0
        latencies.append((time.perf_counter() - started) * 1000)
        statuses[status] = statuses.get(status, 0) + 1
    return len(latencies), latencies, statuses


def run_clients(arg_list) -> tuple[int, list[float], dict, float]:
    started = time.perf_counter()
    with multiprocessing.Pool(len(arg_list)) as pool:
        results = pool.map(refund_client, arg_list)
    elapsed = time.perf_counter() - started
    latencies, statuses, count = [], {}, 0
    for n, lat, st in results:
        count += n
        latencies += lat
        for status, k in st.items():
            statuses[status] = statuses.get(status, 0) + k
    return count, latencies, statuses, elapsed


OVER_REFUNDED_SQL = """
SELECT
  (SELECT COALESCE(SUM(GREATEST(0, s.parts - p.amount)), 0)
     FROM orders_payment p
     JOIN (SELECT rp.payment_id, SUM(rp.amount) AS parts FROM returns_refundpart rp
             JOIN returns_refund r ON r.id = rp.refund_id WHERE r.status <> 'rejected'
            GROUP BY rp.payment_id) s ON s.payment_id = p.id),
  (SELECT COALESCE(SUM(GREATEST(0, s.refunded - o.total_amount)), 0)
     FROM orders_order o
     JOIN (SELECT order_id, SUM(amount) AS refunded FROM returns_refund WHERE status <> 'rejected'
            GROUP BY order_id) s ON s.order_id = o.id),
  (SELECT COUNT(*) FROM orders_payment p
     LEFT JOIN (SELECT rp.payment_id, SUM(rp.amount) AS parts FROM returns_refundpart rp
                  JOIN returns_refund r ON r.id = rp.refund_id WHERE r.status <> 'rejected'
                 GROUP BY rp.payment_id) s ON s.payment_id = p.id
    WHERE p.refunded_amount <> COALESCE(s.parts, 0))
"""


def money_report() -> tuple[int, int, int]:
    """(money refunded beyond a payment, beyond an order, payments whose counter disagrees
    with their refund parts): all must be 0."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(OVER_REFUNDED_SQL)
        return cursor.fetchone()


def throughput(args, concord: str, port: int) -> bool:
    from apps.core.services import create_api_client
    from apps.returns.models import Refund

    order_ids = place_orders(concord, args.orders)
    _, key = create_api_client(name="bench helpdesk", role="customer_service")
    count, latencies, statuses, elapsed = run_clients(
        [(port, key, order_ids, args.seconds, i) for i in range(args.clients)])
    created = statuses.get(201, 0)
    per_refund = Refund.objects.count() and sum(r.parts.count() for r in Refund.objects.all()[:200]) / min(
        200, Refund.objects.count())
    over_payment, over_order, counters_off = money_report()
    print(f"\nPhase 1: POST /api/v1/orders/{{id}}/refunds, {args.clients} clients over {args.orders} orders")
    print(f"  {count} requests in {elapsed:.1f} s = {count / elapsed:.0f} req/s "
          f"({created / elapsed:.0f} refunds/s created, {per_refund:.1f} tender parts each)")
    print(f"  statuses {dict(sorted(statuses.items()))}  (409 = nothing left to refund on that order)")
    print(f"  latency {latency_summary(latencies)}")
    print(f"  over-refunded money: {over_payment + over_order} (beyond a payment {over_payment}, "
          f"beyond an order {over_order}); payments whose counter disagrees with its parts: {counters_off}")
    return over_payment == over_order == counters_off == 0


def ring_square_sales(square_url: str, count: int) -> list[int]:
    from apps.orders.models import Order

    session = requests.Session()
    external_ids = []
    for _ in range(count):
        body = {"location": "OAK", "lines": [{"sku": "TACO-ASADA", "quantity": 2}],
                "tender": {"type": "card"}}
        sale = session.post(f"{square_url}/__emulator/sale", json=body, timeout=10).json()
        external_ids.append(sale["order_id"])
    deadline = time.monotonic() + 120
    while Order.objects.filter(external_id__in=external_ids).count() < count:
        if time.monotonic() > deadline:
            raise RuntimeError("the register sales were not recorded")
        time.sleep(0.2)
    return list(Order.objects.filter(external_id__in=external_ids).values_list("pk", flat=True))


def watch_square(square_url: str, seen: dict, stop: threading.Event) -> None:
    session = requests.Session()
    while not stop.is_set():
        state = session.get(f"{square_url}/__emulator/state", params={"only": "refunds"}, timeout=10).json()
        now = time.monotonic()
        for refund in state["refunds"]:
            seen.setdefault(refund["idempotency_key"], now)
        time.sleep(0.01)


def to_platform(args, concord: str, square_url: str) -> None:
    from apps.connectors.models import Delivery
    from apps.core.services import create_api_client
    from apps.returns.models import RefundPart

    order_ids = ring_square_sales(square_url, args.platform_refunds)
    _, key = create_api_client(name="bench helpdesk 2", role="customer_service")
    seen: dict[str, float] = {}
    stop = threading.Event()
    watcher = threading.Thread(target=watch_square, args=(square_url, seen, stop), daemon=True)
    watcher.start()
    answered: dict[int, float] = {}

    def refund(order_id: int) -> None:
        answer = requests.post(f"{concord}/api/v1/orders/{order_id}/refunds", timeout=30,
                               json={"lines": [{"line": 1, "quantity": 1}], "reason": "bench"},
                               headers={"Authorization": f"Bearer {key}", "Idempotency-Key": f"p-{order_id}"})
        assert answer.status_code == 201, answer.text
        answered[answer.json()["id"]] = time.monotonic()
        time.sleep(random.uniform(0, 0.2))  # spread the refunds out a little, as a helpdesk would

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(refund, order_ids))
    parts = RefundPart.objects.filter(refund_id__in=answered)
    keys = {p.refund_id: f"concord-refund-part-{p.pk}" for p in parts}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not all(key in seen for key in keys.values()):
        time.sleep(0.05)
    stop.set()
    lags = sorted((seen[keys[r]] - t) * 1000 for r, t in answered.items() if keys[r] in seen)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and parts.exclude(status="completed").exists():
        time.sleep(0.1)
    completed = parts.filter(status="completed").count()
    attempts = list(Delivery.objects.filter(kind="refund_part").values_list("attempts", flat=True))
    print(f"\nPhase 2: refund 201 -> the Square emulator shows it, {len(answered)} refunds (4 threads)")
    print(f"  p50 {percentile(lags, 0.5):.0f} ms, p95 {percentile(lags, 0.95):.0f} ms, "
          f"max {lags[-1] if lags else float('nan'):.0f} ms; shown {len(lags)} of {len(answered)}; "
          f"completed in Concord (Square's refund.updated back) {completed} of {len(parts)}")
    print(f"  deliveries: {len(attempts)}, attempts per delivery {sum(attempts) / max(1, len(attempts)):.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--orders", type=int, default=600)
    parser.add_argument("--workers", type=int, default=int(os.environ.get("BENCH_WORKERS", 2)))
    parser.add_argument("--platform-refunds", type=int, default=60)
    args = parser.parse_args()

    database_url = recreate_database(base_database_url(), "concord_bench_refunds")
    web_port, square_port = free_port(), free_port()
    env = environment(database_url, web_port, {"square": square_port})
    env["REFUND_APPROVAL_LIMIT"] = str(10**9)  # phase 1 measures refunds, not approvals
    setup(database_url, env)
    from django.core.management import call_command

    concord, square_url = env["CONCORD_PUBLIC_URL"], env["SQUARE_BASE_URL"]
    print(f"Concord refund benchmark: {args.clients} client processes, {args.seconds:.0f} s, gunicorn "
          f"{args.workers} sync workers, 1 sync worker process, {os.cpu_count()} CPUs", flush=True)
    processes = [
        subprocess.Popen([sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{web_port}",
                          "--workers", str(args.workers), "--log-level", "warning", "--backlog", "2048"],
                         cwd=BASE_DIR, env=env),
        manage(env, "run_emulators", "--concord-url", concord, "--only", "square", stdout=subprocess.DEVNULL)]
    try:
        wait_http(f"{concord}/healthz")
        wait_http(f"{square_url}/__emulator/health")
        call_command("pull_catalog", "square", stdout=io.StringIO())
        processes.append(manage(env, "sync", "--loop", "3600", stdout=subprocess.DEVNULL))
        money_ok = throughput(args, concord, web_port)
        to_platform(args, concord, square_url)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=20)
    return 0 if money_ok else 1


if __name__ == "__main__":
    sys.exit(main())
