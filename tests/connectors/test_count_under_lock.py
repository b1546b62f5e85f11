"""A platform's count lands while an order's reservation is committing, on real Postgres.

The count says what is available at the platform; on hand is that plus what is held
(committed, safety stock, the platform's buffer). Held must be read under the level's row
lock: a reservation that commits after an unlocked read of it and before the write would
leave on hand short by the reserved units.
"""

import threading

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from apps.connectors.enums import Domain
from apps.connectors.models import ChannelBuffer, ExternalMapping, OwnershipRule, PlatformConnection
from apps.connectors.services.intake import record_platform_stock
from apps.inventory.models import StockLevel
from apps.inventory.selectors import list_ledger_mismatches
from apps.inventory.services import StockRequest, reserve_stock, set_safety_stock

pytestmark = pytest.mark.django_db(transaction=True)

WAIT_SECONDS = 10


@pytest.fixture
def square_owns_stock(shop):
    link = PlatformConnection.objects.create(platform="square", location=shop.oak,
                                             external_location_id="LOAK")
    ExternalMapping.objects.create(platform="square", kind="variant", external_id="sq-TACO",
                                   variant=shop.taco)
    OwnershipRule.objects.create(domain=Domain.STOCK, location=shop.oak, owner="square")
    ChannelBuffer.objects.create(platform="square", location=shop.oak, units=1)
    set_safety_stock(location_id=shop.oak.pk, variant_id=shop.taco.pk, safety_stock=3)
    return link


def _in_thread(work, done: list):
    def run():
        try:
            done.append(work())
        except BaseException as error:  # the main thread re-raises it
            done.append(error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _wait_for_a_lock_wait():
    """Until another session of this database waits on a row lock."""
    deadline = threading.Event()
    for _ in range(WAIT_SECONDS * 20):
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                           "AND wait_event_type = 'Lock'")
            if cursor.fetchone()[0]:
                return
        deadline.wait(0.05)
    raise AssertionError("the count never waited on the reservation's row lock")


def test_a_count_landing_while_a_reservation_commits_keeps_the_reserved_units_on_hand(
        shop, square_owns_stock):
    level = StockLevel.objects.get(location=shop.oak, variant=shop.taco)
    reserved, release = threading.Event(), threading.Event()

    def reserve_and_hold():
        with transaction.atomic():
            reserve_stock(requests=[StockRequest(level.pk, 2)], order_id=None, actor="test")
            reserved.set()
            assert release.wait(WAIT_SECONDS)

    def apply_count():
        return record_platform_stock(platform="square", link=square_owns_stock, external_id="sq-TACO",
                                     quantity=20, available=None, occurred_at=timezone.now())

    reservation, count = [], []
    reserving = _in_thread(reserve_and_hold, reservation)
    assert reserved.wait(WAIT_SECONDS)
    counting = _in_thread(apply_count, count)
    try:
        _wait_for_a_lock_wait()
    finally:
        release.set()
        reserving.join(WAIT_SECONDS)
        counting.join(WAIT_SECONDS)

    assert reservation == [None]
    assert count == ["count applied"]
    level.refresh_from_db()
    # 20 available at Square + its buffer of 1 + 3 safety stock + the 2 just reserved.
    assert (level.on_hand, level.committed, level.safety_stock) == (26, 2, 3)
    assert level.available == 21
    assert list_ledger_mismatches() == []
