"""Reads of the cash drawers: the cash a drawer should hold at the end of a business day,
and per location and day what was expected, counted and over or short.

Expected cash = the cash tenders taken (with their tips) less the cash given back in
refunds, at that location on that business day: exactly what the journal debits and
credits to Cash, so a count's over/short brings Cash to what the drawer held beyond its
float. Over/short = counted - opening float - expected (positive: over)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import F, Sum
from django.utils import timezone

from apps.inventory.models import Location
from apps.orders.enums import TenderType
from apps.reports.business_day import location_bounds, location_day
from apps.reports.files import Table, major_units
from apps.reports.models import CashDrawerCount, CashDrawerFloat
from apps.reports.tender_movements import refund_parts_given, tenders_taken


@dataclass(frozen=True)
class DrawerDay:
    location: Location
    day: date
    expected: int
    count: CashDrawerCount | None

    @property
    def over_short(self) -> int | None:
        return None if self.count is None else over_short(self.count, self.expected)


def over_short(count: CashDrawerCount, expected: int) -> int:
    return count.counted - count.opening_float - expected


def expected_cash(*, location: Location, first: date, last: date) -> dict[date, int]:
    """The cash each business day of `first`..`last` should have added to the drawer (days
    without cash moving are absent)."""
    start, end = location_bounds(first, last, location)
    expected: dict[date, int] = {}
    taken = (tenders_taken(location, start, end).filter(tender_type=TenderType.CASH)
             .values("day").annotate(total=Sum(F("amount") + F("tip_amount"))).order_by())
    given = (refund_parts_given(location, start, end).filter(payment__tender_type=TenderType.CASH)
             .values("day").annotate(total=Sum("amount")).order_by())
    for row in taken:
        expected[row["day"]] = expected.get(row["day"], 0) + row["total"]
    for row in given:
        expected[row["day"]] = expected.get(row["day"], 0) - row["total"]
    return expected


def drawer_float_of(location_id: int) -> int:
    """The opening float a count of this location defaults to (0 unless one is set)."""
    return (CashDrawerFloat.objects.filter(location_id=location_id).values_list("amount", flat=True).first()
            or 0)


def drawer_floats(*, location_ids: list[int]) -> dict[int, int]:
    """The standard opening float of each of these locations that has one set."""
    floats = CashDrawerFloat.objects.filter(location_id__in=location_ids)
    return dict(floats.values_list("location_id", "amount"))


def counts_in(*, location_ids: list[int], first: date, last: date) -> dict[tuple[int, date], CashDrawerCount]:
    counts = (CashDrawerCount.objects.filter(location_id__in=location_ids, business_day__range=(first, last))
              .select_related("counted_by"))
    return {(count.location_id, count.business_day): count for count in counts}


def list_drawer_days(*, locations: list[Location], first: date, last: date) -> list[DrawerDay]:
    """Every business day of the range up to each location's today, newest first, then by
    location code: counted or not, with the cash expected."""
    now = timezone.now()
    counts = counts_in(location_ids=[location.pk for location in locations], first=first, last=last)
    days: list[DrawerDay] = []
    for location in sorted(locations, key=lambda location: location.code):
        until = min(last, location_day(now, location))
        if until < first:
            continue
        expected = expected_cash(location=location, first=first, last=until)
        day = until
        while day >= first:
            days.append(DrawerDay(location, day, expected.get(day, 0), counts.get((location.pk, day))))
            day -= timedelta(days=1)
    days.sort(key=lambda row: (-row.day.toordinal(), row.location.code))
    return days


def drawer_totals(days: list[DrawerDay]) -> dict[str, dict[str, int]]:
    """Per currency: the cash expected on the counted days, counted, floats and over/short."""
    totals: dict[str, dict[str, int]] = {}
    for row in days:
        if row.count is None:
            continue
        sums = totals.setdefault(row.location.currency, dict.fromkeys(
            ("expected", "counted", "opening_float", "over_short", "days"), 0))
        sums["expected"] += row.expected
        sums["counted"] += row.count.counted
        sums["opening_float"] += row.count.opening_float
        sums["over_short"] += row.over_short
        sums["days"] += 1
    return totals


def drawers_table(days: list[DrawerDay]) -> Table:
    """The page's rows as a file (money in major units), then a total per currency."""
    header = ["day", "location", "currency", "expected", "counted", "opening_float", "over_short",
              "counted_by", "counted_at", "note"]

    def rows():
        for row in days:
            currency, count = row.location.currency, row.count
            counted = [major_units(count.counted, currency), major_units(count.opening_float, currency),
                       major_units(row.over_short, currency),
                       count.counted_by.get_username() if count.counted_by else "",
                       count.counted_at.isoformat(), count.note] if count else ["", "", "", "", "", ""]
            yield [row.day.isoformat(), row.location.code, currency, major_units(row.expected, currency),
                   *counted]
        for currency, sums in sorted(drawer_totals(days).items()):
            money = [major_units(sums[name], currency)
                     for name in ("expected", "counted", "opening_float", "over_short")]
            yield ["TOTAL", f"{sums['days']} counted", currency, *money, "", "", ""]

    return Table(title="Cash drawers", header=header, rows=rows(), size=len(days))
