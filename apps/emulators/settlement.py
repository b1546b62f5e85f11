"""Money movements and their settlement into payouts or deposits, for every emulator.

A platform records a `Movement` for each thing that moves the merchant's money (a card
charge with its fee, a refund, a dispute, a fee adjustment) and hands it to its `Book`.
`Book.settle(through)` groups the movements whose settlement window ended before
`through` into one `Batch` per location and window, on the platform's `Schedule`: Square's
5 PM Pacific cut-off, Shopify's UTC day paid on weekdays, Toast's business date captured at
closeout, Clover's batch closeout. A window settles once; a movement recorded later for a
window already settled (a backdated sale, a refund after its sale's payout) goes into the
next open window, as processors put late items into a later payout. Each platform renders
batches and movements in its own shapes (payout entries, balance transactions, deposit rows).

Invariants (PLATFORM_MONEY §8): a movement's `net = gross - fee`; a batch's `amount` is the
sum of its movements' nets. Stdlib only, like the rest of the kit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .messages import ControlError


def card_fee(amount: int, *, bps: int, fixed: int) -> int:
    """A processor's fee on `amount` cents: `bps` basis points (rounded half up) plus
    `fixed` cents; nothing on nothing."""
    if amount <= 0:
        return 0
    return (amount * bps + 5_000) // 10_000 + fixed


def returned_fee(fee: int, paid: int, refunded: int) -> int:
    """The part of a payment's fee a refund of `refunded` out of `paid` gives back (pro rata,
    rounded half up)."""
    if paid <= 0 or fee <= 0:
        return 0
    return (fee * refunded * 2 + paid) // (paid * 2)


def parse_instant(value: object, name: str) -> datetime:
    """An ISO 8601 date-time with an offset (`Z` allowed), as UTC; ControlError if not one."""
    if not isinstance(value, str) or not value.strip():
        raise ControlError(f"{name} must be an ISO 8601 date-time with an offset")
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ControlError(f"{name} must be an ISO 8601 date-time with an offset") from None
    if moment.tzinfo is None:
        raise ControlError(f"{name} needs an offset (e.g. Z)")
    return moment.astimezone(UTC)


def optional_instant(body: dict, name: str = "created_at") -> datetime | None:
    """The control body's optional `created_at` (a backdated sale or refund), else None."""
    return None if body.get(name) in (None, "") else parse_instant(body[name], name)


def parse_day(value: object, name: str) -> date:
    text = str(value or "").strip()
    try:
        return date.fromisoformat(text) if "-" in text else datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        raise ControlError(f"{name} must be a date (YYYY-MM-DD or YYYYMMDD)") from None


def next_weekday(day: date) -> date:
    """The first Monday-to-Friday day after `day` (bank holidays are not modelled)."""
    day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def local_cutoff(day: date, hour: int, minute: int, zone: str) -> datetime:
    """`hour:minute` on `day` in `zone`, as UTC (DST-aware: 5 PM Pacific is 00:00 or 01:00 UTC)."""
    return datetime.combine(day, time(hour, minute), ZoneInfo(zone)).astimezone(UTC)


@dataclass
class Window:
    """One settlement window of one location: movements at `start <= at < end` settle
    together into the batch `key`, paid on `paid_on`."""

    key: date  # the sales day the window stands for (Toast's business date, Square's batch day)
    start: datetime
    end: datetime
    paid_on: date


@dataclass
class Schedule:
    """A platform's settlement rules: `window(location, moment)` is the window a movement at
    `moment` falls in; `following(location, window)` the next one."""

    window: Callable[[str, datetime], Window]

    def following(self, location: str, window: Window) -> Window:
        return self.window(location, window.end)


def daily_cutoff_schedule(zone_of: Callable[[str], str], hour: int | Callable[[str], int],
                          minute: int = 0,
                          pay_date: Callable[[datetime, str], date] | None = None) -> Schedule:
    """Windows from one local cut-off to the next (Square: 5 PM Pacific; Toast: each
    restaurant's closeout hour in its zone; `hour` may be a function of the location). The
    window is named by the local date it ends on, and paid `pay_date(end, location)`
    (default: the next weekday after the window's last day)."""
    hour_of = hour if callable(hour) else (lambda _location: hour)

    def window(location: str, moment: datetime) -> Window:
        zone, hour = zone_of(location), hour_of(location)
        local_day = moment.astimezone(ZoneInfo(zone)).date()
        end = local_cutoff(local_day, hour, minute, zone)
        if moment >= end:
            local_day += timedelta(days=1)
            end = local_cutoff(local_day, hour, minute, zone)
        start = local_cutoff(local_day - timedelta(days=1), hour, minute, zone)
        # Paid the weekday after the window's last day (a midnight cut-off's window is the
        # day before the one it ends on).
        last_day = (end - timedelta(microseconds=1)).astimezone(ZoneInfo(zone)).date()
        paid_on = pay_date(end, location) if pay_date else next_weekday(last_day)
        return Window(key=local_day, start=start, end=end, paid_on=paid_on)

    return Schedule(window=window)


def weekday_payout_schedule() -> Schedule:
    """Shopify's daily schedule: a UTC day's transactions are paid the next weekday, so a
    Monday payout holds Friday, Saturday and Sunday (no payouts on weekends). The window
    is named by its payout date and settles at 00:00 UTC that day."""

    def window(location: str, moment: datetime) -> Window:
        paid_on = next_weekday(moment.astimezone(UTC).date())
        first = paid_on - timedelta(days=1)
        while next_weekday(first - timedelta(days=1)) == paid_on:
            first -= timedelta(days=1)
        start = datetime.combine(first, time(0), UTC)
        return Window(key=paid_on, start=start, end=datetime.combine(paid_on, time(0), UTC),
                      paid_on=paid_on)

    return Schedule(window=window)


@dataclass
class Movement:
    """One line of money: positive gross is money in (a charge), negative out (a refund, a
    dispute). `fee` is what the processor keeps (negative when it gives a fee back)."""

    id: str
    location: str
    kind: str  # the platform's own word: CHARGE, REFUND, DISPUTE, FEE, charge, refund, ...
    at: datetime
    gross: int
    fee: int
    refs: dict = field(default_factory=dict)  # payment_id, refund_id, order_id, ...
    batch_id: str | None = None

    @property
    def net(self) -> int:
        return self.gross - self.fee


@dataclass
class Batch:
    """A payout (Square, Shopify) or deposit (Toast, Clover) of one location's window."""

    id: str
    location: str
    window: Window
    movements: list[Movement]
    status: str = ""
    data: dict = field(default_factory=dict)  # the platform's extra fields

    @property
    def amount(self) -> int:
        return sum(m.net for m in self.movements)

    def total(self, kind: str | None = None, *, part: str = "gross") -> int:
        return sum(getattr(m, part) for m in self.movements if kind is None or m.kind == kind)


class Book:
    """The movements of one emulator and the batches they settled into."""

    def __init__(self, schedule: Schedule, new_id: Callable[[], str]):
        self.schedule = schedule
        self.new_id = new_id
        self.movements: list[Movement] = []
        self.by_id: dict[str, Movement] = {}
        self.batches: list[Batch] = []
        self.settled: set[tuple[str, date]] = set()

    def record(self, movement: Movement) -> Movement:
        self.movements.append(movement)
        self.by_id[movement.id] = movement
        return movement

    def window_of(self, movement: Movement) -> Window:
        """The movement's window, or the first later one not settled yet."""
        window = self.schedule.window(movement.location, movement.at)
        while (movement.location, window.key) in self.settled:
            window = self.schedule.following(movement.location, window)
        return window

    def settle(self, through: datetime, *, keep_empty: bool = False) -> list[Batch]:
        """Every window that ended at or before `through` becomes a batch (one per location
        and window, oldest first); windows without movements make no batch unless
        `keep_empty`. Idempotent: a window settles once."""
        due: dict[tuple[str, date], tuple[Window, list[Movement]]] = {}
        for movement in self.movements:
            if movement.batch_id is not None:
                continue
            window = self.window_of(movement)
            if window.end <= through:
                due.setdefault((movement.location, window.key), (window, []))[1].append(movement)
        created = []
        for (location, key), (window, movements) in sorted(due.items(), key=lambda i: (i[1][0].end, i[0][0])):
            if not movements and not keep_empty:
                continue
            batch = Batch(id=self.new_id(), location=location, window=window,
                          movements=sorted(movements, key=lambda m: (m.at, m.id)))
            for movement in movements:
                movement.batch_id = batch.id
            self.settled.add((location, key))
            self.batches.append(batch)
            created.append(batch)
        return created

    def pending(self) -> list[Movement]:
        return [m for m in self.movements if m.batch_id is None]
