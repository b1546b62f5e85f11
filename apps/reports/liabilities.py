"""Reads of the liabilities report: what Concord owes holders of gift cards, store credit
and loyalty points at the end of any day, and how it moved over a range of days.

A day here is the merchant's reporting day (settings.TIME_ZONE): stored value and points
belong to no one store. Balances are the ledgers' sums (each entry signed), so the balance
at a date is the sum of the entries written by its end.

Those sums come from the daily rollup (DailyLiabilityMovement) for the days before its
watermark (`apps.reports.liability_rollup`, every minute) and from the ledgers for the
entries written since, so a year answers from a few thousand rollup rows instead of every
entry since the first, and a balance is still the ledgers' sum to the entry."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, F, Sum, Value
from django.db.models.functions import TruncDate

from apps.customers.enums import LoyaltyEntryKind, StoredValueEntryKind, StoredValueKind
from apps.customers.models import LoyaltyEntry, LoyaltyProgram, StoredValueEntry
from apps.inventory.models import Location
from apps.reports.models import DailyLiabilityMovement, RollupWatermark

LOYALTY = "loyalty"
KIND_LABELS = {StoredValueKind.GIFT_CARD: "Gift cards", StoredValueKind.STORE_CREDIT: "Store credit",
               LOYALTY: "Loyalty points"}
STORED_VALUE_MOVEMENTS = [(kind.value, kind.label) for kind in StoredValueEntryKind]
LOYALTY_MOVEMENTS = [(kind.value, kind.label) for kind in LoyaltyEntryKind]
# The rollup's RollupWatermark: every entry written before `changes_since` is in the rollup.
ROLLUP_WATERMARK = "liabilities"


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


class Movement(NamedTuple):
    """The entries of one kind written to one liability (and currency) on one day."""

    day: date | None  # None: summed over the days asked for
    liability: str
    currency: str  # "" for loyalty
    kind: str
    total: int
    entries: int = 0


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(settings.TIME_ZONE))


def reporting_day(at: datetime) -> date:
    return at.astimezone(ZoneInfo(settings.TIME_ZONE)).date()


def liabilities(*, first: date, last: date) -> LiabilityReport:
    """Opening (end of the day before `first`) and closing (end of `last`) balances, the
    movements between by kind, and each day's closing balance for the chart."""
    start, end = day_start(first), day_start(last + timedelta(days=1))
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    rolled_up_to = rolled_up_until()
    opening = _balances_before(start, rolled_up_to)
    within = _movements_between(start, end, rolled_up_to)
    lines = [*_stored_value(opening, within, days), _loyalty(opening, within, days)]
    return LiabilityReport(first=first, last=last, days=days, lines=lines)


def rolled_up_until() -> datetime | None:
    """The rollup's watermark (a day's start): None before its first run."""
    return (RollupWatermark.objects.filter(name=ROLLUP_WATERMARK)
            .values_list("changes_since", flat=True).first())


def ledger_movements(*, since: datetime | None, until: datetime, by_day: bool = True) -> list[Movement]:
    """The stored value and loyalty entries written in [since, until) (since None: from the
    first), summed per liability, currency and kind, and per reporting day if `by_day`.
    The rollup stores exactly these rows, day by day."""
    zone = ZoneInfo(settings.TIME_ZONE)
    ledgers = ((StoredValueEntry, "amount", F("account__kind"), F("account__currency")),
               (LoyaltyEntry, "points", Value(LOYALTY), Value("")))
    movements = []
    for model, signed, liability, currency in ledgers:
        entries = model.objects.filter(created_at__lt=until)
        if since is not None:
            entries = entries.filter(created_at__gte=since)
        group = {"liability": liability, "currency": currency}
        if by_day:
            group["day"] = TruncDate("created_at", tzinfo=zone)
        rows = entries.values("kind", **group).annotate(total=Sum(signed), entries=Count("pk")).order_by()
        movements += [Movement(day=row.get("day"), liability=row["liability"], currency=row["currency"],
                               kind=row["kind"], total=row["total"], entries=row["entries"]) for row in rows]
    return movements


def _balances_before(start: datetime, rolled_up_to: datetime | None) -> dict[tuple[str, str], int]:
    """Each (liability, currency)'s balance at `start`: rolled-up days, then the ledgers."""
    balances: dict[tuple[str, str], int] = defaultdict(int)
    live_since = None
    if rolled_up_to is not None:
        rolled = (DailyLiabilityMovement.objects.filter(day__lt=reporting_day(min(start, rolled_up_to)))
                  .values_list("liability", "currency").annotate(total=Sum("total")).order_by())
        for liability, currency, total in rolled:
            balances[(liability, currency)] += total
        live_since = rolled_up_to
    if live_since is None or live_since < start:
        for movement in ledger_movements(since=live_since, until=start, by_day=False):
            balances[(movement.liability, movement.currency)] += movement.total
    return balances


def _movements_between(start: datetime, end: datetime, rolled_up_to: datetime | None) -> list[Movement]:
    """The movements of each day in [start, end): rolled-up days, then the ledgers."""
    split = start if rolled_up_to is None else min(max(start, rolled_up_to), end)
    movements = []
    if start < split:
        rolled = (DailyLiabilityMovement.objects
                  .filter(day__gte=reporting_day(start), day__lt=reporting_day(split))
                  .values_list("day", "liability", "currency", "kind", "total").order_by())
        movements += [Movement(*row) for row in rolled]
    if split < end:
        movements += ledger_movements(since=split, until=end)
    return movements


def _stored_value(opening: dict, within: list[Movement], days: list[date]) -> list[Liability]:
    keys = {key for key in opening if key[0] != LOYALTY}
    keys |= {(movement.liability, movement.currency) for movement in within if movement.liability != LOYALTY}
    for kind in (StoredValueKind.GIFT_CARD, StoredValueKind.STORE_CREDIT):
        if not any(key[0] == kind for key in keys):
            keys.add((kind, _default_currency()))
    ordered = sorted(keys, key=lambda key: (list(KIND_LABELS).index(key[0]), key[1]))
    return [_line(kind, currency, opening.get((kind, currency), 0),
                  [moved for moved in within if (moved.liability, moved.currency) == (kind, currency)],
                  STORED_VALUE_MOVEMENTS, days)
            for kind, currency in ordered]


def _loyalty(opening: dict, within: list[Movement], days: list[date]) -> Liability:
    program = LoyaltyProgram.objects.filter(is_active=True).first()
    line = _line(LOYALTY, _default_currency(), opening.get((LOYALTY, ""), 0),
                 [movement for movement in within if movement.liability == LOYALTY], LOYALTY_MOVEMENTS, days)
    line.points = True
    line.point_value = program.point_value if program else settings.LOYALTY_POINT_VALUE
    return line


def _line(kind: str, currency: str, opening: int, movements: list[Movement], kinds, days) -> Liability:
    by_kind: dict[str, int] = defaultdict(int)
    by_day: dict[date, int] = defaultdict(int)
    for movement in movements:
        by_kind[movement.kind] += movement.total
        by_day[movement.day] += movement.total
    moved = {value: by_kind.get(value, 0) for value, _ in kinds}
    return Liability(kind=kind, currency=currency, opening=opening, closing=opening + sum(moved.values()),
                     movements=moved, daily=_running(opening, by_day, days))


def _running(opening: int, by_day: dict[date, int], days: list[date]) -> list[int]:
    balances, balance = [], opening
    for day in days:
        balance += by_day.get(day, 0)
        balances.append(balance)
    return balances


def _default_currency() -> str:
    return Location.objects.order_by("pk").values_list("currency", flat=True).first() or "USD"
