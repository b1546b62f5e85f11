"""Reads of the liabilities report: what Concord owes holders of gift cards, store credit
and loyalty points at the end of any day, and how it moved over a range of days.

A day here is the merchant's reporting day (settings.TIME_ZONE): stored value and points
belong to no one store. Balances are the ledgers' sums (each entry signed), so the balance
at a date is the sum of the entries written by its end."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Sum
from django.db.models.functions import TruncDate

from apps.customers.enums import LoyaltyEntryKind, StoredValueEntryKind, StoredValueKind
from apps.customers.models import LoyaltyEntry, LoyaltyProgram, StoredValueEntry
from apps.inventory.models import Location

LOYALTY = "loyalty"
KIND_LABELS = {StoredValueKind.GIFT_CARD: "Gift cards", StoredValueKind.STORE_CREDIT: "Store credit",
               LOYALTY: "Loyalty points"}
STORED_VALUE_MOVEMENTS = [(kind.value, kind.label) for kind in StoredValueEntryKind]
LOYALTY_MOVEMENTS = [(kind.value, kind.label) for kind in LoyaltyEntryKind]


@dataclass
class Liability:
    kind: str
    currency: str
    opening: int
    closing: int
    movements: dict[str, int]
    points: bool = False  # loyalty: balances in points, `value` in money
    point_value: int = 0
    daily: list[int] = field(default_factory=list)  # the closing balance of each day

    @property
    def label(self) -> str:
        return KIND_LABELS[self.kind]

    def value(self, points: int) -> int:
        return points * self.point_value if self.points else points

    @property
    def closing_value(self) -> int:
        return self.value(self.closing)


@dataclass
class LiabilityReport:
    first: date
    last: date
    days: list[date]
    lines: list[Liability]

    @property
    def total_closing_value(self) -> dict[str, int]:
        totals: dict[str, int] = defaultdict(int)
        for line in self.lines:
            totals[line.currency] += line.closing_value
        return dict(totals)


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(settings.TIME_ZONE))


def liabilities(*, first: date, last: date) -> LiabilityReport:
    """Opening (end of the day before `first`) and closing (end of `last`) balances, the
    movements between by kind, and each day's closing balance for the chart."""
    start, end = day_start(first), day_start(last + timedelta(days=1))
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    lines = [*_stored_value(start, end, days), _loyalty(start, end, days)]
    return LiabilityReport(first=first, last=last, days=days, lines=lines)


def _stored_value(start, end, days) -> list[Liability]:
    opening = {(row["account__kind"], row["account__currency"]): row["total"] for row in
               StoredValueEntry.objects.filter(created_at__lt=start)
               .values("account__kind", "account__currency").annotate(total=Sum("amount")).order_by()}
    within = StoredValueEntry.objects.filter(created_at__gte=start, created_at__lt=end)
    moved = defaultdict(dict)
    by_kind = within.values("account__kind", "account__currency", "kind").annotate(total=Sum("amount"))
    for row in by_kind.order_by():
        moved[(row["account__kind"], row["account__currency"])][row["kind"]] = row["total"]
    by_day = defaultdict(dict)
    for row in (within.annotate(day=TruncDate("created_at", tzinfo=ZoneInfo(settings.TIME_ZONE)))
                .values("account__kind", "account__currency", "day")
                .annotate(total=Sum("amount")).order_by()):
        by_day[(row["account__kind"], row["account__currency"])][row["day"]] = row["total"]
    keys = set(opening) | set(moved)
    for kind in (StoredValueKind.GIFT_CARD, StoredValueKind.STORE_CREDIT):
        if not any(key[0] == kind for key in keys):
            keys.add((kind, _default_currency()))
    lines = []
    for kind, currency in sorted(keys, key=lambda key: (list(KIND_LABELS).index(key[0]), key[1])):
        begin = opening.get((kind, currency), 0)
        movements = {value: moved[(kind, currency)].get(value, 0) for value, _ in STORED_VALUE_MOVEMENTS}
        lines.append(Liability(kind=kind, currency=currency, opening=begin,
                               closing=begin + sum(movements.values()),
                               movements=movements, daily=_running(begin, by_day[(kind, currency)], days)))
    return lines


def _loyalty(start, end, days) -> Liability:
    begin = LoyaltyEntry.objects.filter(created_at__lt=start).aggregate(total=Sum("points"))["total"] or 0
    within = LoyaltyEntry.objects.filter(created_at__gte=start, created_at__lt=end)
    moved = dict(within.values("kind").annotate(total=Sum("points")).order_by().values_list("kind", "total"))
    by_day = dict(within.annotate(day=TruncDate("created_at", tzinfo=ZoneInfo(settings.TIME_ZONE)))
                  .values("day").annotate(total=Sum("points")).order_by().values_list("day", "total"))
    movements = {value: moved.get(value, 0) for value, _ in LOYALTY_MOVEMENTS}
    program = LoyaltyProgram.objects.filter(is_active=True).first()
    return Liability(kind=LOYALTY, currency=_default_currency(), opening=begin,
                     closing=begin + sum(movements.values()), movements=movements, points=True,
                     point_value=program.point_value if program else settings.LOYALTY_POINT_VALUE,
                     daily=_running(begin, by_day, days))


def _running(opening: int, by_day: dict[date, int], days: list[date]) -> list[int]:
    balances, balance = [], opening
    for day in days:
        balance += by_day.get(day, 0)
        balances.append(balance)
    return balances


def _default_currency() -> str:
    return Location.objects.order_by("pk").values_list("currency", flat=True).first() or "USD"
