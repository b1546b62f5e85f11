from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.core.enums import ApiRole, Channel, ExceptionKind, ExceptionStatus


class ApiClient(models.Model):
    """A machine caller of the public API (a phone vendor, a custom checkout).

    The key is shown once; only its SHA-256 is kept. A channel key (no role) is bound to
    one channel, every order it writes carries that channel, and it sees only the orders
    it placed itself. A staff key (a role) is for an integration that works on every
    channel's orders.
    """

    name = models.CharField(max_length=100)
    channel = models.CharField(max_length=20, choices=Channel.choices, blank=True,
                               help_text="A channel key's channel; empty for a staff key.")
    role = models.CharField(max_length=32, choices=ApiRole.choices, blank=True,
                            help_text="Empty for a channel key; a staff key's role.")
    key_prefix = models.CharField(max_length=16, help_text="First characters, to recognise a key.")
    key_hash = models.CharField(max_length=64, unique=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.channel or self.role}, {self.key_prefix}…)"

    # DRF treats request.user as authenticated when this is true.
    is_authenticated = True


class IdempotencyRecord(models.Model):
    """One API write per (client, key): the request's hash and the answer it got.

    The row is inserted at the start of the write's transaction, so a concurrent request
    with the same key waits on the unique index until the first commits, then replays.
    """

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE)
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "key"], name="idempotency_client_key_unique"),
        ]

    def __str__(self):
        return f"{self.client_id}:{self.key}"


class OutboxEvent(models.Model):
    """A domain change other systems must hear about, written in the change's transaction."""

    topic = models.CharField(max_length=64)
    aggregate_type = models.CharField(max_length=32)
    aggregate_id = models.BigIntegerField()
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["id"], name="outbox_undispatched", condition=Q(dispatched_at__isnull=True)
            ),
            # An order's timeline reads its changes (the outbox keeps every one).
            models.Index(fields=["aggregate_type", "aggregate_id"], name="outbox_by_aggregate"),
        ]

    def __str__(self):
        return f"{self.topic} {self.aggregate_type}#{self.aggregate_id}"


class ExceptionItem(models.Model):
    """Something a person must look at: an oversell, an unmapped SKU, a failed delivery.

    `dedupe_key` keeps one open item per cause; a resolved or ignored item frees the key.
    """

    kind = models.CharField(max_length=32, choices=ExceptionKind.choices)
    status = models.CharField(
        max_length=16, choices=ExceptionStatus.choices, default=ExceptionStatus.OPEN
    )
    title = models.CharField(max_length=255)
    detail = models.TextField(blank=True)
    platform = models.CharField(max_length=20, blank=True)
    location_code = models.CharField(max_length=16, blank=True)
    dedupe_key = models.CharField(max_length=255, blank=True)
    data = models.JSONField(default=dict, blank=True)
    units = models.IntegerField(default=0, help_text="Units involved, for ranking.")
    value_amount = models.BigIntegerField(default=0, help_text="Value involved, minor units.")
    currency = models.CharField(max_length=3, blank=True)
    occurrences = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    close_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["dedupe_key"],
                condition=Q(status="open") & ~Q(dedupe_key=""),
                name="exception_one_open_per_cause",
            ),
        ]
        indexes = [models.Index(fields=["status", "kind"])]

    def __str__(self):
        return f"[{self.kind}] {self.title}"


class AuditEntry(models.Model):
    """Who did what, when: the trail for actions people and API clients take."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    actor_client = models.ForeignKey(ApiClient, null=True, blank=True, on_delete=models.SET_NULL)
    actor_label = models.CharField(max_length=100, blank=True)
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "audit entries"
        # An order's timeline and an exception's history read what people did to it.
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_by_object")]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.object_type}#{self.object_id}"


class SharedGeneration(models.Model):
    """A counter every process reads to know that its memo of some rows is stale (API keys:
    a revoked key is refused on its next request in every process, not after a TTL)."""

    name = models.CharField(max_length=64, primary_key=True)
    value = models.BigIntegerField(default=0)

    def __str__(self):
        return f"{self.name}={self.value}"


class WorkerHeartbeat(models.Model):
    """One row per worker process, touched every few seconds while it lives (/healthz)."""

    worker = models.CharField(max_length=128, unique=True, help_text="host:pid")
    started_at = models.DateTimeField()
    beat_at = models.DateTimeField(db_index=True)

    def __str__(self):
        return f"{self.worker} {self.beat_at:%H:%M:%S}"


class SignInFailure(models.Model):
    """A failed sign-in (admin or back office), counted per account and per address to
    refuse further attempts for a while after too many."""

    username = models.CharField(max_length=150, db_index=True)
    address = models.GenericIPAddressField(null=True, blank=True, db_index=True)
    failed_at = models.DateTimeField(db_index=True)

    def __str__(self):
        return f"{self.username!r} from {self.address} at {self.failed_at:%H:%M:%S}"

    @staticmethod
    def account(username: str) -> str:
        """How a username is counted: whatever its case, at most the column's length."""
        return username.lower()[:150]
