"""The channel report against the hand-computed fortnight (tests/reports/conftest.py)."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from apps.reports import rollup, selectors
from apps.reports.channel_figures import location_figures
from apps.reports.models import DailyChannelSales, RollupWatermark
from tests.reports.conftest import EXPECTED_ROWS, EXPECTED_TOTALS, sale, utc

pytestmark = pytest.mark.django_db

FIRST, LAST = date(2026, 11, 24), date(2026, 11, 25)


def test_rows_and_totals_equal_the_hand_computed_figures(fortnight):
    rollup.refresh_channel_rollup()

    report = selectors.channel_report(first=FIRST, last=LAST)

    assert [row.document for row in report.rows] == EXPECTED_ROWS
    totals = report.totals_document
    assert {key: totals[key] for key in EXPECTED_TOTALS} == EXPECTED_TOTALS
    assert totals["refund_rate"] == "2.63"  # 800 / 30459
    assert totals["oversell_rate"] == "15.38"  # 2 / 13


def test_the_previous_period_is_the_same_length_just_before(fortnight):
    rollup.refresh_channel_rollup()

    previous = selectors.channel_report(first=FIRST, last=LAST).totals_document["previous_period"]

    assert previous["from"] == "2026-11-22" and previous["to"] == "2026-11-23"
    assert (previous["orders"], previous["gross_sales"], previous["units"]) == (1, 375, 1)


def test_the_rollup_equals_the_live_figures_day_by_day(fortnight):
    rollup.refresh_channel_rollup()

    for location in (fortnight.oak, fortnight.bkn):
        live = location_figures(location, date(2026, 11, 20), date(2026, 11, 30))
        stored = {(row.day, row.channel): row for row in DailyChannelSales.objects.filter(location=location)}
        assert set(stored) == set(live)
        for key, cell in live.items():
            assert (stored[key].gross_sales, stored[key].refunds, stored[key].units) == \
                (cell.gross_sales, cell.refunds, cell.units)


def test_todays_figures_are_read_live_without_the_rollup(fortnight):
    now = timezone.now()
    sale("OAK", "today", now, [("BURRITO", 1)], channel="web")
    today = selectors.location_day(now, fortnight.oak)

    report = selectors.channel_report(first=today, last=today, location_ids={fortnight.oak.pk})

    assert DailyChannelSales.objects.count() == 0
    assert [(row.channel, row.figures.gross_sales) for row in report.rows] == [("web", 950)]


def test_a_change_to_an_old_day_reaches_the_rollup_on_the_next_refresh(fortnight, monkeypatch):
    from apps.orders.services import cancel_order

    rollup.refresh_channel_rollup()
    monkeypatch.setattr(rollup, "RECENT_DAYS", 0)  # only the watermark finds the day
    old = sale("OAK", "late", utc(2026, 11, 24, 21), [("TACO", 2)], channel="web", fulfilled=False)

    rollup.refresh_channel_rollup()
    web = DailyChannelSales.objects.get(location=fortnight.oak, day=FIRST, channel="web")
    assert (web.orders, web.gross_sales) == (2, 405 + 750)

    cancel_order(order_id=old.pk, actor="test", reason="test")
    rollup.refresh_channel_rollup()
    web = DailyChannelSales.objects.get(location=fortnight.oak, day=FIRST, channel="web")
    assert (web.orders, web.gross_sales) == (1, 405)


def test_refreshing_twice_changes_nothing(fortnight):
    rollup.refresh_channel_rollup()
    before = list(DailyChannelSales.objects.order_by("day", "location", "channel")
                  .values_list("day", "location", "channel", "gross_sales", "refunds"))
    mark = RollupWatermark.objects.get().changes_since

    rollup.refresh_channel_rollup(now=mark + timedelta(seconds=1))

    after = list(DailyChannelSales.objects.order_by("day", "location", "channel")
                 .values_list("day", "location", "channel", "gross_sales", "refunds"))
    assert after == before


def test_a_store_managers_report_holds_only_their_stores(fortnight):
    rollup.refresh_channel_rollup()

    report = selectors.channel_report(first=FIRST, last=LAST, location_ids={fortnight.bkn.pk})

    assert {row.location.code for row in report.rows} == {"BKN"}
    assert report.totals.gross_sales == 1034 + 950


@pytest.mark.django_db(transaction=True)
def test_refreshes_at_once_replace_a_day_in_turn(shop):
    from tests.helpers import run_concurrently
    from tests.reports.conftest import make_fortnight

    fortnight = make_fortnight(shop)

    run_concurrently(6, lambda i: rollup.rebuild_channel_days(location=fortnight.oak, first=FIRST, last=LAST))

    rows = DailyChannelSales.objects.filter(location=fortnight.oak).order_by("day", "channel")
    assert [(row.day, row.channel, row.gross_sales) for row in rows] == [
        (FIRST, "register", 1950), (FIRST, "web", 405), (LAST, "register", 26120)]


def test_a_previous_period_reaching_today_reads_today_live(shop):
    now = timezone.now()
    sale("OAK", "today", now, [("TACO", 1)], channel="web")
    tomorrow = selectors.location_day(now, shop.oak) + timedelta(days=1)

    report = selectors.channel_report(first=tomorrow, last=tomorrow, location_ids={shop.oak.pk})

    assert (report.totals.orders, report.previous.orders, report.previous.gross_sales) == (0, 1, 375)
