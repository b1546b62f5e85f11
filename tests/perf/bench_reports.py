"""Finance reports with a year of history: channel report and dashboard for a month and a
year (p50/p95), a year's CSV and XLSX export (time and peak RSS), the rollup's build time
and the query plan of a year's read.

    python tests/perf/bench_reports.py                      # 1,000,000 orders (minutes to seed)
    python tests/perf/bench_reports.py --orders 100000 --requests 30
    python tests/perf/bench_reports.py --fresh              # drop the database and seed again

Seeds `seed_demo` + `seed_volume --orders N` into its own database (`concord_reports` on the
same Postgres server; reused when it already holds that volume), builds the channel and
liabilities rollups once (what the every-minute schedules keep up to date), then asks the
pages in this process through Django's test client as a finance user (server time, no
network). Exports run in a child process each, so their peak RSS is theirs alone.
Targets: pages < 300 ms p95, a year's export < 60 s and < 250 MB.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from datetime import timedelta

import psycopg
from benchlib import BASE_DIR, base_database_url, percentile, psycopg_url, recreate_database, with_database

DATABASE = "concord_reports"
USERNAME = "bench-finance"
TARGET_P95_MS, TARGET_EXPORT_S, TARGET_RSS_MB = 300.0, 60.0, 250.0
TARGET_RECONCILE_S = 1.0


def manage(database_url: str, *args: str) -> str:
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "config.settings"}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, check=True,
                          capture_output=True, text=True).stdout


def volume_orders(database_url: str) -> int:
    try:
        with psycopg.connect(psycopg_url(database_url)) as conn:
            sql = "SELECT count(*) FROM orders_order WHERE external_id LIKE 'vol-%'"
            return conn.execute(sql).fetchone()[0]
    except psycopg.Error:
        return 0


def prepare_database(orders: int, fresh: bool) -> str:
    base = base_database_url()
    url = with_database(base, DATABASE)
    if fresh or volume_orders(url) != orders:
        url = recreate_database(base, DATABASE)
        manage(url, "migrate", "--verbosity", "0")
        manage(url, "seed_demo")
        started = time.monotonic()
        print(manage(url, "seed_volume", "--orders", str(orders)).strip().splitlines()[-1])
        print(f"seeded {orders} orders in {time.monotonic() - started:.1f} s")
    else:
        manage(url, "migrate", "--verbosity", "0")
        print(f"reusing {DATABASE} with {orders} volume orders")
    return url


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()


def build_rollup() -> None:
    from apps.reports.liability_rollup import rebuild_liability_rollup
    from apps.reports.rollup import rebuild_channel_rollup

    started = time.monotonic()
    rows = rebuild_channel_rollup()
    print(f"rollup rebuilt from scratch: {rows} rows in {time.monotonic() - started:.1f} s")
    started = time.monotonic()
    rows = rebuild_liability_rollup()
    print(f"liabilities rollup rebuilt from scratch: {rows} rows in {time.monotonic() - started:.1f} s")


def finance_client():
    from django.contrib.auth import get_user_model
    from django.test import Client

    from apps.backoffice.services import create_staff_user

    user = get_user_model().objects.filter(username=USERNAME).first()
    if user is None:  # a reused database has its finance user already
        user, _ = create_staff_user(username=USERNAME, role="finance", location_codes=[],
                                    password="bench-pw-1")
    client = Client()
    client.force_login(user)
    return client


def year_range():
    from django.db.models import Max

    from apps.orders.models import Order

    last = Order.objects.aggregate(at=Max("placed_at"))["at"].date()
    return last - timedelta(days=364), last


def time_pages(client, requests: int) -> None:
    first, last = year_range()
    month = last - timedelta(days=29)
    pages = {"channel report, month": f"/reports/channels/?from={month}&to={last}",
             "channel report, year": f"/reports/channels/?from={first}&to={last}",
             "liabilities, month": f"/reports/liabilities/?from={month}&to={last}",
             "liabilities, year": f"/reports/liabilities/?from={first}&to={last}",
             "dashboard": "/"}
    print(f"\n{'page':<24} {'p50 ms':>8} {'p95 ms':>8}  target p95 < {TARGET_P95_MS:.0f} ms")
    for name, path in pages.items():
        client.get(path)  # warm
        times = []
        for _ in range(requests):
            started = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (path, response.status_code)
        times.sort()
        p95 = percentile(times, 0.95)
        verdict = "ok" if p95 < TARGET_P95_MS else "SLOW"
        print(f"{name:<24} {percentile(times, 0.5):>8.1f} {p95:>8.1f}  {verdict}")


def explain_year_read() -> None:
    from django.db import connection

    from apps.inventory.models import Location

    first, last = year_range()
    location = Location.objects.order_by("pk").first()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN ANALYZE SELECT day, channel, orders, gross_sales, refunds FROM "
                       "reports_dailychannelsales WHERE location_id = %s AND day BETWEEN %s AND %s",
                       [location.pk, first, last])
        print("\nplan of a year's rollup read (one location):")
        for (line,) in cursor.fetchall():
            print("  " + line)


EXPORT_CHILD = """
import os, sys, time, resource
sys.path.insert(0, {base!r}); os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django; django.setup()
from datetime import date
from apps.reports.selectors import channel_report
from apps.reports.journal import journal_table
from apps.reports.tables import channel_table
from apps.reports.files import csv_chunks, xlsx_chunks
first, last = date.fromisoformat({first!r}), date.fromisoformat({last!r})
started = time.monotonic()
if {kind!r} == "journal":
    chunks = csv_chunks(journal_table(first=first, last=last))
else:
    table = channel_table(channel_report(first=first, last=last))
    chunks = csv_chunks(table) if {kind!r} == "csv" else xlsx_chunks(table)
size = sum(len(chunk) for chunk in chunks)
print(time.monotonic() - started, size, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def time_exports() -> None:
    first, last = year_range()
    print(f"\n{'year export':<24} {'seconds':>8} {'bytes':>10} {'peak RSS MB':>12}")
    for kind in ("csv", "xlsx", "journal"):
        code = EXPORT_CHILD.format(base=str(BASE_DIR), first=str(first), last=str(last), kind=kind)
        output = subprocess.run([sys.executable, "-c", code], cwd=BASE_DIR, env=os.environ, check=True,
                                capture_output=True, text=True).stdout.split()
        seconds, size, rss = float(output[0]), int(output[1]), float(output[2])
        verdict = "ok" if seconds < TARGET_EXPORT_S and rss < TARGET_RSS_MB else "OVER"
        print(f"{kind:<24} {seconds:>8.2f} {size:>10} {rss:>12.1f}  {verdict}")


def time_reconciliation(client) -> None:
    """Reconcile the last month (every store and processor) a few times, then its page."""
    from apps.reports.models import ReconciliationLine
    from apps.reports.reconciliation import reconcile_days

    _, last = year_range()
    month = last - timedelta(days=29)
    times = []
    for _ in range(3):
        started = time.perf_counter()
        days = reconcile_days(first_day=month, last_day=last)
        times.append(time.perf_counter() - started)
    lines = ReconciliationLine.objects.filter(day__in=days).count()
    print(f"\nreconciliation of a month: {min(times):.2f} s best, {max(times):.2f} s worst of 3 "
          f"({len(days)} store-processor days, {lines} lines)  target < {TARGET_RECONCILE_S:.0f} s: "
          f"{'ok' if min(times) < TARGET_RECONCILE_S else 'SLOW'}")
    path = f"/reports/reconciliation/?from={month}&to={last}"
    client.get(path)
    page = []
    for _ in range(10):
        started = time.perf_counter()
        assert client.get(path).status_code == 200
        page.append((time.perf_counter() - started) * 1000)
    page.sort()
    print(f"reconciliation page, month: p50 {percentile(page, 0.5):.1f} ms, "
          f"p95 {percentile(page, 0.95):.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--fresh", action="store_true")
    args = parser.parse_args()
    url = prepare_database(args.orders, args.fresh)
    setup_django(url)
    build_rollup()
    client = finance_client()
    time_pages(client, args.requests)
    explain_year_read()
    time_reconciliation(client)
    time_exports()
    print(f"\nthis process's peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
