"""The channel report's figures of one location's business days, computed from the orders,
refunds and oversold exceptions themselves. The rollup (apps.reports.rollup) stores them;
the report (apps.reports.selectors) reads them live for the latest days."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, fields
from datetime import date

from django.db.models import Count, Sum

from apps.core.enums import ExceptionKind
from apps.core.models import ExceptionItem
from apps.orders.enums import OrderStatus
from apps.orders.models import Order, OrderLine
from apps.reports.business_day import business_day_sql, location_bounds
from apps.returns.enums import RefundStatus
from apps.returns.models import Refund

# Refunds that give money back: made (pending parts still go out) or done. One waiting
# for approval, rejected or failed gives nothing back (yet).
MONEY_REFUNDS = (RefundStatus.PENDING, RefundStatus.COMPLETED)


@dataclass
class ChannelFigures:
    orders: int = 0
    units: int = 0
    gross_sales: int = 0
    discounts: int = 0
    tax: int = 0
    tips: int = 0
    refunds: int = 0
    refund_count: int = 0
    oversold_units: int = 0

    def add(self, other: ChannelFigures) -> None:
        for name in FIGURES:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def is_empty(self) -> bool:
        return not any(getattr(self, name) for name in FIGURES)


FIGURES = [f.name for f in fields(ChannelFigures)]

DayChannel = tuple[date, str]


def location_figures(location, first: date, last: date) -> dict[DayChannel, ChannelFigures]:
    """Figures per (business day, channel) of `location` for days `first`..`last`. A
    canceled order counts nowhere (nor do refunds of it: its cancel gave the money back)."""
    start, end = location_bounds(first, last, location)
    figures: dict[DayChannel, ChannelFigures] = defaultdict(ChannelFigures)
    orders = (Order.objects.filter(location=location, placed_at__gte=start, placed_at__lt=end)
              .exclude(status=OrderStatus.CANCELED)
              .annotate(day=business_day_sql('"orders_order"."placed_at"', location)))
    for row in orders.values("day", "channel").annotate(
            n=Count("id"), gross=Sum("total_amount"), discounts=Sum("discount_amount"),
            tax=Sum("tax_amount"), tips=Sum("tip_amount")).order_by():
        cell = figures[(row["day"], row["channel"])]
        cell.orders, cell.gross_sales, cell.discounts = row["n"], row["gross"], row["discounts"]
        cell.tax, cell.tips = row["tax"], row["tips"]
    lines = (OrderLine.objects.filter(order__location=location, order__placed_at__gte=start,
                                      order__placed_at__lt=end)
             .exclude(order__status=OrderStatus.CANCELED)
             .annotate(day=business_day_sql('"orders_order"."placed_at"', location)))
    for row in lines.values("day", "order__channel").annotate(units=Sum("quantity")).order_by():
        figures[(row["day"], row["order__channel"])].units = row["units"]
    _add_refunds(figures, location, start, end)
    _add_oversold(figures, location, start, end)
    return {key: cell for key, cell in figures.items() if not cell.is_empty}


def _add_refunds(figures, location, start, end) -> None:
    refunds = (Refund.objects.filter(order__location=location, created_at__gte=start, created_at__lt=end,
                                     status__in=MONEY_REFUNDS)
               .exclude(order__status=OrderStatus.CANCELED)
               .annotate(day=business_day_sql('"returns_refund"."created_at"', location)))
    by_day = refunds.values("day", "order__channel").annotate(total=Sum("amount"), n=Count("id"))
    for row in by_day.order_by():
        cell = figures[(row["day"], row["order__channel"])]
        cell.refunds, cell.refund_count = row["total"], row["n"]


def _add_oversold(figures, location, start, end) -> None:
    """Oversold units (the `oversold` exceptions' units) on the day and channel of their
    order. An exception is opened when its order is recorded, never before it was placed."""
    units_by_order: dict[int, int] = defaultdict(int)
    for order_id, units in (ExceptionItem.objects.filter(
            kind=ExceptionKind.OVERSOLD, location_code=location.code, created_at__gte=start)
            .values_list("data__order_id", "units")):
        if isinstance(order_id, int):
            units_by_order[order_id] += units
    if not units_by_order:
        return
    orders = (Order.objects.filter(pk__in=units_by_order, location=location, placed_at__gte=start,
                                   placed_at__lt=end)
              .exclude(status=OrderStatus.CANCELED)
              .annotate(day=business_day_sql('"orders_order"."placed_at"', location)))
    for pk, day, channel in orders.values_list("pk", "day", "channel"):
        figures[(day, channel)].oversold_units += units_by_order[pk]
