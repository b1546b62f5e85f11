"""The dashboard: today's sales per location and channel, sync health, open exceptions."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from apps.backoffice.selectors import business_day_bounds, todays_sales
from apps.core.services import open_exception
from tests.backoffice.conftest import record_sale

pytestmark = pytest.mark.django_db


def sales_row(response, code):
    return response.context["sales"][[row.location.code for row in response.context["sales"]].index(code)]


def test_todays_sales_by_channel_in_the_location_local_day(stores, signed_in):
    start, _, _ = business_day_bounds(stores.oak)
    record_sale("OAK", channel="register", external_id="r1", lines=(("BURRITO", 2),))
    record_sale("OAK", channel="web", external_id="w1", lines=(("TACO", 1),), fulfilled=False)
    record_sale("OAK", channel="register", external_id="yesterday", placed_at=start - timedelta(minutes=1))
    record_sale("BKN", channel="register", external_id="b1")

    response = signed_in("admin").get("/")

    oak = sales_row(response, "OAK")
    assert oak.by_channel == {"web": {"orders": 1, "total": 375}, "register": {"orders": 1, "total": 1900},
                              "phone": {"orders": 0, "total": 0}}
    assert (oak.orders, oak.total) == (2, 2275)
    assert sales_row(response, "BKN").total == 950
    html = response.content.decode()
    assert "$22.75" in html and "$19.00" in html


def test_a_store_closing_out_at_4_counts_a_sale_at_1_30_on_the_day_before_as_the_reports_do(stores):
    """Brooklyn's business day starts at 4:00: at 02:00 on Dec 2 it is still Dec 1 there, its
    sale at 01:30 belongs to Dec 1 with the evening's, and a sale at 03:59 the day before not."""
    stores.bkn.business_day_starts_at = 4
    stores.bkn.save(update_fields=["business_day_starts_at"])
    zone = ZoneInfo("America/New_York")
    at = lambda day, hour, minute=0: datetime(2026, 12, day, hour, minute, tzinfo=zone)  # noqa: E731
    record_sale("BKN", external_id="evening", placed_at=at(1, 21))
    record_sale("BKN", external_id="after-midnight", placed_at=at(2, 1, 30))
    record_sale("BKN", external_id="before-closeout-the-day-before", placed_at=at(1, 3, 59))

    [bkn] = todays_sales([stores.bkn], now=at(2, 2))

    assert (bkn.day, bkn.orders, bkn.total) == ("2026-12-01", 2, 1900)
    assert business_day_bounds(stores.bkn, at(2, 2))[:2] == (at(1, 4), at(2, 4))


def test_a_store_manager_sees_only_their_stores_and_their_exceptions(stores, signed_in):
    record_sale("BKN", channel="register", external_id="b1")
    open_exception(kind="oversold", title="OAK short", location_code="OAK", dedupe_key="a")
    open_exception(kind="oversold", title="BKN short", location_code="BKN", dedupe_key="b")
    open_exception(kind="unmapped_sku", title="no location", dedupe_key="c")

    manager = signed_in("store_manager", "OAK").get("/")
    assert [row.location.code for row in manager.context["sales"]] == ["OAK"]
    counts = {row["kind"]: row["count"] for row in manager.context["exceptions_by_kind"]}
    assert counts["oversold"] == 1 and counts["unmapped_sku"] == 0
    assert b"BKN" not in manager.content

    service = signed_in("customer_service").get("/")
    counts = {row["kind"]: row["count"] for row in service.context["exceptions_by_kind"]}
    assert counts["oversold"] == 2 and counts["unmapped_sku"] == 1


def test_htmx_polls_get_only_the_figures(stores, signed_in):
    record_sale("OAK", channel="register", external_id="r1")
    response = signed_in("finance").get("/", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="figures"') and "<html" not in html
    assert 'hx-trigger="every 10s"' in html and "$9.50" in html


def test_sync_health_says_what_healthz_says(stores, signed_in):
    response = signed_in("admin").get("/")
    health = response.context["health"]
    assert health["failing"] == ["no worker alive"] and health["workers_alive"] == 0
    assert 'id="health-failing">no worker alive<' in response.content.decode()


def test_finance_follows_a_reconciliation_variance_to_the_reconciliation_page(stores, signed_in):
    open_exception(kind="reconciliation_variance", title="square 2026-12-01", location_code="OAK",
                   dedupe_key="variance")

    finance = signed_in("finance").get("/").content.decode()
    service = signed_in("customer_service").get("/").content.decode()

    assert '<a href="/reports/reconciliation/">Reconciliation variance</a>' in finance
    assert "/exceptions/?kind=" not in finance  # the queue is not finance's
    assert '<a href="/exceptions/?kind=reconciliation_variance&amp;status=open">' in service
