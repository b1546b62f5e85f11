from django.db import models
from django.db.models import Q

from apps.returns.enums import RefundPartStatus, RefundStatus


class Refund(models.Model):
    """Money (and maybe goods) given back on one order, through the one refund path.

    Its lines and parts are written with it; the order's counters (refunded quantity per
    line, refunded amount per tender and in total) are raised in the same transaction by
    conditional UPDATEs backed by CHECKs, so refunds together never exceed what was paid."""

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="refunds")
    status = models.CharField(max_length=20, choices=RefundStatus.choices)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=255, blank=True)
    return_location = models.ForeignKey("inventory.Location", null=True, blank=True,
                                        on_delete=models.PROTECT, related_name="+")
    actor = models.CharField(max_length=100, blank=True)
    actor_role = models.CharField(max_length=32, blank=True,
                                  help_text="The role the refund was asked for with (its limits).")
    api_client = models.ForeignKey("core.ApiClient", null=True, blank=True, on_delete=models.PROTECT)
    idempotency_key = models.CharField(max_length=255, blank=True,
                                       help_text="The caller's key: the same key is the same refund.")
    points_reversed = models.PositiveIntegerField(default=0)
    points_returned = models.PositiveIntegerField(default=0)
    decided_by = models.CharField(max_length=100, blank=True, help_text="Who approved or rejected it.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="refund_amount_not_negative"),
            models.UniqueConstraint(fields=["order", "idempotency_key"], condition=~Q(idempotency_key=""),
                                    name="refund_once_per_key"),
        ]

    def __str__(self):
        return f"Refund #{self.pk} of order #{self.order_id} ({self.status})"


class RefundLine(models.Model):
    """Units of one order line a refund gives money back for (and maybe restocks)."""

    refund = models.ForeignKey(Refund, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey("orders.OrderLine", on_delete=models.PROTECT, related_name="refund_lines")
    quantity = models.PositiveIntegerField()
    amount = models.BigIntegerField(help_text="Net plus tax refunded for these units.")
    tax_amount = models.BigIntegerField(default=0)
    discount_amount = models.BigIntegerField(default=0, help_text="The units' share of the line's discount.")
    restock = models.BooleanField(default=False)
    location = models.ForeignKey("inventory.Location", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+", help_text="Where restocked units went back on hand.")

    class Meta:
        ordering = ["refund_id", "order_line_id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="refund_line_quantity_positive"),
            models.CheckConstraint(condition=Q(amount__gte=0, tax_amount__gte=0, discount_amount__gte=0,
                                               tax_amount__lte=models.F("amount")),
                                   name="refund_line_amounts_not_negative"),
        ]

    def __str__(self):
        return f"{self.quantity} of line #{self.order_line_id}"


class RefundPart(models.Model):
    """The share of a refund that goes back to one tender, where that money was taken."""

    refund = models.ForeignKey(Refund, on_delete=models.CASCADE, related_name="parts")
    payment = models.ForeignKey("orders.Payment", on_delete=models.PROTECT, related_name="refund_parts")
    amount = models.BigIntegerField()
    points = models.PositiveIntegerField(default=0, help_text="Redeemed points given back (loyalty).")
    platform = models.CharField(max_length=20, blank=True)
    status = models.CharField(max_length=20, choices=RefundPartStatus.choices)
    reference = models.CharField(max_length=255, blank=True,
                                 help_text="The platform's refund id, or what records the payout.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["refund_id", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_part_amount_positive"),
        ]
        indexes = [
            # A platform's refund webhooks and records find the part Concord sent by the
            # platform's refund id: without it each was a scan of every part.
            models.Index(fields=["platform", "reference"], name="refund_part_by_platform_ref"),
        ]

    def __str__(self):
        return f"{self.amount} to payment #{self.payment_id} ({self.status})"


class Exchange(models.Model):
    """A return plus a new order that settles only the difference (apps.returns.exchanges).

    The refund returns the goods through the one refund path; the part of its money that
    pays the new order (`credit_amount`) is the new order's `exchange` tender, and only the
    rest goes back to the original tenders. `difference` is the new order's total less the
    refund: positive, what the customer paid; negative, what went back to them."""

    refund = models.OneToOneField(Refund, on_delete=models.PROTECT, related_name="exchange")
    new_order = models.OneToOneField("orders.Order", on_delete=models.PROTECT, related_name="exchange")
    credit_amount = models.BigIntegerField()
    difference = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    api_client = models.ForeignKey("core.ApiClient", null=True, blank=True, on_delete=models.PROTECT)
    idempotency_key = models.CharField(max_length=255, blank=True,
                                       help_text="The caller's key: the same key is the same exchange.")
    actor = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(credit_amount__gte=0), name="exchange_credit_not_negative"),
            models.UniqueConstraint(fields=["api_client", "idempotency_key"],
                                    condition=~Q(idempotency_key=""), name="exchange_once_per_key"),
        ]

    def __str__(self):
        return f"Exchange #{self.pk}: refund #{self.refund_id}, new order #{self.new_order_id}"
