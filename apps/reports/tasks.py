"""django-q2 entry points of the finance reports: thin, each safe to run twice."""

from apps.reports.liability_rollup import refresh_liability_rollup
from apps.reports.rollup import refresh_channel_rollup


def refresh_channel_rollup_task() -> int:
    """Every minute (a schedule): recompute the channel rollup's touched business days."""
    return refresh_channel_rollup()


def refresh_liability_rollup_task() -> int:
    """Every minute (a schedule): roll up the liabilities' closed days."""
    return refresh_liability_rollup()


def run_export_job_task(job_id: int) -> bool:
    from apps.reports.export_jobs import run_export_job

    return run_export_job(job_id=job_id)


def reconcile_recent_days_task() -> int:
    """Every 15 minutes (a schedule): reconcile the last RECONCILE_RECENT_DAYS business days."""
    from datetime import timedelta

    from django.utils import timezone

    from apps.reports.reconciliation import RECONCILE_RECENT_DAYS, reconcile_days

    today = timezone.now().date()
    return len(reconcile_days(first_day=today - timedelta(days=RECONCILE_RECENT_DAYS), last_day=today))
