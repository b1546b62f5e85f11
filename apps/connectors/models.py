from django.db import models
from django.db.models import Q

from apps.connectors.enums import (
    CONCORD,
    OWNER_CHOICES,
    DeliveryKind,
    DeliveryStatus,
    Domain,
    InboundStatus,
    JobStatus,
    Platform,
)


class PlatformConnection(models.Model):
    """A Concord location as a platform knows it: a Square location, a Toast restaurant,
    a Clover merchant, a Shopify location."""

    platform = models.CharField(max_length=16, choices=Platform.choices)
    location = models.ForeignKey("inventory.Location", on_delete=models.CASCADE,
                                 related_name="platform_connections")
    external_location_id = models.CharField(max_length=64)
    is_enabled = models.BooleanField(default=True)
    receives_orders = models.BooleanField(
        default=False, help_text="This location's web and phone orders are sent to this platform.")
    pushes_stock = models.BooleanField(default=True, help_text="Availability is pushed here.")
    settings = models.JSONField(default=dict, blank=True)
    polled_at = models.DateTimeField(null=True, blank=True, help_text="When a worker last polled it.")

    class Meta:
        ordering = ["platform", "location__code"]
        constraints = [
            models.UniqueConstraint(fields=["platform", "location"], name="connection_per_location"),
            models.UniqueConstraint(fields=["platform", "external_location_id"],
                                    name="connection_external_unique"),
        ]

    def __str__(self):
        return f"{self.get_platform_display()} {self.external_location_id} ↔ {self.location_id}"


class ChannelBuffer(models.Model):
    """Units held back from one platform at one location (the web can keep 2 the till sells)."""

    platform = models.CharField(max_length=16, choices=Platform.choices)
    location = models.ForeignKey("inventory.Location", on_delete=models.CASCADE)
    units = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["platform", "location"], name="buffer_per_location"),
        ]

    def __str__(self):
        return f"{self.platform}@{self.location_id}: hold {self.units}"


class OwnershipRule(models.Model):
    """Which system is the source of truth for a domain, at one location or everywhere."""

    domain = models.CharField(max_length=16, choices=Domain.choices)
    location = models.ForeignKey("inventory.Location", null=True, blank=True, on_delete=models.CASCADE,
                                 help_text="Empty: the rule for every location without its own.")
    owner = models.CharField(max_length=16, choices=OWNER_CHOICES, default=CONCORD)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["domain", "location"], name="ownership_per_location"),
            models.UniqueConstraint(fields=["domain"], condition=Q(location__isnull=True),
                                    name="ownership_default_once"),
        ]

    def __str__(self):
        return f"{self.domain} at {self.location_id or 'all'} → {self.owner}"


class ExternalMapping(models.Model):
    """A platform's id for one of our variants or modifiers (per location where ids differ)."""

    KIND_VARIANT = "variant"
    KIND_MODIFIER = "modifier"

    platform = models.CharField(max_length=16, choices=Platform.choices)
    kind = models.CharField(max_length=16, choices=[(KIND_VARIANT, "Variant"),
                                                    (KIND_MODIFIER, "Modifier")])
    location = models.ForeignKey("inventory.Location", null=True, blank=True, on_delete=models.CASCADE)
    external_id = models.CharField(max_length=128)
    variant = models.ForeignKey("catalog.Variant", null=True, blank=True, on_delete=models.CASCADE,
                                related_name="external_mappings")
    modifier = models.ForeignKey("catalog.Modifier", null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="external_mappings")
    data = models.JSONField(default=dict, blank=True,
                            help_text="Platform extras: inventory item id, menu group, option group.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["platform", "kind", "location", "external_id"],
                                    name="mapping_external_unique", nulls_distinct=False),
        ]
        indexes = [models.Index(fields=["platform", "variant"]),
                   models.Index(fields=["platform", "modifier"])]

    def __str__(self):
        return f"{self.platform}:{self.external_id} → {self.variant_id or self.modifier_id}"


class InboundEvent(models.Model):
    """A webhook (or a polled record) exactly as it arrived, stored before we answer."""

    platform = models.CharField(max_length=16, choices=Platform.choices)
    event_id = models.CharField(max_length=255)
    topic = models.CharField(max_length=100, blank=True)
    headers = models.JSONField(default=dict)
    body = models.BinaryField()
    payload = models.JSONField(default=dict, blank=True, help_text="This event's part of the body.")
    verified = models.BooleanField(default=False)
    received_at = models.DateTimeField(auto_now_add=True)
    occurred_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=InboundStatus.choices, default=InboundStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    deliveries = models.PositiveIntegerField(default=1, help_text="How often the platform sent it.")
    claimed_until = models.DateTimeField(null=True, blank=True,
                                         help_text="A worker is applying it until then.")

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["platform", "event_id"], name="inbound_event_once"),
        ]
        indexes = [models.Index(fields=["status", "id"])]

    def __str__(self):
        return f"{self.platform} {self.topic} {self.event_id}"


class Delivery(models.Model):
    """One outbound call owed to one platform. The row is the durable record; a task only
    executes a claim on it. Pending stock pushes coalesce per (platform, location, variant)."""

    platform = models.CharField(max_length=16, choices=Platform.choices)
    kind = models.CharField(max_length=16, choices=DeliveryKind.choices)
    subject_key = models.CharField(max_length=128)
    location = models.ForeignKey("inventory.Location", on_delete=models.CASCADE)
    order_id = models.BigIntegerField(null=True, blank=True)
    variant_id = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    history = models.JSONField(default=list, blank=True)
    external_ref = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["subject_key"], condition=Q(status="pending"),
                                    name="delivery_one_pending_per_subject"),
        ]
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=Q(status="pending"),
                         name="delivery_due"),
            models.Index(fields=["lease_expires_at"], condition=Q(status="in_flight"),
                         name="delivery_leased"),
            models.Index(fields=["subject_key", "status"]),
            models.Index(fields=["platform", "location"],
                         condition=Q(kind="inject_order", status__in=["pending", "in_flight"]),
                         name="delivery_injection_on_the_way"),
            # The back office's reads: the last success and the failures per platform, an
            # order's timeline (created by backoffice 0001 first; 0009 made them the model's).
            models.Index(fields=["platform", "done_at"], condition=Q(status="done"),
                         name="delivery_done_by_platform"),
            models.Index(fields=["platform"], condition=Q(status="failed"),
                         name="delivery_failed_by_platform"),
            models.Index(fields=["order_id"], condition=Q(order_id__isnull=False), name="delivery_by_order"),
            # Clover's order webhook asks whether Concord sent that ticket (by the platform's id).
            models.Index(fields=["platform", "external_ref"], name="delivery_by_platform_ref"),
        ]
        verbose_name_plural = "deliveries"

    def __str__(self):
        return f"{self.kind} → {self.platform} ({self.subject_key}) {self.status}"


class StockSyncState(models.Model):
    """What a platform has been told about one variant at one location.

    `pushed_available` is the availability the platform reflects from Concord's side. A
    push sends only the difference from it (never a blind absolute count), and a sale the
    platform itself made lowers it when that sale is recorded, so the platform's own sales
    are never erased or counted twice."""

    platform = models.CharField(max_length=16, choices=Platform.choices)
    location = models.ForeignKey("inventory.Location", on_delete=models.CASCADE)
    variant = models.ForeignKey("catalog.Variant", on_delete=models.CASCADE)
    pushed_available = models.IntegerField(null=True, blank=True)
    platform_quantity = models.IntegerField(null=True, blank=True,
                                            help_text="The platform's count when last seen.")
    pushed_86d = models.BooleanField(default=False)
    pushes = models.PositiveIntegerField(default=0)
    # A push that was sent but not confirmed: re-sent as is (same key) before any new one.
    pending_delta = models.IntegerField(null=True, blank=True)
    pending_key = models.CharField(max_length=160, blank=True)
    pending_expected = models.IntegerField(
        null=True, blank=True, help_text="The compare value the pending push was sent with.")
    observed_at = models.DateTimeField(null=True, blank=True,
                                       help_text="When the platform's count was last reported.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["platform", "location", "variant"], name="sync_state_unique"),
        ]

    def __str__(self):
        return f"{self.platform}@{self.location_id}/{self.variant_id}: {self.pushed_available}"


class SyncJob(models.Model):
    """A long background job (a full catalog pull) and its progress."""

    platform = models.CharField(max_length=16, choices=Platform.choices)
    kind = models.CharField(max_length=32)
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"{self.kind} {self.platform} {self.status} {self.done}/{self.total}"
