"""Locks of the finance reports."""

from django.db import connection

from apps.reports.models import ProcessorRecord

# pg_advisory_xact_lock's first key: the channel rollup (the second is a location id).
ROLLUP_LOCK_CLASS = 72_001
# ... and the cash drawer counts of a location (the second is the location id).
DRAWER_COUNT_LOCK_CLASS = 72_002


def lock_liability_rollup() -> None:
    """Inside a transaction: one writer of the liabilities rollup at a time (its rows and
    its watermark), so two refreshes at once replace the same days in turn."""
    with connection.cursor() as cursor:
        # The rollups' lock class with 0, which is no location's id.
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [ROLLUP_LOCK_CLASS, 0])


def lock_rollup_of_location(location_id: int) -> None:
    """Inside a transaction: one writer of a location's rollup rows at a time, so two
    refreshes at once replace a day's rows in turn instead of colliding on the unique key."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [ROLLUP_LOCK_CLASS, location_id])


def lock_processor_record(*, platform: str, platform_id: str) -> ProcessorRecord | None:
    """Inside a transaction: the stored processor record, locked (None if none yet), so a
    re-read of the payment and a fee reported apart are written one after the other."""
    return (ProcessorRecord.objects.select_for_update(of=("self",))
            .filter(platform=platform, platform_id=platform_id).only("fee").first())


def lock_drawer_counts_of_location(location_id: int) -> None:
    """Inside a transaction: one count or recount of a location's drawers at a time, so a
    first count made twice at once becomes a count and a recount, both audited."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [DRAWER_COUNT_LOCK_CLASS, location_id])
