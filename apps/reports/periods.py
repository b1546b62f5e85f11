"""The date range a report takes: `?from=YYYY-MM-DD&to=YYYY-MM-DD`, business days, inclusive."""

from __future__ import annotations

from datetime import date, timedelta

from django.utils import timezone

from apps.core.errors import ValidationFailed

MAX_REPORT_DAYS = 366 * 3
DEFAULT_DAYS = 7
# Reports (and the period before them) stay well inside what dates and time zones can hold.
EARLIEST, LATEST = date(1970, 1, 1), date(2999, 12, 31)


def parse_day(raw: str, name: str) -> date:
    try:
        if len(raw) != 10:
            raise ValueError
        day = date.fromisoformat(raw)
        if not EARLIEST <= day <= LATEST:
            raise ValueError
        return day
    except ValueError:
        raise ValidationFailed(f"{name} is a date, YYYY-MM-DD, from {EARLIEST} to {LATEST}.",
                               field=name) from None


def report_range(params, *, required: bool, today: date | None = None) -> tuple[date, date]:
    """(first, last) from `from` and `to`; without them (pages only) the last seven days up to
    `today` (the stores' latest business day for the reports by store; the merchant's date
    otherwise)."""
    if not required and not params.get("from") and not params.get("to"):
        last = today or timezone.localdate()
        return last - timedelta(days=DEFAULT_DAYS - 1), last
    for name in ("from", "to"):
        if not params.get(name):
            raise ValidationFailed(f"{name} is required (a date, YYYY-MM-DD).", field=name,
                                   extra={"code": "required"})
    first, last = parse_day(params["from"], "from"), parse_day(params["to"], "to")
    if last < first:
        raise ValidationFailed("to is before from.", field="to", extra={"code": "invalid_range"})
    if (last - first).days + 1 > MAX_REPORT_DAYS:
        raise ValidationFailed(f"A report covers at most {MAX_REPORT_DAYS} days.", field="to",
                               extra={"code": "invalid_range"})
    return first, last
