"""Each POS poller reads only what changed since its last poll: Concord (real Postgres) polls
the platform's emulator over real HTTP, and the emulator counts the list calls it answers.

The older sales are moved three minutes back in the platform's clock, out of every poller's
overlap behind the newest sale, as sales rung earlier in the day would be; there are more
of them than one list page holds, so a poller that re-read them would make several calls."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import ModuleType, SimpleNamespace

import pytest
import requests

from apps.connectors.clover import poller as clover_poller
from apps.connectors.models import InboundEvent
from apps.connectors.pos_common import merge_connection_settings
from apps.connectors.square import poller as square_poller
from apps.connectors.toast import poller as toast_poller
from apps.emulators.square.support import parse_rfc3339, rfc3339
from apps.emulators.toast.orders import toast_time

pytestmark = pytest.mark.django_db(transaction=True)

DEAD_URL = "http://127.0.0.1:9"  # webhooks go nowhere: only the poller can find a sale
EARLIER = timedelta(minutes=3)  # past the pollers' 60 s overlap (Clover's was 5 minutes)


# -- how each platform keeps the time of an order's last change ---------------------------------


def toast_modified(emulator, order_id: str) -> str:
    return emulator.orders[order_id].doc["modifiedDate"]


def square_modified(emulator, order_id: str) -> str:
    return emulator.orders[order_id]["updated_at"]


def clover_modified(emulator, order_id: str) -> int:
    return emulator.orders[order_id].modified


def move_toast_orders_back(emulator, by: timedelta = EARLIER) -> None:
    for order in emulator.orders.values():
        order.modified -= by
        order.doc["modifiedDate"] = toast_time(order.modified)


def move_square_orders_back(emulator) -> None:
    for order in emulator.orders.values():
        for field in ("created_at", "updated_at"):
            order[field] = rfc3339(parse_rfc3339(order[field]) - EARLIER)


def move_clover_orders_back(emulator) -> None:
    for order in emulator.orders.values():
        order.created -= EARLIER // timedelta(milliseconds=1)
        order.modified -= EARLIER // timedelta(milliseconds=1)


@dataclass(frozen=True)
class Platform:
    name: str
    location: str
    poller: ModuleType
    older_sales: int  # more than one list page holds
    list_route: str  # the emulator's request counter for the poller's list call
    watermark_setting: str
    move_orders_back: Callable
    modified: Callable  # (emulator, order id) -> the platform's own time of the order's last change


PLATFORMS = [
    Platform("toast", "BKN", toast_poller, 250, "GET /orders/v2/ordersBulk", "orders_polled_to",
             move_toast_orders_back, toast_modified),
    Platform("square", "OAK", square_poller, 520, "POST /v2/orders/search", "orders_polled_to",
             move_square_orders_back, square_modified),  # a search page holds 500 orders
    Platform("clover", "CHI", clover_poller, 250, "GET /v3/merchants/(?P<mid>[^/]+)/orders",
             "orders_polled_to_ms", move_clover_orders_back, clover_modified),
]


@pytest.fixture(params=PLATFORMS, ids=lambda platform: platform.name)
def pos(request, demo_merchant, start_emulator, connect):
    platform = request.param
    emulator = start_emulator(platform.name)
    emulator.concord_url, emulator.webhook_max_attempts = DEAD_URL, 1
    link = connect(platform.name, platform.location, receives_orders=True)
    return SimpleNamespace(platform=platform, emulator=emulator, link=link)


def ring_sales(pos, count: int) -> list[str]:
    """Sales rung at the register, as the emulator's control call rings them."""
    body = {"location": pos.platform.location, "tender": {"type": "card"},
            "lines": [{"sku": "TACO-ASADA", "quantity": 1}]}
    with pos.emulator.lock:
        return [pos.emulator.ring_sale(body)["order_id"] for _ in range(count)]


def list_requests(pos) -> int:
    state = requests.get(f"{pos.emulator.url}/__emulator/state", params={"only": "requests"}, timeout=10)
    state.raise_for_status()
    return state.json()["requests"]["by_route"].get(pos.platform.list_route, 0)


def poll(pos) -> int:
    return pos.platform.poller.poll(pos.link)


def polled_events_of(pos, order_id: str) -> int:
    return InboundEvent.objects.filter(platform=pos.platform.name, event_id__contains=order_id).count()


def stored_watermark(pos):
    pos.link.refresh_from_db()
    return pos.link.settings.get(pos.platform.watermark_setting)


# -- tests ------------------------------------------------------------------------------------------


def test_a_poll_with_no_new_sales_makes_one_list_request_however_many_older_orders(pos):
    ring_sales(pos, pos.platform.older_sales)
    pos.platform.move_orders_back(pos.emulator)
    ring_sales(pos, 1)  # the last sale before the poll: only it lies in the overlap
    assert poll(pos) == pos.platform.older_sales + 1
    first = list_requests(pos)
    assert first > 1  # the first poll had to page to read them all

    assert poll(pos) == 0

    assert list_requests(pos) - first == 1


def test_a_sale_rung_after_a_poll_is_found_by_the_next_poll_and_stored_once(pos):
    ring_sales(pos, 3)
    pos.platform.move_orders_back(pos.emulator)
    assert poll(pos) == 3

    [sale] = ring_sales(pos, 1)

    assert poll(pos) == 1
    assert polled_events_of(pos, sale) == 1
    assert poll(pos) == 0  # read again inside the overlap, not stored again
    assert polled_events_of(pos, sale) == 1


def test_the_watermark_is_the_platforms_own_time_of_its_newest_order_and_only_moves_forward(pos):
    older = ring_sales(pos, 3)
    pos.platform.move_orders_back(pos.emulator)  # the platform's clock, not Concord's, says when
    poll(pos)
    assert stored_watermark(pos) == max(pos.platform.modified(pos.emulator, oid) for oid in older)

    [sale] = ring_sales(pos, 1)
    poll(pos)
    newest = pos.platform.modified(pos.emulator, sale)
    assert stored_watermark(pos) == newest

    poll(pos)  # nothing newer: the mark stays
    assert stored_watermark(pos) == newest


@pytest.mark.parametrize("pos", PLATFORMS[:1], ids=["toast"], indirect=True)
def test_toast_catches_up_hours_behind_in_windows_of_at_most_an_hour(pos):
    [sale] = ring_sales(pos, 1)
    move_toast_orders_back(pos.emulator, by=timedelta(hours=2))
    three_hours_ago = toast_time(datetime.now(UTC) - timedelta(hours=3))
    merge_connection_settings(pos.link, {"orders_polled_to": three_hours_ago})
    before = list_requests(pos)

    assert poll(pos) == 1

    assert polled_events_of(pos, sale) == 1
    # from 3 h and the 60 s overlap back to 5 min ahead: four windows of an hour or less
    assert list_requests(pos) - before == 4
    assert stored_watermark(pos) == toast_modified(pos.emulator, sale)


@pytest.mark.parametrize("pos", PLATFORMS[:1], ids=["toast"], indirect=True)
def test_a_quiet_toast_restaurant_is_not_read_back_to_its_last_order_on_every_poll(pos):
    [sale] = ring_sales(pos, 1)
    move_toast_orders_back(pos.emulator, by=timedelta(hours=5))  # its last order, hours ago
    merge_connection_settings(pos.link, {"orders_polled_to": toast_modified(pos.emulator, sale)})
    assert poll(pos) == 1  # the catch-up walks the hours since, once
    before = list_requests(pos)

    assert poll(pos) == 0

    assert list_requests(pos) - before == 1  # from where the last read reached, not from 5 h ago
    [later] = ring_sales(pos, 1)
    assert poll(pos) == 1 and polled_events_of(pos, later) == 1
