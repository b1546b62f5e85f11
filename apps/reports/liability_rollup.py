"""Writes of the liabilities rollup (DailyLiabilityMovement), off the order path.

`refresh_liability_rollup` (every minute, `refresh_liability_rollup_task`) rolls up each
reporting day once it ended SETTLE ago and moves the watermark to that day's end; the
report reads the rollup before the watermark and the ledgers after it. Ledger entries are
only appended, dated when written (auto_now_add), so a rolled-up day could change only
by a transaction that commits after the day ended: SETTLE leaves time for that, and each
run recomputes the last RECENT_DAYS rolled-up days too. Recomputing a day replaces its
rows under one lock, so running twice, or two at once, is harmless. A customer merge
moves entries between accounts of the same kind and currency: no day's sums change.
Entries written with an older date (seed_volume's COPY) need `rebuild_liability_rollup`."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from apps.customers.models import LoyaltyEntry, StoredValueEntry
from apps.reports.liabilities import (
    ROLLUP_WATERMARK,
    day_start,
    ledger_movements,
    reporting_day,
    rolled_up_until,
)
from apps.reports.locks import lock_liability_rollup
from apps.reports.models import DailyLiabilityMovement, RollupWatermark

# A day is rolled up once it ended this long ago (longer than any transaction writing an entry).
SETTLE = timedelta(minutes=5)
RECENT_DAYS = 2


def refresh_liability_rollup(*, now: datetime | None = None) -> int:
    """Roll up the days closed since the watermark and the last RECENT_DAYS again (every
    day up to the last closed one on the first run); returns the rows written."""
    now = now or timezone.now()
    mark = rolled_up_until()
    if mark is None:
        return rebuild_liability_rollup(now=now)
    last = _last_closed_day(now)
    return _roll_up(first=min(reporting_day(mark), last - timedelta(days=RECENT_DAYS - 1)), last=last)


def rebuild_liability_rollup(*, now: datetime | None = None) -> int:
    """Recompute the whole rollup, from the first entry's day to the last closed day."""
    last = _last_closed_day(now or timezone.now())
    return _roll_up(first=_first_entry_day() or last + timedelta(days=1), last=last, everything=True)


def _roll_up(*, first: date, last: date, everything: bool = False) -> int:
    """Replace days `first`..`last` (every day if `everything`) with the ledgers' sums and
    move the watermark to the end of `last`: forward only, unless rebuilding everything."""
    now = timezone.now()
    until = day_start(last + timedelta(days=1))
    with transaction.atomic():
        lock_liability_rollup()
        rows = [] if first > last else [
            DailyLiabilityMovement(day=movement.day, liability=movement.liability, currency=movement.currency,
                                   kind=movement.kind, total=movement.total, entries=movement.entries,
                                   refreshed_at=now)
            for movement in ledger_movements(since=day_start(first), until=until)]
        stale = DailyLiabilityMovement.objects.all()
        if not everything:
            stale = stale.filter(day__gte=first, day__lte=last)
        stale.delete()
        DailyLiabilityMovement.objects.bulk_create(rows)
        mark = rolled_up_until()
        if everything or mark is None or mark < until:
            RollupWatermark.objects.update_or_create(name=ROLLUP_WATERMARK, defaults={"changes_since": until})
    return len(rows)


def _last_closed_day(now: datetime) -> date:
    return reporting_day(now - SETTLE) - timedelta(days=1)


def _first_entry_day() -> date | None:
    ledgers = (StoredValueEntry, LoyaltyEntry)
    firsts = [ledger.objects.aggregate(at=Min("created_at"))["at"] for ledger in ledgers]
    known = [at for at in firsts if at is not None]
    return reporting_day(min(known)) if known else None
