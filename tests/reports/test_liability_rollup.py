"""The liabilities report reads closed days from the daily rollup and later entries from the
ledgers, and answers exactly what reading every entry answers: for every range, on both
sides of the watermark, across a local midnight, in two currencies. The rollup's refresh
rolls a day up only once it has settled, recomputes recent days, never moves its watermark
back, and is harmless run twice or twice at once."""

import io
import threading
from contextlib import contextmanager
from datetime import date, timedelta
from itertools import combinations_with_replacement

import pytest
from django.db import connection
from django_q.models import Schedule
from openpyxl import load_workbook

from apps.customers.models import Customer, LoyaltyEntry, StoredValueEntry
from apps.customers.services import (
    adjust_points,
    issue_gift_card,
    issue_store_credit,
    merge_customers,
    redeem_stored_value,
)
from apps.reports import liability_rollup
from apps.reports.liabilities import day_start, ledger_movements, liabilities, rolled_up_until
from apps.reports.models import DailyLiabilityMovement
from apps.reports.tasks import refresh_liability_rollup_task
from tests.reports.conftest import staff, utc

pytestmark = pytest.mark.django_db
DAYS = [date(2026, 11, 19) + timedelta(days=n) for n in range(8)]  # 19th..26th


@contextmanager
def written_at(moment):
    """Ledger entries carry their own created_at (auto_now_add): write them, then date them."""
    ledgers = (StoredValueEntry, LoyaltyEntry)
    before = {model: set(model.objects.values_list("pk", flat=True)) for model in ledgers}
    yield
    for model, known in before.items():
        model.objects.exclude(pk__in=known).update(created_at=moment)


@pytest.fixture
def new_york(settings):
    # Reporting days in New York: 03:00 UTC is still the day before.
    settings.TIME_ZONE = "America/New_York"


@pytest.fixture
def ledgers(shop, new_york):
    ana = Customer.objects.create(name="Ana")
    with written_at(utc(2026, 11, 20, 12)):
        card = issue_gift_card(amount=5000, currency="USD")
        issue_store_credit(customer_id=ana.pk, amount=1200, currency="USD")
        adjust_points(customer_id=ana.pk, points=300, reason="welcome")
    with written_at(utc(2026, 11, 21, 3)):  # 22:00 on the 20th in New York
        redeem_stored_value(account_id=card.pk, amount=1000)
    with written_at(utc(2026, 11, 22, 15)):
        euro = issue_gift_card(amount=2000, currency="EUR")
    with written_at(utc(2026, 11, 23, 15)):
        adjust_points(customer_id=ana.pk, points=-100, reason="correction")
        redeem_stored_value(account_id=euro.pk, amount=700)
    with written_at(utc(2026, 11, 25, 15)):
        redeem_stored_value(account_id=card.pk, amount=500)
    return type("Ledgers", (), {"ana": ana, "card": card, "euro": euro})


def as_figures(report) -> list:
    return [(line.kind, line.currency, line.opening, line.closing, line.movements, line.daily)
            for line in report.lines]


def every_range() -> list[tuple[date, date]]:
    return list(combinations_with_replacement(DAYS, 2))


def test_every_range_reads_the_same_from_the_rollup_as_from_the_ledgers(ledgers):
    live = {(first, last): as_figures(liabilities(first=first, last=last)) for first, last in every_range()}

    liability_rollup.refresh_liability_rollup(now=utc(2026, 11, 24, 12))  # rolls up to the 23rd's end

    assert rolled_up_until() == day_start(date(2026, 11, 24))
    assert DailyLiabilityMovement.objects.exists()
    for (first, last), figures in live.items():
        assert as_figures(liabilities(first=first, last=last)) == figures, (first, last)


def test_the_balances_are_the_ledgers_at_each_local_day_end(ledgers):
    liability_rollup.refresh_liability_rollup(now=utc(2026, 11, 24, 12))

    report = liabilities(first=date(2026, 11, 20), last=date(2026, 11, 25))

    lines = {(line.kind, line.currency): line for line in report.lines}
    usd_card, eur_card = lines[("gift_card", "USD")], lines[("gift_card", "EUR")]
    assert usd_card.daily == [4000, 4000, 4000, 4000, 4000, 3500]  # the redeem at 22:00 on the 20th
    assert (usd_card.opening, usd_card.movements["issue"], usd_card.movements["redeem"]) == (0, 5000, -1500)
    assert eur_card.daily == [0, 0, 2000, 1300, 1300, 1300]
    assert lines[("store_credit", "USD")].daily == [1200] * 6
    assert lines[("loyalty", "USD")].daily == [300, 300, 300, 200, 200, 200]
    assert report.total_closing_value == {"USD": 3500 + 1200 + 200 * lines[("loyalty", "USD")].point_value,
                                          "EUR": 1300}


def test_closed_days_come_from_the_rollup_and_later_ones_from_the_ledgers(ledgers):
    liability_rollup.refresh_liability_rollup(now=utc(2026, 11, 24, 12))
    # Tamper with the rolled-up 23rd: the report must show it (it reads the rollup there).
    DailyLiabilityMovement.objects.filter(day=date(2026, 11, 23), liability="loyalty").update(total=-90)

    report = liabilities(first=date(2026, 11, 23), last=date(2026, 11, 25))

    loyalty = next(line for line in report.lines if line.kind == "loyalty")
    assert loyalty.daily == [210, 210, 210]
    card = next(line for line in report.lines if (line.kind, line.currency) == ("gift_card", "USD"))
    assert card.daily == [4000, 4000, 3500]  # the 25th is after the watermark: its ledger


def test_the_page_and_its_files_are_the_same_read_from_the_rollup(ledgers):
    finance = staff("finance")
    params = {"from": "2026-11-21", "to": "2026-11-25"}

    def page_and_files():
        page = finance.get("/reports/liabilities/", params).content.decode()
        figures = page[page.index('aria-labelledby="chart-title"'):page.index("</table>")]  # chart and table
        csv = b"".join(finance.get("/reports/liabilities/", {**params, "format": "csv"}).streaming_content)
        xlsx = b"".join(finance.get("/reports/liabilities/", {**params, "format": "xlsx"}).streaming_content)
        cells = list(load_workbook(io.BytesIO(xlsx), read_only=True).active.iter_rows(values_only=True))
        return figures, csv.decode(), cells

    live = page_and_files()
    liability_rollup.refresh_liability_rollup(now=utc(2026, 11, 24, 12))
    rolled = page_and_files()

    assert rolled == live
    assert 'data-liability="loyalty"' in rolled[0] and "TOTAL,EUR" in rolled[1]


def test_a_day_is_rolled_up_once_it_has_settled(ledgers):
    just_after_midnight = day_start(date(2026, 11, 24)) + liability_rollup.SETTLE - timedelta(seconds=1)
    liability_rollup.refresh_liability_rollup(now=just_after_midnight)
    assert rolled_up_until() == day_start(date(2026, 11, 23))

    liability_rollup.refresh_liability_rollup(now=just_after_midnight + timedelta(seconds=2))

    assert rolled_up_until() == day_start(date(2026, 11, 24))


def test_an_entry_committed_late_on_a_recent_day_is_rolled_up_by_the_next_run(ledgers):
    liability_rollup.refresh_liability_rollup(now=utc(2026, 11, 24, 12))
    with written_at(utc(2026, 11, 23, 23)):  # 18:00 on the 23rd in New York
        adjust_points(customer_id=ledgers.ana.pk, points=40, reason="late")

    liability_rollup.refresh_liability_rollup(now=utc(2026, 11, 24, 12, 1))

    assert stored_days() == ledger_days()
    loyalty = next(line for line in liabilities(first=DAYS[4], last=DAYS[4]).lines if line.kind == "loyalty")
    assert loyalty.closing == 240


def test_the_watermark_never_moves_back_and_a_second_run_changes_nothing(ledgers):
    liability_rollup.refresh_liability_rollup(now=utc(2026, 11, 26, 12))
    rows = stored_days()

    liability_rollup.refresh_liability_rollup(now=utc(2026, 11, 24, 12))
    liability_rollup.refresh_liability_rollup(now=utc(2026, 11, 26, 12))

    assert rolled_up_until() == day_start(date(2026, 11, 26))
    assert stored_days() == rows == ledger_days()


def test_a_rebuild_takes_in_entries_dated_before_the_watermark(ledgers):
    liability_rollup.refresh_liability_rollup(now=utc(2026, 11, 26, 12))
    with written_at(utc(2026, 11, 10, 12)):  # history loaded later (seed_volume's COPY)
        issue_gift_card(amount=900, currency="USD")

    liability_rollup.rebuild_liability_rollup(now=utc(2026, 11, 26, 12))

    assert stored_days() == ledger_days()
    card = next(line for line in liabilities(first=DAYS[0], last=DAYS[0]).lines
                if (line.kind, line.currency) == ("gift_card", "USD"))
    assert card.opening == 900


def test_the_first_run_on_empty_ledgers_rolls_up_nothing_and_sets_the_watermark(db, new_york):
    assert refresh_liability_rollup_task() == 0

    assert rolled_up_until() is not None and not DailyLiabilityMovement.objects.exists()
    task = "apps.reports.tasks.refresh_liability_rollup_task"
    assert Schedule.objects.filter(func=task, minutes=1).exists()


def test_a_customer_merge_changes_no_rolled_up_day(ledgers):
    bea = Customer.objects.create(name="Bea")
    with written_at(utc(2026, 11, 21, 15)):
        issue_store_credit(customer_id=bea.pk, amount=800, currency="USD")
        adjust_points(customer_id=bea.pk, points=50, reason="welcome")
    liability_rollup.refresh_liability_rollup(now=utc(2026, 11, 24, 12))
    rolled = stored_days()

    merge_customers(survivor_id=ledgers.ana.pk, other_id=bea.pk, actor_label="test")

    assert not StoredValueEntry.objects.filter(account__customer=bea).exists()  # moved to Ana's
    assert not LoyaltyEntry.objects.filter(account__customer=bea).exists()
    assert stored_days() == rolled == ledger_days()


@pytest.mark.django_db(transaction=True)
def test_two_refreshes_at_once_write_each_day_once(ledgers):
    errors = []

    def refresh():
        try:
            liability_rollup.rebuild_liability_rollup(now=utc(2026, 11, 26, 12))
        except Exception as error:  # any failure fails the test below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=refresh) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert stored_days() == ledger_days()


def stored_days() -> set:
    return set(DailyLiabilityMovement.objects.values_list("day", "liability", "currency", "kind", "total",
                                                          "entries"))


def ledger_days() -> set:
    """What the ledgers hold for the rolled-up days, computed from every entry."""
    until = rolled_up_until()
    return {tuple(movement) for movement in ledger_movements(since=None, until=until)}
