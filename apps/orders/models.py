from django.contrib.postgres.indexes import GinIndex, OpClass
from django.contrib.postgres.search import SearchVector
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower, Reverse, Upper

from apps.core.enums import Channel
from apps.orders.enums import FulfillmentType, OrderStatus, PaymentStatus, StockMode, TenderType


class Order(models.Model):
    channel = models.CharField(max_length=20, choices=Channel.choices)
    source_name = models.CharField(max_length=100, blank=True)
    external_id = models.CharField(max_length=255, blank=True)
    api_client = models.ForeignKey("core.ApiClient", null=True, blank=True, on_delete=models.PROTECT)
    location = models.ForeignKey("inventory.Location", on_delete=models.PROTECT, related_name="orders")
    status = models.CharField(max_length=16, choices=OrderStatus.choices, default=OrderStatus.ACCEPTED)
    stock_mode = models.CharField(max_length=16, choices=StockMode.choices, default=StockMode.RESERVED)
    fulfillment_type = models.CharField(max_length=16, choices=FulfillmentType.choices)
    fulfillment_at = models.DateTimeField(null=True, blank=True)
    delivery_address = models.JSONField(null=True, blank=True)
    customer = models.ForeignKey("customers.Customer", null=True, blank=True, on_delete=models.PROTECT)
    customer_name = models.CharField(max_length=200, blank=True)
    customer_phone = models.CharField(max_length=20, blank=True)
    customer_email = models.CharField(max_length=254, blank=True)
    currency = models.CharField(max_length=3)
    subtotal_amount = models.BigIntegerField(help_text="The lines' gross amounts (price x quantity).")
    discount_amount = models.BigIntegerField(default=0, db_default=0,
                                             help_text="Line and order discounts, all lines.")
    tax_amount = models.BigIntegerField(default=0, db_default=0, help_text="The sum of the lines' tax.")
    adjustment_amount = models.BigIntegerField(
        default=0, db_default=0,
        help_text="What a platform's own total holds beyond lines, discounts and tax (shipping, "
                  "service charges); signed, 0 on API orders.")
    total_amount = models.BigIntegerField(
        help_text="subtotal - discount + tax + adjustment: what the tenders pay (tips excluded).")
    tip_amount = models.BigIntegerField(default=0, db_default=0,
                                        help_text="The tenders' tips, on top of the total.")
    refunded_amount = models.BigIntegerField(default=0, db_default=0)
    loyalty_points_earned = models.PositiveIntegerField(default=0, db_default=0)
    note = models.TextField(blank=True)
    placed_at = models.DateTimeField(help_text="When the sale happened (for a POS sale, at the POS).")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "source_name", "external_id"],
                condition=~Q(external_id=""),
                name="order_external_id_unique",
            ),
            models.CheckConstraint(condition=Q(total_amount__gte=0), name="order_total_not_negative"),
            models.CheckConstraint(
                condition=Q(subtotal_amount__gte=0, discount_amount__gte=0, tax_amount__gte=0,
                            tip_amount__gte=0, refunded_amount__gte=0),
                name="order_amounts_not_negative"),
            models.CheckConstraint(condition=Q(discount_amount__lte=F("subtotal_amount")),
                                   name="order_discount_within_subtotal"),
            models.CheckConstraint(
                condition=Q(total_amount=F("subtotal_amount") - F("discount_amount") + F("tax_amount")
                            + F("adjustment_amount")),
                name="order_total_adds_up"),
            models.CheckConstraint(condition=Q(refunded_amount__lte=F("total_amount")),
                                   name="order_refunded_within_total"),
        ]
        indexes = [
            models.Index(fields=["location", "-placed_at"]),
            # The back office's lists, newest first; and each way its search box matches
            # (selectors._matching): no page scans every order.
            models.Index(fields=["-placed_at", "-id"], name="order_newest_first"),
            models.Index(Upper("external_id"), name="order_external_id_upper"),
            models.Index(OpClass(Lower("customer_email"), name="text_pattern_ops"),
                         name="order_email_prefix"),
            models.Index(OpClass(Reverse("customer_phone"), name="text_pattern_ops"),
                         name="order_phone_last_digits"),
            GinIndex(SearchVector("customer_name", config="simple"), name="order_name_words"),
            # The channel rollup's refresh finds the orders changed in its last minutes
            # (reports.rollup._touched_days): without it, a scan of each store's orders.
            models.Index(fields=["location", "updated_at"], name="order_location_updated_at"),
        ]

    def __str__(self):
        return f"Order #{self.pk} ({self.channel})"


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    line_number = models.PositiveSmallIntegerField()
    variant = models.ForeignKey("catalog.Variant", on_delete=models.PROTECT)
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField()
    unit_price = models.BigIntegerField(help_text="Variant price plus modifier deltas, minor units.")
    modifiers = models.JSONField(default=list, blank=True)
    line_total = models.BigIntegerField(help_text="unit_price x quantity, before discounts.")
    discount_amount = models.BigIntegerField(
        default=0, db_default=0, help_text="The line's own discounts plus its share of the order's.")
    net_amount = models.BigIntegerField(help_text="line_total - discount_amount: what tax is on.")
    tax_amount = models.BigIntegerField(default=0, db_default=0)
    tax_rate_bps = models.PositiveIntegerField(
        default=0, db_default=0,
        help_text="The rate this line was taxed at when sold; 0 if exempt or unknown (a platform's own tax).")
    refunded_quantity = models.PositiveIntegerField(default=0, db_default=0)
    refunded_amount = models.BigIntegerField(default=0, db_default=0,
                                             help_text="Net plus tax refunded for returned units.")
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["order_id", "line_number"]
        constraints = [
            models.UniqueConstraint(fields=["order", "line_number"], name="order_line_number_unique"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_line_quantity_positive"),
            models.CheckConstraint(
                condition=Q(discount_amount__gte=0, discount_amount__lte=F("line_total"),
                            net_amount=F("line_total") - F("discount_amount"), tax_amount__gte=0),
                name="order_line_net_adds_up"),
            models.CheckConstraint(condition=Q(refunded_quantity__lte=F("quantity")),
                                   name="order_line_refunded_within_quantity"),
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0, refunded_amount__lte=F("net_amount") + F("tax_amount")),
                name="order_line_refunded_within_amount"),
        ]

    def __str__(self):
        return f"{self.quantity} × {self.sku}"


class Payment(models.Model):
    """A tender on an order: where the money was (or will be) taken. The order's tenders'
    amounts add up to its total; a tip is on top of the amount, as Toast reports it (a
    platform that counts the tip in the amount, like Square's Tender, is split on the way in)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="payments")
    tender_type = models.CharField(max_length=20, choices=TenderType.choices)
    status = models.CharField(max_length=16, choices=PaymentStatus.choices)
    amount = models.BigIntegerField(help_text="Minor units toward the order's total, tip excluded.")
    tip_amount = models.BigIntegerField(default=0, db_default=0)
    processing_fee_amount = models.BigIntegerField(
        default=0, db_default=0, help_text="The processor's fee, where the platform reports it.")
    currency = models.CharField(max_length=3)
    points = models.PositiveIntegerField(default=0, db_default=0,
                                         help_text="Loyalty points redeemed (loyalty tenders).")
    stored_value_account = models.ForeignKey(
        "customers.StoredValueAccount", null=True, blank=True, on_delete=models.PROTECT,
        related_name="tenders", help_text="The gift card or store credit drawn on.")
    platform = models.CharField(max_length=20, blank=True)
    reference = models.CharField(max_length=255, blank=True)
    refunded_amount = models.BigIntegerField(default=0, db_default=0,
                                             help_text="What refunds have given back of `amount`.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="payment_amount_not_negative"),
            models.CheckConstraint(condition=Q(refunded_amount__gte=0, refunded_amount__lte=F("amount")),
                                   name="payment_refunded_within_amount"),
            models.CheckConstraint(condition=Q(tip_amount__gte=0, processing_fee_amount__gte=0),
                                   name="payment_tip_and_fee_not_negative"),
            models.CheckConstraint(
                condition=Q(tender_type=TenderType.LOYALTY, points__gt=0)
                | (~Q(tender_type=TenderType.LOYALTY) & Q(points=0)),
                name="payment_points_only_on_loyalty"),
            models.CheckConstraint(
                condition=Q(stored_value_account__isnull=True)
                | Q(tender_type__in=[TenderType.GIFT_CARD, TenderType.STORE_CREDIT]),
                name="payment_account_only_on_stored_value"),
        ]
        indexes = [
            # A platform's webhooks and money reads find the tender by its id there (a refund
            # names the payment it refunds): without it each was a scan of every payment.
            models.Index(fields=["platform", "reference"], name="payment_by_platform_reference"),
        ]

    def __str__(self):
        return f"{self.tender_type} {self.amount} {self.currency}"
