"""Order throughput: POST /api/v1/orders through gunicorn vs the same transaction as raw SQL.

    make bench                       # defaults: 8 clients, 15 s per phase, 2 workers
    python tests/perf/bench_orders.py --clients 8 --seconds 15 --workers 2
    python tests/perf/bench_orders.py --plain   # orders as before issue 9 (no money extras)

By default the orders carry what issue 9 added: the store taxes at 10.25%, half the orders
have a 10% discount, every order is paid by a card tender with a tip plus the rest at
pickup, and a third name a customer (one of 500 emails, so most are matched, some created).

Runs on a scratch database (`concord_bench`) on the same Postgres server, never on the
demo data. Prints orders/s, latency percentiles, refusals, oversold units (must be 0) and
the HTTP / raw-SQL ratio. With --profile, one extra run under pyinstrument in-process
shows where a request's time goes.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import sys
import time
import uuid

import psycopg
from benchlib import (
    base_database_url,
    free_port,
    latency_summary,
    psycopg_url,
    recreate_database,
    start_gunicorn,
)

HOT_SKUS = [f"HOT-{n:02d}" for n in range(20)]
SCARCE_SKU = "SCARCE"
SCARCE_UNITS = 150
HOT_UNITS = 10_000_000


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def prepare_database(database_url: str) -> str:
    """Migrate, stock one location, return an API key."""
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from apps.catalog.models import Product, Variant
    from apps.core.services import create_api_client
    from apps.inventory.enums import MovementReason
    from apps.inventory.models import Location
    from apps.inventory.services import adjust_stock, upsert_location

    location = upsert_location(code="OAK", name="Oakland", timezone_name="America/Los_Angeles")
    if not PLAIN:
        Location.objects.filter(pk=location.pk).update(tax_rate_bps=1025)
    product = Product.objects.create(name="Bench")
    for sku in [*HOT_SKUS, SCARCE_SKU]:
        variant = Variant.objects.create(product=product, sku=sku, name=sku, price_amount=995)
        units = SCARCE_UNITS if sku == SCARCE_SKU else HOT_UNITS
        adjust_stock(location_id=location.pk, variant_id=variant.pk, delta=units,
                     reason=MovementReason.RECEIPT, actor="bench")
    _, key = create_api_client(name="bench", channel="phone")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return key


PLAIN = os.environ.get("BENCH_PLAIN") == "1"


def order_body(rng: random.Random) -> dict:
    skus = rng.sample(HOT_SKUS, 2)
    if rng.random() < 0.1:
        skus[1] = SCARCE_SKU
    body = {"location": "OAK", "source_name": "bench", "fulfillment": {"type": "pickup"},
            "lines": [{"sku": sku, "quantity": 1} for sku in skus],
            "tender": {"type": "pay_at_pickup"}}
    if PLAIN:
        return body
    del body["tender"]
    body["tenders"] = [{"type": "card", "amount": {"amount": 500, "currency": "USD"},
                        "tip": {"amount": 100, "currency": "USD"}, "reference": "bench"},
                       {"type": "pay_at_pickup"}]
    if rng.random() < 0.5:
        body["discounts"] = [{"percent_bps": 1000}]
    if rng.random() < 1 / 3:
        body["customer"] = {"name": "Bench", "email": f"c{rng.randrange(500)}@bench.example"}
    return body


def http_client(args) -> tuple[int, list[float], dict]:
    port, key, seconds, seed = args
    rng = random.Random(seed)
    latencies, statuses = [], {}
    deadline = time.monotonic() + seconds
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while time.monotonic() < deadline:
        body = json.dumps(order_body(rng))
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json",
                   "Idempotency-Key": uuid.uuid4().hex}
        started = time.perf_counter()
        try:
            conn.request("POST", "/api/v1/orders", body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            status = response.status
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            status = 0
        latencies.append((time.perf_counter() - started) * 1000)
        statuses[status] = statuses.get(status, 0) + 1
    return len(latencies), latencies, statuses


RAW_SQL = {
    "idem": "INSERT INTO core_idempotencyrecord (client_id, key, request_hash, created_at) "
            "VALUES (%s, %s, %s, now()) RETURNING id",
    "order": "INSERT INTO orders_order (channel, source_name, external_id, location_id, status, "
             "stock_mode, fulfillment_type, customer_name, customer_phone, customer_email, currency, "
             "subtotal_amount, total_amount, note, placed_at, created_at, updated_at) VALUES "
             "('phone', 'bench', '', %s, 'accepted', 'reserved', 'pickup', '', '', '', 'USD', 1990, "
             "1990, '', now(), now(), now()) RETURNING id",
    "lines": "INSERT INTO orders_orderline (order_id, line_number, variant_id, sku, name, quantity, "
             "unit_price, modifiers, line_total, net_amount, note) VALUES "
             "(%s, 1, %s, %s, %s, 1, 995, '[]', 995, 995, ''), "
             "(%s, 2, %s, %s, %s, 1, 995, '[]', 995, 995, '')",
    "outbox": "INSERT INTO core_outboxevent (topic, aggregate_type, aggregate_id, payload, created_at) "
              "VALUES ('order.created', 'Order', %s, '{}', now())",
    "stock": "UPDATE inventory_stocklevel SET committed = committed + 1 WHERE id = %s AND NOT is_86d "
             "AND on_hand >= committed + safety_stock + 1",
}


def raw_client(args) -> tuple[int, list[float], dict]:
    url, client_id, location_id, levels, seconds, seed = args
    rng = random.Random(seed)
    latencies, statuses = [], {}
    deadline = time.monotonic() + seconds
    with psycopg.connect(url, prepare_threshold=None) as conn:
        while time.monotonic() < deadline:
            picks = sorted(rng.sample(levels, 2))
            started = time.perf_counter()
            with conn.transaction(), conn.cursor() as cur:
                cur.execute(RAW_SQL["idem"], [client_id, uuid.uuid4().hex, "h"])
                cur.execute(RAW_SQL["order"], [location_id])
                order_id = cur.fetchone()[0]
                (_, v1, s1), (_, v2, s2) = picks
                cur.execute(RAW_SQL["lines"], [order_id, v1, s1, s1, order_id, v2, s2, s2])
                cur.execute(RAW_SQL["outbox"], [order_id])
                for level_id, _, _ in picks:
                    cur.execute(RAW_SQL["stock"], [level_id])
            latencies.append((time.perf_counter() - started) * 1000)
            statuses[200] = statuses.get(200, 0) + 1
    return len(latencies), latencies, statuses


def run_clients(target, arg_list) -> tuple[int, list[float], dict, float]:
    started = time.perf_counter()
    with multiprocessing.Pool(len(arg_list)) as pool:
        results = pool.map(target, arg_list)
    elapsed = time.perf_counter() - started
    latencies, statuses, count = [], {}, 0
    for n, lat, st in results:
        count += n
        latencies += lat
        for status, k in st.items():
            statuses[status] = statuses.get(status, 0) + k
    return count, latencies, statuses, elapsed


def stock_report() -> tuple[int, int, list]:
    """(oversold units, units sold of SCARCE, ledger mismatches)."""
    from django.db import connection

    from apps.inventory.selectors import list_ledger_mismatches

    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(SUM(GREATEST(0, committed + safety_stock - on_hand)), 0) "
                       "FROM inventory_stocklevel")
        oversold = cursor.fetchone()[0]
        cursor.execute("SELECT COALESCE(SUM(quantity), 0) FROM orders_orderline WHERE sku = %s",
                       [SCARCE_SKU])
        scarce_sold = cursor.fetchone()[0]
    return oversold, scarce_sold, list_ledger_mismatches()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--workers", type=int, default=int(os.environ.get("BENCH_WORKERS", 2)))
    parser.add_argument("--profile", action="store_true", help="profile 300 orders in-process")
    parser.add_argument("--plain", action="store_true",
                        help="orders without tenders, tax, discounts or customers (as before issue 9)")
    args = parser.parse_args()
    if args.plain:
        os.environ["BENCH_PLAIN"] = "1"  # the client processes read it
        global PLAIN
        PLAIN = True

    database_url = recreate_database(base_database_url(), "concord_bench")
    setup_django(database_url)
    key = prepare_database(database_url)
    print(f"Concord order benchmark: {args.clients} client processes, {args.seconds:.0f} s per phase, "
          f"gunicorn {args.workers} sync workers, {os.cpu_count()} CPUs, "
          f"{'plain orders' if PLAIN else 'orders with tenders, tax, discounts and customers'}", flush=True)

    port = free_port()
    server = start_gunicorn(database_url, port, args.workers)
    try:
        run_clients(http_client, [(port, key, 2, -i) for i in range(args.clients)])  # warm-up
        count, latencies, statuses, elapsed = run_clients(
            http_client, [(port, key, args.seconds, i) for i in range(args.clients)])
    finally:
        server.terminate()
        server.wait()
    created = statuses.get(201, 0)
    http_rate = count / elapsed
    oversold, scarce_sold, mismatches = stock_report()
    print(f"\nHTTP  POST /api/v1/orders: {count} requests in {elapsed:.1f} s = {http_rate:.0f} req/s "
          f"({created / elapsed:.0f} orders/s created)")
    print(f"      statuses {dict(sorted(statuses.items()))}  (409 = refused for stock)")
    print(f"      latency {latency_summary(latencies)}")
    print(f"      {SCARCE_SKU}: {scarce_sold} of {SCARCE_UNITS} units sold; oversold units: {oversold}; "
          f"ledger mismatches: {len(mismatches)}")

    raw_rate = run_raw(database_url, args)
    print(f"\nRatio HTTP path / raw SQL: {http_rate / raw_rate:.1%}")
    if args.profile:
        profile_in_process(key)
    return 0 if oversold == 0 and not mismatches and scarce_sold <= SCARCE_UNITS else 1


def run_raw(database_url: str, args) -> float:
    from apps.core.models import ApiClient
    from apps.inventory.models import StockLevel

    client_id = ApiClient.objects.get().pk
    levels = list(StockLevel.objects.filter(variant__sku__in=HOT_SKUS)
                  .values_list("id", "variant_id", "variant__sku"))
    location_id = StockLevel.objects.first().location_id
    url = psycopg_url(database_url)
    count, latencies, _, elapsed = run_clients(
        raw_client, [(url, client_id, location_id, levels, args.seconds, i) for i in range(args.clients)])
    rate = count / elapsed
    print(f"\nRaw SQL, same transaction through psycopg: {count} in {elapsed:.1f} s = {rate:.0f} tx/s")
    print(f"      latency {latency_summary(latencies)}")
    return rate


def profile_in_process(key: str) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from pyinstrument import Profiler
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    rng = random.Random(7)
    profiler = Profiler(interval=0.0005)
    with profiler:
        for _ in range(300):
            api.post("/api/v1/orders", data=json.dumps(order_body(rng)), content_type="application/json",
                     HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex)
    print(profiler.output_text(unicode=True, color=False, show_all=False))
    counts: dict[tuple[bool, int], list[int]] = {}
    for _ in range(100):  # statements sent per order (BEGIN and COMMIT included)
        body = order_body(rng)
        with CaptureQueriesContext(connection) as queries:
            response = api.post("/api/v1/orders", data=json.dumps(body), content_type="application/json",
                                HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex)
        counts.setdefault(("customer" in body, response.status_code), []).append(len(queries))
    for (named, status), seen in sorted(counts.items()):
        print(f"{status} {'with' if named else 'without'} a customer: {min(seen)}-{max(seen)} statements "
              f"per order (mean {sum(seen) / len(seen):.1f}, {len(seen)} orders)")


if __name__ == "__main__":
    sys.exit(main())
