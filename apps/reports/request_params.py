"""What a report page reads from its parameters (the query, or the POST of a form on it):
the days it covers and whether it is asked for as a file."""

from __future__ import annotations

from datetime import date

from apps.core.errors import ValidationFailed
from apps.reports.periods import report_range

FILE_FORMATS = ("csv", "xlsx")


def page_range(params, *, today: date | None = None) -> tuple[tuple[date, date], str | None]:
    """The page's days; a bad range falls back to the last seven days (up to `today`) with a
    message."""
    try:
        return report_range(params, required=False, today=today), None
    except ValidationFailed as error:
        return report_range({}, required=False, today=today), str(error)


def stores_latest_day(store_days) -> date | None:
    """The newest of the stores' current business days: the default range ends there, not on
    a UTC date no store has reached."""
    return max((store_day.day for store_day in store_days), default=None)


def requested_file_format(params) -> str:
    """`format=csv|xlsx` asks for the page's figures as that file; anything else, the page."""
    wanted = params.get("format", "")
    return wanted if wanted in FILE_FORMATS else ""
