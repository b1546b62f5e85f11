"""Writes of the channel rollup (DailyChannelSales), off the order path.

`refresh_channel_rollup` (every minute, `refresh_channel_rollup_task`) recomputes the
business days changes touched since its watermark, plus each location's latest
RECENT_DAYS (a refund approved or a part settled changes no timestamp it could see).
Recomputing a day replaces its rows (one writer per location at a time), so running twice,
or two at once, is harmless."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import Min, Q
from django.utils import timezone

from apps.core.enums import ExceptionKind
from apps.core.models import ExceptionItem
from apps.inventory.models import Location
from apps.orders.models import Order
from apps.reports.business_day import business_day_sql, location_day
from apps.reports.channel_figures import FIGURES, location_figures
from apps.reports.locks import lock_rollup_of_location
from apps.reports.models import DailyChannelSales, RollupWatermark
from apps.returns.models import Refund

WATERMARK = "channel_sales"
# A change committed a little after its timestamp is still seen: each run re-reads this much.
OVERLAP = timedelta(minutes=5)
RECENT_DAYS = 14


def rebuild_channel_days(*, location: Location, first: date, last: date) -> int:
    """Recompute `location`'s rollup rows of days `first`..`last`; returns the rows written."""
    computed = location_figures(location, first, last)
    now = timezone.now()
    rows = [DailyChannelSales(day=day, location=location, channel=channel, currency=location.currency,
                              refreshed_at=now, **{name: getattr(cell, name) for name in FIGURES})
            for (day, channel), cell in sorted(computed.items())]
    with transaction.atomic():
        lock_rollup_of_location(location.pk)
        DailyChannelSales.objects.filter(location=location, day__gte=first, day__lte=last).delete()
        DailyChannelSales.objects.bulk_create(rows)
    return len(rows)


def rebuild_channel_rollup(*, first: date | None = None, last: date | None = None) -> int:
    """Recompute every location's days `first`..`last` (default: from the first order to today)."""
    written = 0
    for location in Location.objects.all():
        today = location_day(timezone.now(), location)
        start = first or _first_order_day(location) or today
        written += rebuild_channel_days(location=location, first=start, last=last or today)
    return written


def refresh_channel_rollup(*, now: datetime | None = None) -> int:
    """Recompute the days touched since the watermark (everything on the first run)."""
    now = now or timezone.now()
    mark = RollupWatermark.objects.filter(name=WATERMARK).first()
    if mark is None:
        written = rebuild_channel_rollup()
    else:
        written = 0
        since = mark.changes_since - OVERLAP
        for location in Location.objects.all():
            for first, last in _runs(_touched_days(location, since, now)):
                written += rebuild_channel_days(location=location, first=first, last=last)
    RollupWatermark.objects.update_or_create(name=WATERMARK, defaults={"changes_since": now})
    return written


def _first_order_day(location: Location) -> date | None:
    first = Order.objects.filter(location=location).aggregate(at=Min("placed_at"))["at"]
    return location_day(first, location) if first else None


def _touched_days(location: Location, since: datetime, now: datetime) -> set[date]:
    today = location_day(now, location)
    days = {today - timedelta(days=n) for n in range(RECENT_DAYS)}
    placed = business_day_sql('"orders_order"."placed_at"', location)
    # order_by(): the models' default ordering would make DISTINCT one row per order.
    days |= set(Order.objects.filter(location=location, updated_at__gte=since)
                .annotate(day=placed).values_list("day", flat=True).order_by().distinct())
    days |= set(Refund.objects.filter(Q(created_at__gte=since) | Q(updated_at__gte=since),
                                      order__location=location)
                .annotate(day=business_day_sql('"returns_refund"."created_at"', location))
                .values_list("day", flat=True).order_by().distinct())
    oversold = (ExceptionItem.objects.filter(kind=ExceptionKind.OVERSOLD, location_code=location.code,
                                             created_at__gte=since).values_list("data__order_id", flat=True))
    order_ids = [pk for pk in oversold if isinstance(pk, int)]
    if order_ids:
        days |= set(Order.objects.filter(pk__in=order_ids).annotate(day=placed)
                    .values_list("day", flat=True).order_by().distinct())
    return {day for day in days if day <= today}


def _runs(days: set[date]) -> list[tuple[date, date]]:
    """Consecutive days as (first, last) runs, so each run is one set of queries."""
    runs: list[list[date]] = []
    for day in sorted(days):
        if runs and day - runs[-1][1] == timedelta(days=1):
            runs[-1][1] = day
        else:
            runs.append([day, day])
    return [(first, last) for first, last in runs]
