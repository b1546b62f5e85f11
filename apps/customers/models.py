from django.conf import settings
from django.db import models
from django.db.models import F, Q

from apps.customers.enums import (
    LOYALTY_CREDITS,
    LOYALTY_DEBITS,
    STORED_VALUE_CREDITS,
    STORED_VALUE_DEBITS,
    LoyaltyEntryKind,
    StoredValueEntryKind,
    StoredValueKind,
)


class Customer(models.Model):
    """One person across channels.

    Matching uses the identifier rows (CustomerEmail, CustomerPhone, CustomerExternalId),
    each unique, so one identifier belongs to one customer. `phone` and `email` are the
    primary contact shown on orders. A merged customer is a tombstone: `merged_into` names
    its survivor and it holds no identifiers.
    """

    name = models.CharField(max_length=200, blank=True)
    phone = models.CharField(max_length=20, blank=True, help_text="Primary phone, E.164.")
    email = models.EmailField(blank=True, db_index=True, help_text="Primary email.")
    notes = models.TextField(blank=True)
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="merged_from")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=~Q(merged_into=F("id")),
                                   name="customer_not_merged_into_itself"),
        ]

    def __str__(self):
        return self.name or self.phone or self.email or f"Customer #{self.pk}"

    @property
    def is_tombstone(self) -> bool:
        return self.merged_into_id is not None


class CustomerEmail(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="emails")
    email = models.CharField(max_length=254, unique=True, help_text="Stripped and lower-cased.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.email


class CustomerPhone(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="phones")
    phone = models.CharField(max_length=20, unique=True, help_text="E.164.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.phone


class CustomerExternalId(models.Model):
    """The customer's id on a platform (Shopify, Square, Clover, Toast)."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="external_ids")
    platform = models.CharField(max_length=20)
    external_id = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["platform", "external_id"],
                                    name="customer_external_id_unique"),
        ]

    def __str__(self):
        return f"{self.platform}:{self.external_id}"


class CustomerMerge(models.Model):
    """One merge of `other` into `survivor`: exactly which rows moved, so undo restores them."""

    survivor = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="merges_won")
    other = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="merges_lost")
    moved = models.JSONField(default=dict, help_text="Moved row ids per table, and balances.")
    before = models.JSONField(default=dict, help_text="Both customers' fields before the merge.")
    actor_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    actor_label = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                       on_delete=models.SET_NULL, related_name="+")
    undone_by_label = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["other"], condition=Q(undone_at__isnull=True),
                                    name="customer_merged_once"),
        ]

    def __str__(self):
        return f"Merge #{self.pk}: {self.other_id} into {self.survivor_id}"


class LoyaltyProgram(models.Model):
    """Points per currency unit spent, what a point is worth, and the least one may redeem."""

    name = models.CharField(max_length=100, default="Loyalty")
    points_per_unit = models.PositiveIntegerField(help_text="Points per whole currency unit.")
    point_value = models.PositiveIntegerField(help_text="Worth of one point, minor units.")
    min_redeem_points = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["is_active"], condition=Q(is_active=True),
                                    name="loyalty_one_active_program"),
        ]

    def __str__(self):
        return f"{self.name}: {self.points_per_unit} pt/unit, 1 pt = {self.point_value}"


class LoyaltyAccount(models.Model):
    customer = models.OneToOneField(Customer, on_delete=models.PROTECT, related_name="loyalty")
    balance = models.BigIntegerField(default=0, help_text="Points; the sum of the entries.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="loyalty_balance_not_negative"),
        ]

    def __str__(self):
        return f"Loyalty of customer #{self.customer_id}: {self.balance} pt"


class LoyaltyEntry(models.Model):
    """One change to a loyalty balance. Append-only; a merge re-points entries, nothing else."""

    account = models.ForeignKey(LoyaltyAccount, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=16, choices=LoyaltyEntryKind.choices)
    points = models.BigIntegerField(help_text="Signed: credits positive, debits negative.")
    order_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    refund_reference = models.CharField(max_length=255, blank=True)
    source_reference = models.CharField(
        max_length=255, blank=True, help_text="What caused it; unique per kind (idempotency).")
    note = models.CharField(max_length=255, blank=True)
    actor = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "loyalty entries"
        constraints = [
            models.UniqueConstraint(fields=["kind", "source_reference"],
                                    condition=~Q(source_reference=""),
                                    name="loyalty_entry_once_per_source"),
            models.CheckConstraint(
                condition=(Q(kind__in=LOYALTY_CREDITS, points__gt=0)
                           | Q(kind__in=LOYALTY_DEBITS, points__lt=0)
                           | (Q(kind=LoyaltyEntryKind.ADJUST) & ~Q(points=0))),
                name="loyalty_entry_sign_by_kind"),
        ]

    def __str__(self):
        return f"{self.kind} {self.points:+} pt (account #{self.account_id})"


class StoredValueAccount(models.Model):
    """A gift card (a code, maybe a customer) or a customer's store credit: money held for them."""

    kind = models.CharField(max_length=16, choices=StoredValueKind.choices)
    code = models.CharField(max_length=32, null=True, blank=True, unique=True)
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="stored_value_accounts")
    currency = models.CharField(max_length=3)
    balance = models.BigIntegerField(default=0, help_text="Minor units; the sum of the entries.")
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="stored_value_not_negative"),
            models.CheckConstraint(
                condition=(Q(kind=StoredValueKind.GIFT_CARD, code__isnull=False)
                           | Q(kind=StoredValueKind.STORE_CREDIT, customer__isnull=False,
                               code__isnull=True)),
                name="stored_value_card_has_code_credit_has_customer"),
            models.UniqueConstraint(fields=["customer", "currency"],
                                    condition=Q(kind=StoredValueKind.STORE_CREDIT),
                                    name="store_credit_one_per_customer_currency"),
        ]

    def __str__(self):
        label = self.code or f"customer #{self.customer_id}"
        return f"{self.get_kind_display()} {label}: {self.balance} {self.currency}"


class StoredValueEntry(models.Model):
    """One change to a stored-value balance. Append-only; a merge re-points store credit."""

    account = models.ForeignKey(StoredValueAccount, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=16, choices=StoredValueEntryKind.choices)
    amount = models.BigIntegerField(help_text="Signed minor units: credits positive.")
    order_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    refund_reference = models.CharField(max_length=255, blank=True)
    source_reference = models.CharField(max_length=255, blank=True)
    note = models.CharField(max_length=255, blank=True)
    actor = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "stored value entries"
        constraints = [
            models.UniqueConstraint(fields=["kind", "source_reference"],
                                    condition=~Q(source_reference=""),
                                    name="stored_value_entry_once_per_source"),
            models.CheckConstraint(
                condition=(Q(kind__in=STORED_VALUE_CREDITS, amount__gt=0)
                           | Q(kind__in=STORED_VALUE_DEBITS, amount__lt=0)
                           | (Q(kind=StoredValueEntryKind.ADJUST) & ~Q(amount=0))),
                name="stored_value_entry_sign_by_kind"),
        ]

    def __str__(self):
        return f"{self.kind} {self.amount:+} (account #{self.account_id})"
