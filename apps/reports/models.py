"""Finance: what the processors recorded and paid out, reports and reconciliation."""

# Cash drawer counts and each store's opening float (cash over/short).
from apps.reports.models_drawers import CashDrawerCount, CashDrawerFloat  # noqa: F401

# What the processors recorded and paid out, and imported deposit files (finance data).
from apps.reports.models_processor import (  # noqa: F401
    DepositImport,
    DepositRow,
    Payout,
    PayoutEntry,
    ProcessorRecord,
)

# The three-way reconciliation's result (per business day, location and processor).
from apps.reports.models_reconciliation import ReconciliationDay, ReconciliationLine  # noqa: F401

# The channel and liabilities rollups, their watermark and export jobs (finance reports).
from apps.reports.models_reports import (  # noqa: F401
    DailyChannelSales,
    DailyLiabilityMovement,
    ExportJob,
    RollupWatermark,
)
