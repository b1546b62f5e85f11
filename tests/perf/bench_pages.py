"""Back-office pages with a year of history: p50/p95 time and SQL queries per page.

    python tests/perf/bench_pages.py                   # 100,000 orders, 60 requests per page
    python tests/perf/bench_pages.py --orders 20000 --requests 30
    python tests/perf/bench_pages.py --fresh           # drop the volume database and seed again

Seeds `seed_demo` + `seed_volume --orders N` into a dedicated database (`concord_pages` on
the same Postgres server, never the demo data; reused when it already holds that volume),
starts gunicorn (one worker) on it, signs in as an admin and asks each page one request at a
time with different targets (order numbers, emails, names). The time is the response time
over loopback with a kept-alive connection; beside it, the gunicorn worker's CPU time per
request (a mean: /proc counts in clock ticks), which the rest of a busy machine inflates far
less. The SQL query count of each page is taken from the same request made in this process
under Django's test client. Target: every page under 150 ms p95.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import requests
from benchlib import (
    BASE_DIR,
    base_database_url,
    free_port,
    percentile,
    psycopg_url,
    recreate_database,
    start_gunicorn,
    with_database,
)

DATABASE = "concord_pages"
USERNAME = "bench"
PASSWORD = "bench-pages-password"
TARGET_P95_MS = 150.0


def manage(database_url: str, *args: str) -> str:
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "config.settings"}
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, check=True,
                            capture_output=True, text=True)
    return result.stdout


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
    if not fresh and volume_orders(url) == orders:
        print(f"reusing {DATABASE} with {orders} volume orders")
        manage(url, "migrate", "--verbosity", "0")  # new index migrations apply to it too
        return url
    url = recreate_database(base, DATABASE)
    manage(url, "migrate", "--verbosity", "0")
    manage(url, "seed_demo")
    started = time.monotonic()
    print(manage(url, "seed_volume", "--orders", str(orders)).strip().splitlines()[-1])
    print(f"seeded in {time.monotonic() - started:.1f} s")
    return url


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def ensure_bench_admin() -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from apps.core.roles import ADMIN, ensure_roles

    ensure_roles()
    user, _ = get_user_model().objects.get_or_create(username=USERNAME, defaults={"is_staff": True})
    user.set_password(PASSWORD)
    user.save()
    user.groups.add(Group.objects.get(name=ADMIN))


def page_targets(rng: random.Random, count: int) -> dict[str, list[str]]:
    """For each page, `count` URLs with targets spread over the history."""
    from apps.core.models import ExceptionItem
    from apps.inventory.models import StockLevel
    from apps.orders.models import Order

    sample = list(Order.objects.filter(external_id__startswith="vol-").exclude(customer_email="")
                  .order_by("?").values("id", "customer_email", "customer_name")[:count])
    levels = list(StockLevel.objects.select_related("location", "variant").order_by("?")[:count])
    kinds = ["", *list(ExceptionItem.objects.values_list("kind", flat=True).distinct())]
    pick = lambda items: [items[n % len(items)] for n in range(count)]  # noqa: E731
    return {
        "dashboard": ["/"] * count,
        "orders (no search)": [f"/orders/?page={rng.randint(1, 5)}" for _ in range(count)],
        "search: number": [f"/orders/?q={order['id']}" for order in pick(sample)],
        "search: email": [f"/orders/?q={order['customer_email']}" for order in pick(sample)],
        "search: name": [f"/orders/?q={order['customer_name'].replace(' ', '+')}" for order in pick(sample)],
        "order page": [f"/orders/{order['id']}/" for order in pick(sample)],
        "order timeline": [f"/orders/{order['id']}/timeline/" for order in pick(sample)],
        "stock page": [f"/stock/?location={level.location.code}" for level in pick(levels)],
        "stock item": [f"/stock/{level.location.code}/{level.variant.sku}/" for level in pick(levels)],
        "exception queue": [f"/exceptions/?kind={kind}" for kind in pick(kinds)],
    }


def query_counts(targets: dict[str, list[str]]) -> dict[str, int]:
    """Each page's SQL queries, for its first target, in this process."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(get_user_model().objects.get(username=USERNAME))
    counts = {}
    for name, urls in targets.items():
        client.get(urls[0])  # warm caches the way a running server has them
        with CaptureQueriesContext(connection) as queries:
            response = client.get(urls[0])
        assert response.status_code == 200, (name, urls[0], response.status_code)
        counts[name] = len(queries)
    return counts


def sign_in(base_url: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base_url}/login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    response = session.post(f"{base_url}/login/", data={"username": USERNAME, "password": PASSWORD,
                                                        "csrfmiddlewaretoken": token},
                            headers={"Referer": f"{base_url}/login/"}, allow_redirects=False)
    if response.status_code != 302:
        raise RuntimeError(f"sign-in failed: {response.status_code}")
    return session


def worker_cpu_seconds(master_pid: int) -> float:
    """CPU time (user + system) of gunicorn's worker so far: what a page costs the web
    process, whatever else the machine runs (Linux /proc, clock ticks)."""
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    fields = Path(f"/proc/{children[0]}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def time_pages(session: requests.Session, base_url: str, targets: dict[str, list[str]], master_pid: int,
               warmup: int = 3) -> tuple[dict[str, list[float]], dict[str, float]]:
    timings, cpu = {}, {}
    for name, urls in targets.items():
        for url in urls[:warmup]:
            session.get(base_url + url)
        latencies, cpu_before = [], worker_cpu_seconds(master_pid)
        for url in urls:
            started = time.perf_counter()
            response = session.get(base_url + url)
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"{url}: {response.status_code}")
        cpu[name] = (worker_cpu_seconds(master_pid) - cpu_before) * 1000 / len(urls)
        timings[name] = sorted(latencies)
    return timings, cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=60, help="requests per page")
    parser.add_argument("--fresh", action="store_true", help="seed a fresh volume database")
    args = parser.parse_args()

    database_url = prepare_database(args.orders, args.fresh)
    setup_django(database_url)
    ensure_bench_admin()
    targets = page_targets(random.Random(7), args.requests)
    counts = query_counts(targets)
    port = free_port()
    server = start_gunicorn(database_url, port, workers=1)
    load_before = os.getloadavg()[0]
    try:
        base_url = f"http://127.0.0.1:{port}"
        timings, cpu = time_pages(sign_in(base_url), base_url, targets, server.pid)
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"\n{args.orders:,} orders of history, {args.requests} requests per page, one gunicorn worker; "
          f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after ({os.cpu_count()} cores)")
    print(f"{'page':22} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8} {'worker CPU ms':>14}")
    slow = []
    for name, values in timings.items():
        p50, p95 = percentile(values, 0.50), percentile(values, 0.95)
        print(f"{name:22} {p50:8.1f} {p95:8.1f} {counts[name]:8d} {cpu[name]:14.1f}")
        if p95 > TARGET_P95_MS:
            slow.append(name)
    print(f"\nover {TARGET_P95_MS:.0f} ms p95: {', '.join(slow) or 'none'}")


if __name__ == "__main__":
    main()
