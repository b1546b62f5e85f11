from django.conf import settings
from django.db import models
from django.db.models import F, Q

from apps.inventory.enums import MovementReason


def default_tax_rate_bps() -> int:
    """A new location's sales-tax rate (DEFAULT_TAX_RATE_BPS; 0 until the merchant sets it)."""
    return getattr(settings, "DEFAULT_TAX_RATE_BPS", 0)


class Location(models.Model):
    code = models.CharField(max_length=16, unique=True)
    name = models.CharField(max_length=100)
    timezone = models.CharField(max_length=64, default="UTC")
    currency = models.CharField(max_length=3, default="USD")
    country = models.CharField(max_length=2, default="US",
                               help_text="ISO 3166-1 alpha-2; local phone numbers are read in it.")
    tax_rate_bps = models.PositiveIntegerField(
        default=default_tax_rate_bps,
        help_text="Sales-tax rate in basis points (1025 = 10.25%); 0 where nothing is taxed.")
    tax_exempt_categories = models.JSONField(
        default=list, blank=True,
        help_text='Product tax categories taxed at 0 here, e.g. ["grocery"].')
    business_day_starts_at = models.PositiveSmallIntegerField(
        default=0, db_default=0,
        help_text="The local hour a business day starts (a restaurant's closeout hour, e.g. 4: "
                  "a sale at 01:30 belongs to the day before). 0 = midnight.")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(tax_rate_bps__lte=10000),
                                   name="location_tax_rate_at_most_100pct"),
            models.CheckConstraint(condition=Q(business_day_starts_at__lte=23),
                                   name="location_business_day_starts_within_a_day"),
        ]

    def __str__(self):
        return f"{self.code} — {self.name}"


class StockLevel(models.Model):
    """Stock of one variant at one location.

    available = on_hand - committed - safety_stock. `on_hand` may go below zero only
    through a recorded fact (a register sale the POS already made); a refusable request
    reserves with a conditional UPDATE and never pushes `available` below zero.
    """

    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="stock_levels")
    variant = models.ForeignKey("catalog.Variant", on_delete=models.PROTECT, related_name="stock_levels")
    on_hand = models.IntegerField(default=0)
    committed = models.IntegerField(default=0)
    safety_stock = models.IntegerField(default=0)
    is_86d = models.BooleanField(default=False, verbose_name="86'd")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["location__code", "variant__sku"]
        constraints = [
            models.UniqueConstraint(fields=["location", "variant"], name="stock_level_unique"),
            models.CheckConstraint(condition=Q(committed__gte=0), name="stock_committed_not_negative"),
            models.CheckConstraint(condition=Q(safety_stock__gte=0), name="stock_safety_not_negative"),
        ]

    def __str__(self):
        return f"{self.location_id}/{self.variant_id}: {self.on_hand} on hand"

    @property
    def available(self) -> int:
        return self.on_hand - self.committed - self.safety_stock


AVAILABLE = F("on_hand") - F("committed") - F("safety_stock")


class StockMovement(models.Model):
    """One change to a stock level. Levels are the running sum of these rows."""

    level = models.ForeignKey(StockLevel, on_delete=models.PROTECT, related_name="movements")
    reason = models.CharField(max_length=16, choices=MovementReason.choices)
    on_hand_delta = models.IntegerField(default=0)
    committed_delta = models.IntegerField(default=0)
    order_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    reference = models.CharField(max_length=255, blank=True)
    actor = models.CharField(max_length=100, blank=True)
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["level", "id"])]

    def __str__(self):
        return (f"{self.reason} level#{self.level_id} "
                f"on_hand{self.on_hand_delta:+} committed{self.committed_delta:+}")


class StaffMembership(models.Model):
    """A member of staff works at a location: a store manager sees and changes only these."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="staff_memberships")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="staff_memberships")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["location__code"]
        constraints = [
            models.UniqueConstraint(fields=["user", "location"], name="staff_membership_unique"),
        ]

    def __str__(self):
        return f"{self.user_id} @ {self.location_id}"
