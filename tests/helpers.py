import json
import threading
from concurrent.futures import ThreadPoolExecutor

from django.db import connections

from apps.core.models import IdempotencyRecord, OutboxEvent
from apps.customers.models import Customer
from apps.inventory.models import StockLevel, StockMovement
from apps.orders.models import Order, OrderLine, Payment

CONTRACT_EXAMPLE = {
    "location": "OAK",
    "source_name": "PieLine",
    "external_id": "call-8812",
    "fulfillment": {"type": "pickup", "pickup_at": "2026-11-25T18:30:00Z"},
    "customer": {"name": "Ana Ruiz", "phone": "+15105550123", "email": "ana@example.com"},
    "lines": [
        {"sku": "BURRITO", "quantity": 2, "modifiers": [{"sku": "EXTRA-GUAC", "quantity": 1}],
         "note": "no beans"},
    ],
    "tender": {"type": "pay_at_pickup"},
    "expected_total": {"amount": 2300, "currency": "USD"},
}


def post_order(api, body, key="key-1", **extra):
    payload = body if isinstance(body, str | bytes) else json.dumps(body)
    return api.post("/api/v1/orders", data=payload, content_type="application/json",
                    HTTP_IDEMPOTENCY_KEY=key, **extra)


def simple_order(sku="BURRITO", quantity=1, **fields):
    return {"location": "OAK", "fulfillment": {"type": "pickup"},
            "lines": [{"sku": sku, "quantity": quantity}], **fields}


def row_counts() -> dict:
    return {model.__name__: model.objects.count() for model in
            (Order, OrderLine, Payment, StockMovement, OutboxEvent, IdempotencyRecord, Customer)}


def levels() -> dict:
    return {(lvl.location_id, lvl.variant_id): (lvl.on_hand, lvl.committed, lvl.is_86d)
            for lvl in StockLevel.objects.all()}


def database_url_of_this_test() -> str:
    """A DATABASE_URL naming this test's database, for a subprocess to share it."""
    from django.db import connection

    params = connection.get_connection_params()
    host = params.get("host") or ""
    port = params.get("port") or 5432
    return f"postgresql://{params.get('user') or 'postgres'}@/{params['dbname']}?host={host}&port={port}"


def run_concurrently(count: int, work):
    """Run work(i) in `count` threads released together; each closes its connection."""
    barrier = threading.Barrier(count)

    def runner(i):
        try:
            barrier.wait(timeout=10)
            return work(i)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(runner, range(count)))
