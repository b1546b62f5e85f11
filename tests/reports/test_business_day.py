"""Business days across DST changes and midnight UTC in three time zones, in Python and SQL."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection

from apps.reports.business_day import business_day, business_day_sql, day_bounds, day_start

NY, BERLIN, SYDNEY = "America/New_York", "Europe/Berlin", "Australia/Sydney"


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(("at", "zone", "starts_at", "expected"), [
    # Midnight UTC is still the evening before in New York, already morning in Sydney.
    (utc(2026, 11, 25, 0, 30), NY, 0, date(2026, 11, 24)),
    (utc(2026, 11, 25, 0, 30), BERLIN, 0, date(2026, 11, 25)),
    (utc(2026, 11, 24, 23, 30), SYDNEY, 0, date(2026, 11, 25)),
    # A Toast restaurant closing out at 04:00: 01:30 local is the day before, 04:00 the day itself.
    (utc(2026, 11, 25, 6, 30), NY, 4, date(2026, 11, 24)),  # 01:30 EST
    (utc(2026, 11, 25, 9, 0), NY, 4, date(2026, 11, 25)),  # 04:00 EST
    (utc(2026, 11, 25, 8, 59), NY, 4, date(2026, 11, 24)),  # 03:59 EST
    # New York springs forward on 2026-03-08 (02:00 EST -> 03:00 EDT).
    (utc(2026, 3, 8, 4, 59), NY, 0, date(2026, 3, 7)),  # 23:59 EST
    (utc(2026, 3, 8, 5, 0), NY, 0, date(2026, 3, 8)),  # 00:00 EST
    (utc(2026, 3, 9, 3, 59), NY, 0, date(2026, 3, 8)),  # 23:59 EDT: the short day's last minute
    (utc(2026, 3, 9, 4, 0), NY, 0, date(2026, 3, 9)),
    (utc(2026, 3, 9, 7, 59), NY, 4, date(2026, 3, 8)),  # 03:59 EDT, closeout at 4
    (utc(2026, 3, 9, 8, 0), NY, 4, date(2026, 3, 9)),
    # New York falls back on 2026-11-01 (02:00 EDT -> 01:00 EST): 01:30 happens twice, same day.
    (utc(2026, 11, 1, 5, 30), NY, 0, date(2026, 11, 1)),  # 01:30 EDT
    (utc(2026, 11, 1, 6, 30), NY, 0, date(2026, 11, 1)),  # 01:30 EST
    (utc(2026, 11, 1, 6, 30), NY, 4, date(2026, 10, 31)),  # before the 04:00 closeout
    # Berlin springs forward on 2026-03-29 and falls back on 2026-10-25.
    (utc(2026, 3, 28, 22, 59), BERLIN, 0, date(2026, 3, 28)),  # 23:59 CET
    (utc(2026, 3, 28, 23, 0), BERLIN, 0, date(2026, 3, 29)),
    (utc(2026, 10, 25, 22, 59), BERLIN, 0, date(2026, 10, 25)),  # 23:59 CET, a 25-hour day
    (utc(2026, 10, 24, 22, 0), BERLIN, 0, date(2026, 10, 25)),  # 00:00 CEST
    # Sydney (southern hemisphere) springs forward on 2026-10-04 and falls back on 2026-04-05.
    (utc(2026, 10, 3, 13, 59), SYDNEY, 0, date(2026, 10, 3)),  # 23:59 AEST
    (utc(2026, 10, 3, 14, 0), SYDNEY, 0, date(2026, 10, 4)),
    (utc(2026, 4, 4, 12, 59), SYDNEY, 0, date(2026, 4, 4)),  # 23:59 AEDT
    (utc(2026, 4, 5, 13, 59), SYDNEY, 0, date(2026, 4, 5)),  # 23:59 AEST
])
def test_business_day_of_an_instant(at, zone, starts_at, expected):
    assert business_day(at, zone=zone, starts_at=starts_at) == expected


@pytest.mark.parametrize(("day", "zone", "hours"), [
    (date(2026, 3, 8), NY, 23), (date(2026, 11, 1), NY, 25), (date(2026, 11, 2), NY, 24),
    (date(2026, 3, 29), BERLIN, 23), (date(2026, 10, 25), BERLIN, 25),
    (date(2026, 10, 4), SYDNEY, 23), (date(2026, 4, 5), SYDNEY, 25),
])
def test_a_business_day_lasts_what_the_wall_clock_says(day, zone, hours):
    start, end = day_bounds(day, day, zone=zone, starts_at=0)
    assert end - start == timedelta(hours=hours)


def test_a_start_hour_the_clock_skips_begins_at_the_change():
    # 02:00 does not exist in New York on 2026-03-08: the day starts at 03:00 EDT (07:00 UTC).
    assert day_start(date(2026, 3, 8), zone=NY, starts_at=2) == utc(2026, 3, 8, 7, 0)
    assert business_day(utc(2026, 3, 8, 6, 59), zone=NY, starts_at=2) == date(2026, 3, 7)
    assert business_day(utc(2026, 3, 8, 7, 0), zone=NY, starts_at=2) == date(2026, 3, 8)


@pytest.mark.parametrize("zone", [NY, BERLIN, SYDNEY])
@pytest.mark.parametrize("starts_at", [0, 4])
def test_every_instant_lies_within_the_bounds_of_its_day(zone, starts_at):
    at = utc(2026, 2, 25, 0, 0)
    while at < utc(2026, 12, 1):
        day = business_day(at, zone=zone, starts_at=starts_at)
        start, end = day_bounds(day, day, zone=zone, starts_at=starts_at)
        assert start <= at < end
        at += timedelta(minutes=97)


@pytest.mark.django_db
@pytest.mark.parametrize("zone", [NY, BERLIN, SYDNEY])
@pytest.mark.parametrize("starts_at", [0, 4])
def test_postgres_agrees_with_python(zone, starts_at):
    location = type("Location", (), {"timezone": zone, "business_day_starts_at": starts_at})
    instants = [utc(2026, 3, 7, 20) + timedelta(minutes=29 * i) for i in range(200)]
    instants += [utc(2026, 10, 24, 10) + timedelta(minutes=31 * i) for i in range(400)]
    expression = business_day_sql("at_", location)
    sql, params = expression.sql, expression.params
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT at_, {sql} FROM unnest(%s::timestamptz[]) AS at_", (*params, instants))
        from_sql = {at.astimezone(UTC): day for at, day in cursor.fetchall()}
    assert from_sql == {at: business_day(at, zone=zone, starts_at=starts_at) for at in instants}
