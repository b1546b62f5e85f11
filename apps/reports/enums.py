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
