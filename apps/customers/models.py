from django.db import models
from django.db.models import Q


class Customer(models.Model):
    """One person across channels. Matched by E.164 phone first, then by email."""

    name = models.CharField(max_length=200, blank=True)
    phone = models.CharField(max_length=20, blank=True, help_text="E.164")
    email = models.EmailField(blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["phone"], condition=~Q(phone=""), name="customer_phone_unique"),
        ]

    def __str__(self):
        return self.name or self.phone or self.email or f"Customer #{self.pk}"
