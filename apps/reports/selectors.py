"""Reads of the finance reports: the channel report and the liabilities.

The channel report reads the rollup (DailyChannelSales) for every business day before a
location's latest LIVE_DAYS and computes those live, so today's figures are current and a
year answers from ~3,000 rollup rows. Money is integer minor units throughout."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Sum
from django.utils import timezone

from apps.inventory.models import Location
from apps.reports.business_day import location_day
from apps.reports.channel_figures import FIGURES, ChannelFigures, location_figures
from apps.reports.models import DailyChannelSales

LIVE_DAYS = 1

# The figures of a row or a total, in DESIGN.md's order (the API, the files, the page).
COLUMNS = ["orders", "units", "gross_sales", "discounts", "tax", "tips", "refunds", "net_sales",
           "average_ticket", "oversold_units"]
MONEY_COLUMNS = {"gross_sales", "discounts", "tax", "tips", "refunds", "net_sales", "average_ticket"}


@dataclass(frozen=True)
class StoreDay:
    location: Location
    day: date


def list_store_days_now(location_ids=None) -> list[StoreDay]:
    """Each store's current business day, by code: a store whose day starts at 4 (a Toast
    closeout) is still on yesterday at 01:30, and every US store is on yesterday while the
    UTC date has moved on, so "today" in the reports is each store's own."""
    now = timezone.now()
    return [StoreDay(location, location_day(now, location)) for location in report_locations(location_ids)]


def divide_rounded(numerator: int, denominator: int) -> int:
    """numerator / denominator to the nearest integer, halves away from zero (0 for 0/0)."""
    if not denominator:
        return 0
    return int((Decimal(numerator) / Decimal(denominator)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def rate(part: int, whole: int) -> Decimal:
    """part / whole as a percentage with two decimals (0.00 when there is no whole)."""
    if not whole:
        return Decimal("0.00")
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def figures_document(cell: ChannelFigures) -> dict:
    return {"orders": cell.orders, "units": cell.units, "gross_sales": cell.gross_sales,
            "discounts": cell.discounts, "tax": cell.tax, "tips": cell.tips, "refunds": cell.refunds,
            "net_sales": cell.gross_sales - cell.refunds,
            "average_ticket": divide_rounded(cell.gross_sales, cell.orders),
            "oversold_units": cell.oversold_units}


@dataclass
class ReportRow:
    day: date
    location: Location
    channel: str
    figures: ChannelFigures

    @property
    def document(self) -> dict:
        return {"day": self.day.isoformat(), "location": self.location.code, "channel": self.channel,
                **figures_document(self.figures)}

    @property
    def refund_rate(self) -> Decimal:
        return rate(self.figures.refunds, self.figures.gross_sales)

    @property
    def oversell_rate(self) -> Decimal:
        return rate(self.figures.oversold_units, self.figures.units)


@dataclass
class ChannelReport:
    first: date
    last: date
    rows: list[ReportRow]
    totals: ChannelFigures
    previous_first: date
    previous_last: date
    previous: ChannelFigures
    currencies: list[str] = field(default_factory=list)

    @property
    def totals_document(self) -> dict:
        return {**figures_document(self.totals),
                "refund_rate": str(rate(self.totals.refunds, self.totals.gross_sales)),
                "oversell_rate": str(rate(self.totals.oversold_units, self.totals.units)),
                "previous_period": {"from": self.previous_first.isoformat(),
                                    "to": self.previous_last.isoformat(),
                                    **figures_document(self.previous)}}

    @property
    def document(self) -> dict:
        return {"rows": [row.document for row in self.rows], "totals": self.totals_document}

    def change(self, column: str) -> Decimal | None:
        """This period against the previous one, in percent (None when that was 0)."""
        now, before = figures_document(self.totals)[column], figures_document(self.previous)[column]
        return rate(now - before, before) if before else None


def report_locations(location_ids: set[int] | None = None) -> list[Location]:
    locations = Location.objects.order_by("code")
    if location_ids is not None:
        locations = locations.filter(pk__in=location_ids)
    return list(locations)


def channel_report(*, first: date, last: date, location_ids: set[int] | None = None) -> ChannelReport:
    """Per business day, location and channel, business days `first`..`last` (each
    location's own), with totals and the totals of the period of the same length before."""
    locations = report_locations(location_ids)
    rows = channel_rows(first=first, last=last, locations=locations)
    length = (last - first).days + 1
    previous_last = first - timedelta(days=1)
    previous_first = previous_last - timedelta(days=length - 1)
    previous = previous_totals(first=previous_first, last=previous_last, locations=locations)
    totals = ChannelFigures()
    for row in rows:
        totals.add(row.figures)
    return ChannelReport(first=first, last=last, rows=rows, totals=totals, previous_first=previous_first,
                         previous_last=previous_last, previous=previous,
                         currencies=sorted({location.currency for location in locations}))


def channel_rows(*, first: date, last: date, locations: list[Location]) -> list[ReportRow]:
    rows: list[ReportRow] = []
    now = timezone.now()
    for location in locations:
        live_from = max(first, location_day(now, location) - timedelta(days=LIVE_DAYS - 1))
        rolled_up_last = min(last, live_from - timedelta(days=1))
        if first <= rolled_up_last:
            rows.extend(_rolled_up(location, first, rolled_up_last))
        if live_from <= last:
            rows.extend(ReportRow(day=day, location=location, channel=channel, figures=cell)
                        for (day, channel), cell in location_figures(location, live_from, last).items())
    rows.sort(key=lambda row: (row.day, row.location.code, row.channel))
    return rows


def previous_totals(*, first: date, last: date, locations: list[Location]) -> ChannelFigures:
    """The totals of a past period: one SUM over the rollup when no day of it is live."""
    now = timezone.now()
    if any(last >= location_day(now, location) - timedelta(days=LIVE_DAYS - 1) for location in locations):
        totals = ChannelFigures()
        for row in channel_rows(first=first, last=last, locations=locations):
            totals.add(row.figures)
        return totals
    sums = (DailyChannelSales.objects.filter(location__in=locations, day__gte=first, day__lte=last)
            .aggregate(**{name: Sum(name) for name in FIGURES}))
    return ChannelFigures(**{name: sums[name] or 0 for name in FIGURES})


def _rolled_up(location: Location, first: date, last: date) -> list[ReportRow]:
    stored = (DailyChannelSales.objects.filter(location=location, day__gte=first, day__lte=last)
              .values_list("day", "channel", *FIGURES))
    return [ReportRow(day=day, location=location, channel=channel,
                      figures=ChannelFigures(**dict(zip(FIGURES, values, strict=True))))
            for day, channel, *values in stored]
