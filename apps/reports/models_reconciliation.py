"""The three-way reconciliation's stored result: per business day, location and processor,
what Concord sold, what the processor recorded and what it paid out, and every difference
as a classified line (the lines add up to the day's difference, to the cent)."""

from django.conf import settings
from django.db import models

from apps.reports.enums import ReconciliationClass, ReconciliationStatus


class ReconciliationDay(models.Model):
    business_day = models.DateField()
    location = models.ForeignKey("inventory.Location", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+", help_text="None for bank lines no store owns.")
    platform = models.CharField(max_length=16, help_text="The processor, or 'bank' for bank lines.")
    currency = models.CharField(max_length=3)
    sold = models.BigIntegerField(help_text="Concord's tenders at this processor, less its refunds.")
    processor_gross = models.BigIntegerField(help_text="Payments less refunds, as the processor recorded.")
    fees = models.BigIntegerField(help_text="What the processor kept.")
    paid_out = models.BigIntegerField(help_text="Payout lines or deposits covering this day.")
    difference = models.BigIntegerField(help_text="sold - paid_out: the sum of the lines.")
    unexplained = models.BigIntegerField(help_text="The part of the difference no rule explains.")
    status = models.CharField(max_length=16, choices=ReconciliationStatus.choices)
    computed_at = models.DateTimeField()
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    review_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-business_day", "location_id", "platform"]
        constraints = [
            models.UniqueConstraint(fields=["business_day", "location", "platform"],
                                    name="reconciliation_day_once", nulls_distinct=False),
        ]
        indexes = [models.Index(fields=["business_day", "platform"])]

    def __str__(self):
        return f"{self.business_day} {self.platform} @{self.location_id}: {self.status}"


class ReconciliationLine(models.Model):
    day = models.ForeignKey(ReconciliationDay, on_delete=models.CASCADE, related_name="lines")
    classification = models.CharField(max_length=32, choices=ReconciliationClass.choices)
    explained = models.BooleanField()
    amount = models.BigIntegerField(help_text="Its share of sold - paid_out (signed).")
    count = models.PositiveIntegerField(default=1, help_text="Items folded into this line (fees, ...).")
    note = models.CharField(max_length=255, blank=True)
    order = models.ForeignKey("orders.Order", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    payment = models.ForeignKey("orders.Payment", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    processor_record = models.ForeignKey("reports.ProcessorRecord", null=True, blank=True,
                                         on_delete=models.SET_NULL, related_name="+")
    payout = models.ForeignKey("reports.Payout", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    deposit_row = models.ForeignKey("reports.DepositRow", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")

    class Meta:
        ordering = ["day_id", "explained", "id"]

    def __str__(self):
        return f"{self.classification} {self.amount}"
