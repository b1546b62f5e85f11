"""Finance: what the processors recorded and paid out, reports and reconciliation."""

# The channel rollup, its watermark and export jobs (finance reports).
from apps.reports.models_reports import DailyChannelSales, ExportJob, RollupWatermark  # noqa: F401
