"""django-q2 entry points of the finance reports: thin, each safe to run twice."""

from apps.reports.rollup import refresh_channel_rollup


def refresh_channel_rollup_task() -> int:
    """Every minute (a schedule): recompute the channel rollup's touched business days."""
    return refresh_channel_rollup()


def run_export_job_task(job_id: int) -> bool:
    from apps.reports.export_jobs import run_export_job

    return run_export_job(job_id=job_id)
