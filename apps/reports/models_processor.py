"""What the processors recorded and paid out: their payments and refunds, their payouts and
payout lines, and the deposit files finance imports where a platform has no payout API.

Amounts are signed minor units as they move the merchant's money: a payment is positive,
a refund negative; a fee is what the processor kept (negative when it gives a fee back);
net = gross - fee."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from apps.reports.enums import (
    DepositFormat,
    DepositPlatform,
    DepositRowKind,
    PayoutEntryType,
    PayoutSource,
    ProcessorRecordKind,
)


class ProcessorRecord(models.Model):
    """One payment or refund as the platform reports it, linked to our tender (and refund
    part) when it matches one. Read again on each poll: the fee and status arrive late."""

    platform = models.CharField(max_length=16)
    location = models.ForeignKey("inventory.Location", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    platform_id = models.CharField(max_length=128, help_text="The platform's payment or refund id.")
    kind = models.CharField(max_length=16, choices=ProcessorRecordKind.choices)
    platform_payment_id = models.CharField(max_length=128, blank=True,
                                           help_text="A refund's payment; a payment's own id.")
    platform_order_id = models.CharField(max_length=128, blank=True)
    amount = models.BigIntegerField(help_text="Without the tip; negative on a refund.")
    tip = models.BigIntegerField(default=0)
    gross = models.BigIntegerField(help_text="amount + tip: what the card moved.")
    fee = models.BigIntegerField(default=0, help_text="What the processor kept; negative when given back.")
    net = models.BigIntegerField(help_text="gross - fee.")
    currency = models.CharField(max_length=3)
    occurred_at = models.DateTimeField()
    business_day = models.DateField(help_text="The location's (or the platform's own) business day.")
    status = models.CharField(max_length=32, help_text="The platform's status, as it writes it.")
    method = models.CharField(max_length=32, blank=True, help_text="CARD, CASH, ... as the platform says.")
    card_brand = models.CharField(max_length=32, blank=True)
    payment = models.ForeignKey("orders.Payment", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="processor_records", help_text="Our tender it is.")
    refund_part = models.ForeignKey("returns.RefundPart", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="processor_records")
    order = models.ForeignKey("orders.Order", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="processor_records")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["platform", "platform_id"], name="processor_record_once"),
            models.CheckConstraint(condition=Q(gross=F("amount") + F("tip"), net=F("gross") - F("fee")),
                                   name="processor_record_adds_up"),
            models.CheckConstraint(
                condition=Q(kind=ProcessorRecordKind.PAYMENT, amount__gte=0, tip__gte=0)
                | Q(kind=ProcessorRecordKind.REFUND, amount__lte=0, tip__lte=0),
                name="processor_record_sign_follows_kind"),
        ]
        indexes = [models.Index(fields=["business_day", "location", "platform"]),
                   models.Index(fields=["platform", "platform_payment_id"])]

    def __str__(self):
        return f"{self.platform} {self.kind} {self.platform_id}: {self.gross} {self.currency}"


class Payout(models.Model):
    """Money a processor sent to (or took from) the merchant's bank: read from its API
    (Square, Shopify) or imported from an export (Toast, Clover)."""

    platform = models.CharField(max_length=16)
    location = models.ForeignKey("inventory.Location", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    platform_payout_id = models.CharField(max_length=128,
                                          help_text="The platform's payout id, or an import's key.")
    status = models.CharField(max_length=32)
    amount = models.BigIntegerField(help_text="Positive into the bank, negative out of it.")
    fee = models.BigIntegerField(default=0, help_text="The payout's own fee (a transfer fee).")
    currency = models.CharField(max_length=3)
    arrival_date = models.DateField(null=True, blank=True, help_text="Arrival, issue or settled date.")
    platform_created_at = models.DateTimeField(null=True, blank=True)
    bank_reference = models.CharField(max_length=128, blank=True,
                                      help_text="What the bank statement may show (Square end_to_end_id).")
    source = models.CharField(max_length=16, choices=PayoutSource.choices)
    deposit_import = models.ForeignKey("reports.DepositImport", null=True, blank=True,
                                       on_delete=models.CASCADE, related_name="payouts")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-arrival_date", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["platform", "platform_payout_id"], name="payout_once"),
            models.CheckConstraint(condition=Q(source=PayoutSource.API) | Q(deposit_import__isnull=False),
                                   name="payout_import_names_its_file"),
        ]
        indexes = [models.Index(fields=["arrival_date", "location", "platform"])]

    def __str__(self):
        return f"{self.platform} payout {self.platform_payout_id}: {self.amount} {self.currency}"


class PayoutEntry(models.Model):
    """One line of a payout (a Square payout entry, a Shopify balance transaction)."""

    payout = models.ForeignKey(Payout, on_delete=models.CASCADE, related_name="entries")
    platform = models.CharField(max_length=16)
    platform_entry_id = models.CharField(max_length=128)
    entry_type = models.CharField(max_length=16, choices=PayoutEntryType.choices)
    platform_type = models.CharField(max_length=64, help_text="The platform's own type, verbatim.")
    gross = models.BigIntegerField()
    fee = models.BigIntegerField(default=0)
    net = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    occurred_at = models.DateTimeField(null=True, blank=True)
    source_payment_id = models.CharField(max_length=128, blank=True)
    source_refund_id = models.CharField(max_length=128, blank=True)
    source_order_id = models.CharField(max_length=128, blank=True)
    processor_record = models.ForeignKey(ProcessorRecord, null=True, blank=True, on_delete=models.SET_NULL,
                                         related_name="payout_entries")
    payment = models.ForeignKey("orders.Payment", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="payout_entries")
    refund_part = models.ForeignKey("returns.RefundPart", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="payout_entries")

    class Meta:
        ordering = ["payout_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["platform", "platform_entry_id"], name="payout_entry_once"),
            # Square and Shopify guarantee it, except Shopify's adjustments (PLATFORM_MONEY §4.2).
            models.CheckConstraint(
                condition=Q(net=F("gross") - F("fee"))
                | Q(platform="shopify", entry_type=PayoutEntryType.ADJUSTMENT),
                name="payout_entry_net_adds_up"),
        ]
        indexes = [
            models.Index(fields=["platform", "source_payment_id"]),
            # The reconciliation looks up a day's disputes and adjustments: a few among
            # hundreds of thousands of charges.
            models.Index(fields=["processor_record"], name="payout_entry_not_settling",
                         condition=~Q(entry_type__in=[PayoutEntryType.CHARGE, PayoutEntryType.REFUND,
                                                      PayoutEntryType.PAYOUT])),
        ]
        verbose_name_plural = "payout entries"

    def __str__(self):
        return f"{self.entry_type} {self.net} {self.currency} in payout #{self.payout_id}"


class DepositImport(models.Model):
    """A file finance imported (a Toast or Clover export, a bank statement). Its content's
    hash is unique: the same file imported again changes nothing."""

    platform = models.CharField(max_length=16, choices=DepositPlatform.choices)
    file_format = models.CharField(max_length=32, choices=DepositFormat.choices)
    file_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64, unique=True)
    rows = models.PositiveIntegerField()
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-imported_at", "-id"]

    def __str__(self):
        return f"{self.get_file_format_display()} {self.file_name} ({self.rows} rows)"


class DepositRow(models.Model):
    """One row of an imported file, with the tender or payout it names when found."""

    deposit_import = models.ForeignKey(DepositImport, on_delete=models.CASCADE, related_name="deposit_rows")
    line_number = models.PositiveIntegerField(help_text="The row's line in the file (header is 1).")
    kind = models.CharField(max_length=16, choices=DepositRowKind.choices)
    location = models.ForeignKey("inventory.Location", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    date = models.DateField(help_text="Paid, settled, deposited or booked date, as the file says.")
    business_day = models.DateField(null=True, blank=True, help_text="The sales day it covers, if given.")
    amount = models.BigIntegerField(help_text="Gross (payments) or what reached the bank.")
    tip = models.BigIntegerField(default=0)
    fee = models.BigIntegerField(default=0)
    net = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    reference = models.CharField(max_length=255, blank=True, help_text="Payment id, batch or bank reference.")
    description = models.CharField(max_length=255, blank=True)
    payment = models.ForeignKey("orders.Payment", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="deposit_rows")
    payout = models.ForeignKey(Payout, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="deposit_rows")
    data = models.JSONField(default=dict, help_text="The row as the file had it.")

    class Meta:
        ordering = ["deposit_import_id", "line_number"]
        constraints = [
            models.UniqueConstraint(fields=["deposit_import", "line_number"], name="deposit_row_once"),
        ]
        indexes = [models.Index(fields=["date", "location"])]

    def __str__(self):
        return f"line {self.line_number} of import #{self.deposit_import_id}: {self.amount}"
