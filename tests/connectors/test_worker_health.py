"""Workers beat; /healthz says 503 and why when none is alive or the outbox is not being
relayed; /metrics exports the heartbeat's age."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from apps.connectors.heartbeat import beat_forever, worker_name
from apps.core.models import OutboxEvent, WorkerHeartbeat
from tests.helpers import database_url_of_this_test

from .sync_helpers import wait_until

BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture
def limits(settings):
    settings.HEALTH_MAX_HEARTBEAT_AGE_SECONDS = 20
    settings.HEALTH_MAX_OUTBOX_WAIT_SECONDS = 20
    settings.HEALTH_MAX_PENDING_AGE_SECONDS = 300
    return settings


def metric(client, name: str) -> str:
    text = client.get("/metrics").content.decode()
    lines = [line for line in text.splitlines() if line.startswith(name + " ")]
    assert len(lines) == 1
    return lines[0].split(" ", 1)[1]


def test_with_no_worker_ever_health_is_503_naming_it(client, db, limits):
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["failing"] == ["no worker alive"]
    assert response.json()["workers_alive"] == 0
    assert response.json()["worker_heartbeat_age_seconds"] is None
    assert metric(client, "concord_worker_heartbeat_age_seconds") == "+Inf"


def test_a_worker_that_beat_recently_is_healthy(client, db, limits, worker_alive):
    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert (body["ok"], body["failing"], body["workers_alive"]) == (True, [], 1)
    assert 0 <= float(metric(client, "concord_worker_heartbeat_age_seconds")) < 20
    assert metric(client, "concord_workers_alive") == "1.0"


def test_a_heartbeat_older_than_the_limit_is_a_dead_worker(client, db, limits, worker_alive):
    WorkerHeartbeat.objects.update(beat_at=timezone.now() - timedelta(seconds=21))

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["failing"] == ["no worker alive"]
    assert response.json()["worker_heartbeat_age_seconds"] >= 21
    assert float(metric(client, "concord_worker_heartbeat_age_seconds")) >= 21


def test_a_worker_alive_but_an_outbox_not_relayed_is_503_naming_it(client, db, limits, worker_alive):
    OutboxEvent.objects.create(topic="stock.changed", aggregate_type="StockLevel", aggregate_id=1)
    assert client.get("/healthz").status_code == 200  # just written: a worker will get to it

    OutboxEvent.objects.update(created_at=timezone.now() - timedelta(seconds=25))
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["failing"] == ["outbox not relayed"]
    assert response.json()["outbox_wait_seconds"] >= 25


def test_both_failures_are_named(client, db, limits):
    OutboxEvent.objects.create(topic="stock.changed", aggregate_type="StockLevel", aggregate_id=1)
    OutboxEvent.objects.update(created_at=timezone.now() - timedelta(minutes=10))

    assert client.get("/healthz").json()["failing"] == ["no worker alive", "outbox not relayed",
                                                        "changes not delivered"]


def test_beating_keeps_one_row_per_worker_process_fresh(db, settings):
    settings.WORKER_HEARTBEAT_SECONDS = 0.01
    beat_forever(worker_name(), beats=3)

    row = WorkerHeartbeat.objects.get()
    assert row.worker == worker_name()
    assert row.started_at <= row.beat_at


@pytest.mark.django_db(transaction=True)
def test_a_killed_qcluster_is_seen_on_healthz(client, limits):
    """A real django-q2 cluster beats from each worker process; killed, /healthz turns 503
    'no worker alive' once the newest beat is older than the limit."""
    limits.HEALTH_MAX_HEARTBEAT_AGE_SECONDS = 3
    env = {**os.environ, "DATABASE_URL": database_url_of_this_test(), "WORKER_HEARTBEAT_SECONDS": "0.5",
           "Q_WORKERS": "1"}
    cluster = subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=BASE_DIR, env=env,
                               start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: client.get("/healthz").status_code == 200, timeout=60,
                   message="the cluster's worker beats")
        assert client.get("/healthz").json()["workers_alive"] >= 1

        os.killpg(cluster.pid, signal.SIGKILL)
        cluster.wait(timeout=10)

        wait_until(lambda: client.get("/healthz").status_code == 503, timeout=30,
                   message="/healthz sees the worker gone")
        assert client.get("/healthz").json()["failing"] == ["no worker alive"]
    finally:
        if cluster.poll() is None:
            os.killpg(cluster.pid, signal.SIGKILL)
            cluster.wait(timeout=10)


@pytest.mark.django_db(transaction=True)
def test_a_sync_loop_run_by_hand_beats_too(client, limits):
    env = {**os.environ, "DATABASE_URL": database_url_of_this_test(), "WORKER_HEARTBEAT_SECONDS": "0.5"}
    loop = subprocess.Popen([sys.executable, "manage.py", "sync", "--loop", "60"], cwd=BASE_DIR, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: client.get("/healthz").status_code == 200, timeout=60,
                   message="the sync loop's process beats")
        assert WorkerHeartbeat.objects.get().worker.endswith(f":{loop.pid}")
    finally:
        loop.kill()
        loop.wait(timeout=10)
