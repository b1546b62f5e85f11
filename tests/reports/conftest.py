"""A hand-computed fortnight of sales at two stores for the finance reports.

OAK (Los Angeles, day from midnight) and BKN (New York, a Toast-style day from 04:00).
Expected figures, business days 2026-11-24..25 (each store's own day):

| day | store | channel  | orders | units | gross | disc | tax | tips | refunds | oversold |
| 24  | OAK   | register | 1      | 2     | 1950  | 100  | 150 | 200  | 0       | 0        |
| 24  | OAK   | web      | 1      | 1     | 405   | 0    | 30  | 0    | 0       | 0        |
| 24  | BKN   | register | 1      | 1     | 1034  | 0    | 84  | 100  | 0       | 0        |
| 25  | BKN   | register | 1      | 1     | 950   | 0    | 0   | 0    | 300     | 0        |
| 25  | OAK   | register | 2      | 8     | 26120 | 0    | 0   | 0    | 500     | 2        |

plus a canceled phone order on the 24th (counts nowhere), a web order on the 23rd (the
previous period) and a refund on the 27th (outside the range)."""

from datetime import UTC, datetime

import pytest
from django.test import Client

from apps.backoffice.services import create_staff_user
from apps.inventory.services import upsert_location
from apps.orders import services as orders
from apps.returns.models import Refund
from apps.returns.services import refund_order
from tests.conftest import stock


def staff(role, username=None, *locations) -> Client:
    """A test client signed in as a new staff user of `role` (at `locations`)."""
    user, _ = create_staff_user(username=username or role, role=role, location_codes=list(locations),
                                password="pw-pw-pw-pw")
    client = Client()
    client.force_login(user)
    return client


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def sale(code, external_id, placed_at, lines, *, channel="register", discount=0, tax=0, tip=0, fee=0,
         fulfilled=True):
    prices = {"BURRITO": 950, "TACO": 375, "SCARCE": 4999}
    total = sum(prices[sku] * quantity for sku, quantity in lines) - discount + tax
    order, _ = orders.record_external_order(order=orders.ExternalOrderInput(
        channel=channel, source_name="Test POS", external_id=external_id, location_code=code,
        lines=tuple(orders.LineInput(sku, quantity) for sku, quantity in lines), placed_at=placed_at,
        fulfillment_type="in_store" if fulfilled else "pickup", already_fulfilled=fulfilled,
        discount=discount, tax=tax,
        tenders=(orders.TenderFact(type="card", amount=total, tip=tip, processing_fee=fee,
                                   platform="square", reference=f"pay-{external_id}"),)))
    assert order.total_amount == total
    return order


def refund_at(order, amount, at):
    refund = refund_order(order_id=order.pk, amount=amount, reason="test", actor="test",
                          idempotency_key=f"r-{order.pk}-{amount}")
    Refund.objects.filter(pk=refund.pk).update(created_at=at)
    refund.refresh_from_db()
    return refund


@pytest.fixture
def queued(monkeypatch, settings, tmp_path):
    """Tasks queued, to be run by the test as a worker would."""
    settings.EXPORTS_ROOT = tmp_path / "exports"
    calls = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda func, *args, **kw: calls.append((func, args)))
    return calls


@pytest.fixture
def fortnight(shop):
    return make_fortnight(shop)


def make_fortnight(shop):
    bkn = upsert_location(code="BKN", name="Brooklyn", timezone_name="America/New_York",
                          business_day_starts_at=4)
    upsert_location(code="OAK", name="Oakland", timezone_name="America/Los_Angeles")
    stock(bkn, shop.burrito, 20)
    made = {
        "o0": sale("OAK", "o0", utc(2026, 11, 23, 20), [("TACO", 1)], channel="web"),
        "o1": sale("OAK", "o1", utc(2026, 11, 24, 18), [("BURRITO", 2)], discount=100, tax=150, tip=200,
                   fee=60),
        "o2": sale("OAK", "o2", utc(2026, 11, 25, 7, 30), [("TACO", 1)], channel="web", tax=30),
        "o3": sale("OAK", "o3", utc(2026, 11, 25, 8, 30), [("TACO", 3)]),
        "o4": sale("OAK", "o4", utc(2026, 11, 24, 19), [("BURRITO", 1)], channel="phone", fulfilled=False),
        "o5": sale("BKN", "o5", utc(2026, 11, 25, 6), [("BURRITO", 1)], tax=84, tip=100),
        "o6": sale("BKN", "o6", utc(2026, 11, 25, 10), [("BURRITO", 1)]),
        "o7": sale("OAK", "o7", utc(2026, 11, 25, 20), [("SCARCE", 5)]),
    }
    orders.cancel_order(order_id=made["o4"].pk, actor="test", reason="test")
    refund_at(made["o1"], 500, utc(2026, 11, 25, 20))
    refund_at(made["o5"], 300, utc(2026, 11, 26, 8))
    refund_at(made["o3"], 100, utc(2026, 11, 27, 20))
    return type("Fortnight", (), {"orders": made, "oak": shop.oak, "bkn": bkn, "shop": shop})


EXPECTED_ROWS = [
    {"day": "2026-11-24", "location": "BKN", "channel": "register", "orders": 1, "units": 1,
     "gross_sales": 1034, "discounts": 0, "tax": 84, "tips": 100, "refunds": 0, "net_sales": 1034,
     "average_ticket": 1034, "oversold_units": 0},
    {"day": "2026-11-24", "location": "OAK", "channel": "register", "orders": 1, "units": 2,
     "gross_sales": 1950, "discounts": 100, "tax": 150, "tips": 200, "refunds": 0, "net_sales": 1950,
     "average_ticket": 1950, "oversold_units": 0},
    {"day": "2026-11-24", "location": "OAK", "channel": "web", "orders": 1, "units": 1,
     "gross_sales": 405, "discounts": 0, "tax": 30, "tips": 0, "refunds": 0, "net_sales": 405,
     "average_ticket": 405, "oversold_units": 0},
    {"day": "2026-11-25", "location": "BKN", "channel": "register", "orders": 1, "units": 1,
     "gross_sales": 950, "discounts": 0, "tax": 0, "tips": 0, "refunds": 300, "net_sales": 650,
     "average_ticket": 950, "oversold_units": 0},
    {"day": "2026-11-25", "location": "OAK", "channel": "register", "orders": 2, "units": 8,
     "gross_sales": 26120, "discounts": 0, "tax": 0, "tips": 0, "refunds": 500, "net_sales": 25620,
     "average_ticket": 13060, "oversold_units": 2},
]
EXPECTED_TOTALS = {"orders": 6, "units": 13, "gross_sales": 30459, "discounts": 100, "tax": 264, "tips": 300,
                   "refunds": 800, "net_sales": 29659, "average_ticket": 5077, "oversold_units": 2}
