from django.db import models
from django.db.models import Q

from apps.catalog.enums import TaxCategory


class Product(models.Model):
    name = models.CharField(max_length=200)
    category = models.CharField(max_length=100, blank=True)
    tax_category = models.CharField(
        max_length=32, default=TaxCategory.STANDARD,
        help_text="What sales tax sees: a location may exempt some categories (grocery).")
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    modifier_groups = models.ManyToManyField("ModifierGroup", blank=True, related_name="products")

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Variant(models.Model):
    """The canonical sellable thing. Its SKU is what every platform is mapped by."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="variants")
    sku = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    price_amount = models.BigIntegerField(help_text="Minor units.")
    currency = models.CharField(max_length=3, default="USD")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["sku"]
        constraints = [
            models.CheckConstraint(condition=Q(price_amount__gte=0), name="variant_price_not_negative"),
        ]

    def __str__(self):
        return f"{self.sku} — {self.name}"


class ModifierGroup(models.Model):
    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    min_selected = models.PositiveSmallIntegerField(default=0)
    max_selected = models.PositiveSmallIntegerField(default=1)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(max_selected__gte=models.F("min_selected")),
                name="modifier_group_min_le_max",
            ),
        ]

    def __str__(self):
        return self.name


class Modifier(models.Model):
    """An option on a line (extra guacamole); it changes the unit price by `price_delta`."""

    group = models.ForeignKey(ModifierGroup, on_delete=models.PROTECT, related_name="modifiers")
    sku = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    price_delta = models.BigIntegerField(default=0, help_text="Minor units added per unit.")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["group__code", "sku"]

    def __str__(self):
        return f"{self.sku} — {self.name}"
