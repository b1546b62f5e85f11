"""Shared plumbing for the benchmarks: a scratch database, a gunicorn, client processes."""

from __future__ import annotations

import os
import re
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psycopg

BASE_DIR = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(BASE_DIR))


def base_database_url() -> str:
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    from config.embedded_pg import embedded_database_url

    return embedded_database_url()


def with_database(url: str, name: str) -> str:
    if "?" in url:
        head, query = url.split("?", 1)
        return re.sub(r"/[^/]*$", f"/{name}", head) + "?" + query
    return re.sub(r"/[^/]*$", f"/{name}", url)


def psycopg_url(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


def recreate_database(base_url: str, name: str) -> str:
    """A fresh, empty database `name` on the same server; returns its URL."""
    admin_url = psycopg_url(with_database(base_url, "postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name])
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return with_database(base_url, name)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(database_url: str, port: int, workers: int, extra_env=None) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "config.settings",
           **(extra_env or {})}
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--log-level", "warning", "--backlog", "2048"],
        cwd=BASE_DIR, env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("gunicorn did not start")


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))
    return sorted_values[index]


def latency_summary(latencies_ms: list[float]) -> str:
    values = sorted(latencies_ms)
    return (f"p50 {percentile(values, 0.50):.1f} ms, p95 {percentile(values, 0.95):.1f} ms, "
            f"p99 {percentile(values, 0.99):.1f} ms, mean {statistics.fmean(values):.1f} ms")
