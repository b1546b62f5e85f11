"""The channel rollup's refresh finds each store's orders changed since its watermark
through an index on orders (location, updated_at) (at 1,000,000 orders, without it, a
scan of the store's orders: 0.5 s every minute), and asks for each touched day once, not
once per order."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.reports import rollup
from tests.reports.conftest import sale, utc

pytestmark = pytest.mark.django_db


def touched_orders_sql(location) -> str:
    now = timezone.now()
    with CaptureQueriesContext(connection) as queries:
        rollup._touched_days(location, now - timedelta(minutes=5), now)
    return next(query["sql"] for query in queries.captured_queries
                if 'FROM "orders_order"' in query["sql"] and "updated_at" in query["sql"])


def test_the_changed_orders_are_found_through_the_updated_at_index(fortnight):
    sql = touched_orders_sql(fortnight.oak)

    with connection.cursor() as cursor:
        # A handful of test rows would be scanned whatever the indexes: ask the planner
        # what it can use when a scan costs what it costs at volume.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute("EXPLAIN " + sql)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "order_location_updated_at" in plan, plan


def test_each_touched_day_is_one_row_of_the_look_up(fortnight):
    for n in range(3):
        sale("OAK", f"same-day-{n}", utc(2026, 11, 26, 18, n), [("TACO", 1)])

    sql = touched_orders_sql(fortnight.oak)
    with connection.cursor() as cursor:
        cursor.execute(sql)
        rows = cursor.fetchall()

    assert len(rows) == len(set(rows)) and len(rows[0]) == 1
