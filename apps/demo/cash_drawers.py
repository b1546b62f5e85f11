"""The demo stores' cash drawers: a standard opening float and a count for each of the last
days not counted yet, so the cash drawers page and the journal's over/short have something
to show from the first start. Counted as the admin, since no store manager exists yet."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from apps.inventory.models import Location
from apps.reports.business_day import location_day
from apps.reports.drawer_selectors import counts_in, drawer_floats, expected_cash
from apps.reports.services import record_drawer_count, set_drawer_float

DEMO_FLOAT = 20_000
COUNTED_DAYS = 7
# How far a day's count comes out over (+) or short (-): a drawer is seldom exact.
VARIANCES = [0, 25, -50, 0, 100, -25, 0]


def count_past_drawers(*, user) -> int:
    """Set each store's float (once) and count its last COUNTED_DAYS business days not counted
    yet: the float plus the cash expected, give or take a variance. Returns the counts made."""
    locations = list(Location.objects.filter(is_active=True).order_by("code"))
    floats = drawer_floats(location_ids=[location.pk for location in locations])
    made = 0
    for location in locations:
        if location.pk not in floats:
            set_drawer_float(location_id=location.pk, amount=DEMO_FLOAT, user=user)
        made += _count_days(location, user, floats.get(location.pk, DEMO_FLOAT))
    return made


def _count_days(location: Location, user, opening_float: int) -> int:
    last = location_day(timezone.now(), location) - timedelta(days=1)
    first = last - timedelta(days=COUNTED_DAYS - 1)
    done = counts_in(location_ids=[location.pk], first=first, last=last)
    expected = expected_cash(location=location, first=first, last=last)
    made = 0
    for offset in range(COUNTED_DAYS):
        day = first + timedelta(days=offset)
        if (location.pk, day) in done:
            continue
        variance = VARIANCES[day.toordinal() % len(VARIANCES)]
        record_drawer_count(location_id=location.pk, business_day=day, opening_float=opening_float,
                            counted=max(0, opening_float + expected.get(day, 0) + variance),
                            note="demo count", user=user)
        made += 1
    return made
