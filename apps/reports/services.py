"""Finance writes: one function per business action, a transaction inside each."""

from __future__ import annotations

from apps.reports.drawer_services import record_drawer_count, set_drawer_float  # noqa: F401  (cash drawers)
from apps.reports.processor_services import (  # noqa: F401  (the processor part of this module)
    DepositImportResult,
    PayoutEntryFact,
    PayoutFact,
    ProcessorFact,
    ProcessorFeeFact,
    import_deposit_file,
    link_payout_entries,
    record_payout,
    record_processor_fees,
    record_processor_payment,
    record_processor_refund,
)
