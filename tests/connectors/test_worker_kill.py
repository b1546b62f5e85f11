"""A worker killed with SIGKILL in the middle of a delivery loses nothing and repeats nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from apps.connectors.enums import DeliveryKind
from apps.connectors.models import Delivery
from apps.connectors.services.catalog_sync import run_catalog_pull, start_catalog_pull
from apps.connectors.services.delivery import requeue_expired_leases
from apps.core.models import OutboxEvent
from apps.demo import dev_credentials
from apps.inventory.models import StockLevel
from tests.helpers import post_order

from .connector_support import control, drain, phone_order
from .sync_helpers import wait_until

pytestmark = pytest.mark.django_db(transaction=True)
BASE_DIR = Path(__file__).resolve().parents[2]


def database_url_of_this_test() -> str:
    params = connection.get_connection_params()
    host = params.get("host") or ""
    port = params.get("port") or 5432
    return f"postgresql://{params.get('user') or 'postgres'}@/{params['dbname']}?host={host}&port={port}"


def worker_process(toast_url: str) -> subprocess.Popen:
    env = {**os.environ, **dev_credentials.SECRETS, "DATABASE_URL": database_url_of_this_test(),
           "TOAST_BASE_URL": toast_url, "DELIVERY_LEASE_SECONDS": "2", "POLL_INTERVAL_SECONDS": "3600"}
    return subprocess.Popen([sys.executable, "manage.py", "sync", "--loop", "60"], cwd=BASE_DIR, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_a_worker_killed_mid_delivery_loses_nothing(demo_merchant, start_emulator, connect, phone):
    toast = start_emulator("toast")
    connect("toast", "BKN", receives_orders=True)
    OutboxEvent.objects.update(dispatched_at=timezone.now())
    assert run_catalog_pull(start_catalog_pull(platform="toast").pk).status == "done"
    control(toast, "POST", "faults", {"latency_ms": [2500, 2500]})  # every Toast call hangs a while
    order = post_order(phone, phone_order(location="BKN")).json()

    worker = worker_process(toast.url)
    try:
        claimed = Delivery.objects.filter(kind=DeliveryKind.INJECT_ORDER, status="in_flight")
        wait_until(claimed.exists, timeout=30, message="the worker claims the order")
        time.sleep(1.0)  # ... and is waiting on Toast
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    control(toast, "DELETE", "faults")
    time.sleep(2.2)  # the dead worker's lease runs out

    assert requeue_expired_leases() >= 1
    drain(toast)

    reference = f"concord:phone:{order['id']}"
    at_toast = [o for o in control(toast, "GET", "state")["orders"] if o["idempotency_key"] == reference]
    assert len(at_toast) == 1
    injection = Delivery.objects.get(kind=DeliveryKind.INJECT_ORDER)
    assert injection.status == "done"
    assert injection.attempts >= 2
    assert any("lease expired" in (entry.get("error") or "") for entry in injection.history)
    shown = control(toast, "GET", "state")["stock"]["BKN"]["BURRITO"]["quantity"]
    assert shown == StockLevel.objects.get(location__code="BKN", variant__sku="BURRITO").available
