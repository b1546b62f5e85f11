"""Finance choices and constants (no model imports)."""

from django.db import models


class ProcessorRecordKind(models.TextChoices):
    PAYMENT = "payment", "Payment"
    REFUND = "refund", "Refund"


class PayoutSource(models.TextChoices):
    API = "api", "Read from the platform's API"
    IMPORT = "import", "Imported from a file"


class PayoutEntryType(models.TextChoices):
    """What a payout line is, whatever the platform calls it (its own name is kept too)."""

    CHARGE = "charge", "Charge"
    REFUND = "refund", "Refund"
    FEE = "fee", "Fee"
    ADJUSTMENT = "adjustment", "Adjustment"
    DISPUTE = "dispute", "Dispute"
    PAYOUT = "payout", "Payout"
    OTHER = "other", "Other"


class DepositPlatform(models.TextChoices):
    TOAST = "toast", "Toast"
    CLOVER = "clover", "Clover"
    BANK = "bank", "Bank statement"


class DepositFormat(models.TextChoices):
    TOAST_PAYMENT_DETAILS = "toast_payment_details", "Toast PaymentDetails.csv"
    TOAST_PAYOUTS = "toast_payouts", "Toast Payouts Overview"
    CLOVER_DEPOSITS = "clover_deposits", "Clover deposit report"
    BANK_STATEMENT = "bank_statement", "Bank statement"


class DepositRowKind(models.TextChoices):
    PAYMENT = "payment", "A payment the processor settled"
    PAYOUT = "payout", "A payout or deposit"
    BANK_LINE = "bank_line", "A bank statement line"


class ReconciliationStatus(models.TextChoices):
    RECONCILED = "reconciled", "Reconciled"
    UNEXPLAINED = "unexplained", "Unexplained difference"


class ReconciliationClass(models.TextChoices):
    """Why a day's sales and what reached the bank differ. The first group explains money;
    the second needs a person."""

    FEE = "fee", "Processing fee"
    TIP = "tip", "Tip recorded differently"
    ACROSS_CUTOFF = "across_cutoff", "Settled on another business day (cut-off, midnight UTC)"
    IN_TRANSIT = "in_transit", "Not paid out yet"
    REFUND_LATER_PAYOUT = "refund_later_payout", "Refund settled in a later payout"
    CHARGEBACK = "chargeback", "Chargeback or dispute"
    ADJUSTMENT = "adjustment", "Processor adjustment"
    NON_CARD = "non_card", "Not card money (cash, other): no payout"
    MISSING_IN_CONCORD = "missing_in_concord", "The processor has it, Concord does not"
    MISSING_AT_PROCESSOR = "missing_at_processor", "Concord has it, the processor does not"
    AMOUNT_MISMATCH = "amount_mismatch", "Amounts differ"
    DEPOSIT_MISMATCH = "deposit_mismatch", "Deposit differs from the processor's net"
    OVERDUE_PAYOUT = "overdue_payout", "Payout overdue"
    UNMATCHED_DEPOSIT = "unmatched_deposit", "Bank deposit matching no payout"


UNEXPLAINED_CLASSES = frozenset({
    ReconciliationClass.MISSING_IN_CONCORD, ReconciliationClass.MISSING_AT_PROCESSOR,
    ReconciliationClass.AMOUNT_MISMATCH, ReconciliationClass.DEPOSIT_MISMATCH,
    ReconciliationClass.OVERDUE_PAYOUT, ReconciliationClass.UNMATCHED_DEPOSIT,
})
