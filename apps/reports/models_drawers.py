"""Cash drawer counts: what a store counted in its drawer at the close of a business day,
and the opening float each store leaves in it. The cash expected is never stored: it is
the day's cash tenders less its cash refunds, read when needed, so a sale recorded late
moves the over/short the journal books."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class CashDrawerCount(models.Model):
    """One count per location and business day; a recount replaces it (audited)."""

    location = models.ForeignKey("inventory.Location", on_delete=models.PROTECT, related_name="+")
    business_day = models.DateField(help_text="The location's business day counted.")
    currency = models.CharField(max_length=3)
    counted = models.BigIntegerField(help_text="Cash in the drawer at the count, minor units.")
    opening_float = models.BigIntegerField(help_text="Cash the drawer started the day with.")
    counted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    counted_at = models.DateTimeField()
    note = models.TextField(blank=True)
    recounts = models.PositiveIntegerField(default=0, help_text="How many times a recount replaced it.")

    class Meta:
        ordering = ["-business_day", "location_id"]
        constraints = [
            models.UniqueConstraint(fields=["location", "business_day"], name="cash_drawer_count_once"),
            models.CheckConstraint(condition=Q(counted__gte=0, opening_float__gte=0),
                                   name="cash_drawer_count_not_negative"),
        ]

    def __str__(self):
        return f"{self.business_day} @{self.location_id}: {self.counted}"


class CashDrawerFloat(models.Model):
    """The opening float a location's drawer starts each day with (a count's default)."""

    location = models.OneToOneField("inventory.Location", on_delete=models.CASCADE, related_name="+")
    amount = models.BigIntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(amount__gte=0),
                                              name="cash_drawer_float_not_negative")]

    def __str__(self):
        return f"@{self.location_id}: {self.amount}"
