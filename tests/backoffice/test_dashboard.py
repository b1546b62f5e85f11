"""The dashboard: today's sales per location and channel, sync health, open exceptions."""

from datetime import timedelta

import pytest

from apps.backoffice.selectors import local_day_bounds
from apps.core.services import open_exception
from tests.backoffice.conftest import record_sale

pytestmark = pytest.mark.django_db


def sales_row(response, code):
    return response.context["sales"][[row.location.code for row in response.context["sales"]].index(code)]


def test_todays_sales_by_channel_in_the_location_local_day(stores, signed_in):
    start, _, _ = local_day_bounds(stores.oak.timezone)
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
