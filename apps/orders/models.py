from django.db import models
from django.db.models import Q

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
    subtotal_amount = models.BigIntegerField()
    total_amount = models.BigIntegerField()
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
        ]
        indexes = [models.Index(fields=["location", "-placed_at"])]

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
    line_total = models.BigIntegerField()
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["order_id", "line_number"]
        constraints = [
            models.UniqueConstraint(fields=["order", "line_number"], name="order_line_number_unique"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_line_quantity_positive"),
        ]

    def __str__(self):
        return f"{self.quantity} × {self.sku}"


class Payment(models.Model):
    """A tender on an order: where the money was (or will be) taken."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="payments")
    tender_type = models.CharField(max_length=20, choices=TenderType.choices)
    status = models.CharField(max_length=16, choices=PaymentStatus.choices)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    platform = models.CharField(max_length=20, blank=True)
    reference = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="payment_amount_not_negative"),
        ]

    def __str__(self):
        return f"{self.tender_type} {self.amount} {self.currency}"
