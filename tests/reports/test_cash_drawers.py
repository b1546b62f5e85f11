"""Cash drawer counts: the cash expected, recording a count (validation, a recount replaces
it, the audit trail) and the journal's cash over/short (balanced, stable ids).

OAK (Los Angeles, day from midnight). Business day 2026-11-24: two burritos in cash with a
1.00 tip (2,000), one by card (not cash), one in cash at 23:00 local (07:00 UTC on the 25th:
still the 24th) and 3.00 of the first given back in cash: expected 2,000 + 950 - 300 = 2,650.
Business day 2026-11-25: one burrito in cash, 950."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from apps.backoffice.services import create_staff_user
from apps.core.models import AuditEntry
from apps.orders import services as orders
from apps.reports.business_day import location_day
from apps.reports.drawer_selectors import expected_cash, list_drawer_days, over_short
from apps.reports.exceptions import FutureBusinessDay, LocationNotPermitted, NegativeAmount, UnknownLocation
from apps.reports.journal import journal_lines
from apps.reports.models import CashDrawerCount, CashDrawerFloat
from apps.reports.services import record_drawer_count, set_drawer_float
from tests.factories import LocationFactory
from tests.helpers import run_concurrently
from tests.reports.conftest import refund_at, sale, utc

pytestmark = pytest.mark.django_db
TUESDAY, WEDNESDAY = date(2026, 11, 24), date(2026, 11, 25)
FLOAT = 20_000


def cash_sale(external_id, placed_at, *, burritos=1, tip=0, code="OAK"):
    order, _ = orders.record_external_order(order=orders.ExternalOrderInput(
        channel="register", source_name="Test POS", external_id=external_id, location_code=code,
        lines=(orders.LineInput("BURRITO", burritos),), placed_at=placed_at, fulfillment_type="in_store",
        already_fulfilled=True, tenders=(orders.TenderFact(type="cash", amount=950 * burritos, tip=tip),)))
    return order


@pytest.fixture
def cash_days(shop):
    first = cash_sale("c1", utc(2026, 11, 24, 18), burritos=2, tip=100)
    sale("OAK", "card-1", utc(2026, 11, 24, 19), [("BURRITO", 1)])
    cash_sale("c2", utc(2026, 11, 25, 7))
    refund_at(first, 300, utc(2026, 11, 24, 22))
    cash_sale("c3", utc(2026, 11, 25, 20))
    return shop


def staff_user(role, *codes, username=None):
    user, _ = create_staff_user(username=username or f"{role}-{'-'.join(codes) or 'all'}", role=role,
                                location_codes=list(codes), password="pw-pw-pw-pw")
    return user


@pytest.fixture
def manager(cash_days):
    return staff_user("store_manager", "OAK")


def drawer_audits():
    return list(AuditEntry.objects.filter(action__startswith="cash_drawer.").order_by("id"))


def test_expected_cash_is_the_cash_taken_less_the_cash_refunded_each_business_day(cash_days):
    assert expected_cash(location=cash_days.oak, first=TUESDAY, last=WEDNESDAY) == {TUESDAY: 2650,
                                                                                   WEDNESDAY: 950}


def test_a_count_takes_the_stores_float_and_is_audited(cash_days, manager):
    set_drawer_float(location_id=cash_days.oak.pk, amount=FLOAT, user=staff_user("admin"))

    count = record_drawer_count(location_id=cash_days.oak.pk, business_day=TUESDAY, counted=FLOAT + 2650 + 25,
                                note=" two quarters found ", user=manager)

    assert (count.opening_float, count.currency, count.counted_by, count.note) == (FLOAT, "USD", manager,
                                                                                   "two quarters found")
    assert over_short(count, 2650) == 25
    audit = drawer_audits()[-1]
    assert (audit.action, audit.actor_user, audit.object_id) == ("cash_drawer.counted", manager,
                                                                 str(count.pk))
    keys = ("location", "business_day", "counted", "opening_float", "expected", "over_short")
    assert {key: audit.data[key] for key in keys} == {
        "location": "OAK", "business_day": "2026-11-24", "counted": FLOAT + 2675, "opening_float": FLOAT,
        "expected": 2650, "over_short": 25}
    assert "replaced" not in audit.data


def test_without_a_float_set_the_float_is_zero_unless_given(cash_days, manager):
    plain = record_drawer_count(location_id=cash_days.oak.pk, business_day=TUESDAY, counted=2650,
                                user=manager)
    given = record_drawer_count(location_id=cash_days.oak.pk, business_day=WEDNESDAY, counted=10_950,
                                opening_float=10_000, user=manager)

    assert (plain.opening_float, over_short(plain, 2650)) == (0, 0)
    assert (given.opening_float, over_short(given, 950)) == (10_000, 0)


def test_a_recount_replaces_the_days_count_and_the_audit_keeps_what_it_replaced(cash_days, manager):
    first = record_drawer_count(location_id=cash_days.oak.pk, business_day=TUESDAY, counted=2000,
                                opening_float=0, note="first", user=manager)
    admin = staff_user("admin")

    again = record_drawer_count(location_id=cash_days.oak.pk, business_day=TUESDAY, counted=2650,
                                opening_float=0, note="recounted", user=admin)

    assert again.pk == first.pk and CashDrawerCount.objects.count() == 1
    stored = CashDrawerCount.objects.get()
    assert (stored.counted, stored.note, stored.counted_by, stored.recounts) == (2650, "recounted", admin, 1)
    counted, recounted = drawer_audits()
    assert (counted.action, recounted.action) == ("cash_drawer.counted", "cash_drawer.recounted")
    assert recounted.data["replaced"]["counted"] == 2000 and recounted.data["replaced"]["note"] == "first"
    assert recounted.data["replaced"]["counted_by"] == manager.pk
    assert (recounted.data["counted"], recounted.data["over_short"]) == (2650, 0)


REFUSALS = {
    "negative counted": ({"counted": -1}, NegativeAmount, "negative_amount", "counted"),
    "negative float": ({"opening_float": -500}, NegativeAmount, "negative_amount", "opening_float"),
    "a day not started": ({"business_day": "tomorrow"}, FutureBusinessDay, "future_business_day",
                          "business_day"),
    "another store's manager": ({"user": ("store_manager", "BKN")}, LocationNotPermitted,
                                "location_not_permitted", "location"),
    "finance": ({"user": ("finance",)}, LocationNotPermitted, "location_not_permitted", "location"),
    "customer service": ({"user": ("customer_service",)}, LocationNotPermitted, "location_not_permitted",
                         "location"),
    "no such location (admin)": ({"user": ("admin",), "location_id": 999_999}, UnknownLocation,
                                 "unknown_location", "location"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_a_refused_count_says_why_and_changes_nothing(cash_days, manager, case):
    LocationFactory(code="BKN")
    changes, error_class, code, field = REFUSALS[case]
    arguments = {"location_id": cash_days.oak.pk, "business_day": TUESDAY, "counted": 2650, "user": manager}
    arguments.update(changes)
    if arguments["business_day"] == "tomorrow":
        arguments["business_day"] = location_day(timezone.now(), cash_days.oak) + timedelta(days=1)
    if isinstance(arguments["user"], tuple):
        arguments["user"] = staff_user(*arguments["user"])

    with pytest.raises(error_class) as refused:
        record_drawer_count(**arguments)

    assert refused.value.as_errors() == [{"code": code, "detail": refused.value.detail, "field": field}]
    assert refused.value.detail
    assert CashDrawerCount.objects.count() == 0 and drawer_audits() == []


def test_today_may_be_counted(cash_days, manager):
    today = location_day(timezone.now(), cash_days.oak)
    count = record_drawer_count(location_id=cash_days.oak.pk, business_day=today, counted=0, user=manager)
    assert count.business_day == today


def test_a_float_is_the_stores_own_and_never_negative(cash_days, manager):
    bkn = LocationFactory(code="BKN")
    with pytest.raises(LocationNotPermitted):
        set_drawer_float(location_id=bkn.pk, amount=100, user=manager)
    with pytest.raises(NegativeAmount):
        set_drawer_float(location_id=cash_days.oak.pk, amount=-1, user=manager)
    assert CashDrawerFloat.objects.count() == 0

    set_drawer_float(location_id=cash_days.oak.pk, amount=15_000, user=manager)
    set_drawer_float(location_id=cash_days.oak.pk, amount=20_000, user=manager)

    assert CashDrawerFloat.objects.get().amount == 20_000
    assert [audit.data["previous"] for audit in drawer_audits()] == [0, 15_000]


def test_the_days_of_a_range_with_their_counts(cash_days, manager):
    record_drawer_count(location_id=cash_days.oak.pk, business_day=TUESDAY, counted=2600, user=manager)

    days = list_drawer_days(locations=[cash_days.oak], first=date(2026, 11, 23), last=WEDNESDAY)

    assert [(row.day, row.expected, row.count is not None, row.over_short) for row in days] == [
        (WEDNESDAY, 950, False, None), (TUESDAY, 2650, True, -50), (date(2026, 11, 23), 0, False, None)]


# ---------------------------------------------------------------- the journal


def oak_lines(first, last):
    lines = [line for line in journal_lines(first=first, last=last) if line.journal_id.endswith("-OAK")]
    return lines


def balances(lines) -> bool:
    by_journal = {}
    for line in lines:
        by_journal[line.journal_id] = by_journal.get(line.journal_id, 0) + line.amount
    return bool(by_journal) and set(by_journal.values()) == {0}


def test_the_journal_books_over_and_short_against_cash(cash_days, manager):
    record_drawer_count(location_id=cash_days.oak.pk, business_day=TUESDAY, counted=FLOAT + 2650 + 25,
                        opening_float=FLOAT, user=manager)
    record_drawer_count(location_id=cash_days.oak.pk, business_day=WEDNESDAY, counted=FLOAT + 950 - 40,
                        opening_float=FLOAT, user=manager)

    lines = oak_lines(TUESDAY, WEDNESDAY)

    drawer = {(line.source_id, line.account): line.amount for line in lines if "cash-" in line.key}
    assert drawer == {
        ("CJ-2026-11-24-OAK/cash-count", "Cash"): 25,
        ("CJ-2026-11-24-OAK/cash-over-short", "Cash over/short"): -25,
        ("CJ-2026-11-25-OAK/cash-count", "Cash"): -40,
        ("CJ-2026-11-25-OAK/cash-over-short", "Cash over/short"): 40,
    }
    assert balances(lines)
    # Cash moved by what the drawer gained beyond its float, whatever the tenders said.
    cash = {day: sum(line.amount for line in lines if line.account == "Cash" and line.day == day)
            for day in (TUESDAY, WEDNESDAY)}
    assert cash == {TUESDAY: 2675, WEDNESDAY: 910}
    memo = next(line.memo for line in lines if line.source_id == "CJ-2026-11-24-OAK/cash-count")
    assert memo == "Drawer counted 226.75, float 200.00, expected 26.50"


def test_a_recount_changes_the_amount_under_the_same_source_id(cash_days, manager):
    record_drawer_count(location_id=cash_days.oak.pk, business_day=TUESDAY, counted=2650 + 25, user=manager)
    before = {line.source_id: line.amount for line in oak_lines(TUESDAY, TUESDAY)}

    record_drawer_count(location_id=cash_days.oak.pk, business_day=TUESDAY, counted=2650 - 100, user=manager)
    after = {line.source_id: line.amount for line in oak_lines(TUESDAY, TUESDAY)}

    assert set(after) == set(before)
    assert (before["CJ-2026-11-24-OAK/cash-count"], after["CJ-2026-11-24-OAK/cash-count"]) == (25, -100)
    assert after["CJ-2026-11-24-OAK/cash-over-short"] == 100
    assert {key: amount for key, amount in after.items() if "cash-" not in key} == \
        {key: amount for key, amount in before.items() if "cash-" not in key}


def test_a_counted_day_without_sales_has_a_journal_and_an_even_count_books_zero(cash_days, manager):
    quiet = date(2026, 11, 20)
    record_drawer_count(location_id=cash_days.oak.pk, business_day=quiet, counted=FLOAT - 500,
                        opening_float=FLOAT, user=manager)
    record_drawer_count(location_id=cash_days.oak.pk, business_day=WEDNESDAY, counted=950, opening_float=0,
                        user=manager)

    lines = oak_lines(quiet, WEDNESDAY)

    assert [(line.key, line.amount) for line in lines if line.day == quiet] == [
        ("cash-count", -500), ("cash-over-short", 500)]
    # Even: the same ids at 0, so a recount to even updates what an importer holds.
    assert [(line.key, line.amount) for line in lines if line.day == WEDNESDAY and "cash-" in line.key] == [
        ("cash-count", 0), ("cash-over-short", 0)]
    assert balances(lines)


@pytest.mark.django_db(transaction=True)
def test_two_first_counts_at_once_become_a_count_and_a_recount(shop):
    manager = staff_user("store_manager", "OAK")

    run_concurrently(4, lambda i: record_drawer_count(location_id=shop.oak.pk, business_day=TUESDAY,
                                                      counted=1000 + i, user=manager).pk)

    count = CashDrawerCount.objects.get()
    assert count.recounts == 3
    assert sorted(audit.action for audit in drawer_audits()) == ["cash_drawer.counted"] + \
        ["cash_drawer.recounted"] * 3
    assert drawer_audits()[-1].data["counted"] == count.counted
