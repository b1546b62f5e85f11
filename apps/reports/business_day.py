"""Business days: the day a sale belongs to in its location's books.

A location's business day runs from its `business_day_starts_at` hour (local wall clock,
in its IANA time zone) to the same hour the next day: 0 is midnight, a Toast restaurant's
closeout hour (say 4) puts a sale rung at 01:30 on the day before. Wall-clock arithmetic
makes a day 23 or 25 hours long across a DST change, as the store's own books count it.
The SQL twin (`business_day_sql`) gives the same day inside Postgres for grouping."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models.expressions import RawSQL


def business_day(at: datetime, *, zone: str, starts_at: int = 0) -> date:
    """The business day `at` (aware) belongs to at a location in `zone` whose day starts at
    `starts_at` o'clock."""
    local = at.astimezone(ZoneInfo(zone or "UTC")).replace(tzinfo=None)
    return (local - timedelta(hours=starts_at)).date()


def day_start(day: date, *, zone: str, starts_at: int = 0) -> datetime:
    """The instant (UTC) business day `day` begins. A start hour a DST change skips begins
    at the change itself (zoneinfo reads a wall time in the gap with the offset before it);
    a start hour that happens twice begins at its first occurrence."""
    local = datetime.combine(day, time(starts_at)).replace(tzinfo=ZoneInfo(zone or "UTC"))
    return local.astimezone(UTC)


def day_bounds(first: date, last: date, *, zone: str, starts_at: int = 0) -> tuple[datetime, datetime]:
    """[start, end) in UTC covering business days `first` to `last` inclusive."""
    return (day_start(first, zone=zone, starts_at=starts_at),
            day_start(last + timedelta(days=1), zone=zone, starts_at=starts_at))


def location_day(at: datetime, location) -> date:
    return business_day(at, zone=location.timezone, starts_at=location.business_day_starts_at)


def location_bounds(first: date, last: date, location) -> tuple[datetime, datetime]:
    return day_bounds(first, last, zone=location.timezone, starts_at=location.business_day_starts_at)


def business_day_sql(column: str, location) -> RawSQL:
    """`column` (a timestamptz, table-qualified) as the location's business day, in SQL:
    the local wall clock minus the start hour, as a date (the same wall arithmetic)."""
    return RawSQL(f"(({column} AT TIME ZONE %s) - make_interval(hours => %s))::date",
                  (location.timezone or "UTC", location.business_day_starts_at))
