"""The delivery engine: claim due deliveries, call the platform, record what happened
(`outcomes`).

A delivery row is the durable record. Claiming sets a lease; a worker killed mid-call
leaves a lease that expires and the row is sent again (each platform call is idempotent
by a key derived from our ids, or looked up before a retry). Failures back off
exponentially with jitter and honour Retry-After; past the retry budget a delivery
becomes an exception a person can retry, resolve or ignore.
"""

from __future__ import annotations

import logging
from collections import defaultdict

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from apps.connectors.enums import DeliveryKind, DeliveryStatus
from apps.connectors.http import PlatformError
from apps.connectors.locks import claim_expired_leases
from apps.connectors.models import Delivery, PlatformConnection
from apps.connectors.services import injection, lifecycle, refunds, stock_sync
from apps.connectors.services.outcomes import (
    append_history,
    record_failure,
    recount_units_of,
    save_as_pending,
)
from apps.core.enums import ExceptionKind, ExceptionStatus
from apps.core.errors import InvalidTransition, NotFound
from apps.core.models import ExceptionItem, OutboxEvent
from apps.core.services import close_exception, record_audit

logger = logging.getLogger(__name__)

_CLAIM_SQL = f"""
UPDATE {Delivery._meta.db_table} AS d
SET status = 'in_flight', attempts = d.attempts + 1, updated_at = clock_timestamp(),
    lease_expires_at = clock_timestamp() + make_interval(secs => %(lease)s)
WHERE d.id IN (
    SELECT c.id FROM {Delivery._meta.db_table} AS c
    WHERE c.status = 'pending' AND c.next_attempt_at <= clock_timestamp()
      AND (%(platform)s::text IS NULL OR c.platform = %(platform)s::text)
      AND NOT EXISTS (
          SELECT 1 FROM {Delivery._meta.db_table} AS o
          WHERE o.subject_key = c.subject_key AND o.status = 'in_flight'
      )
    ORDER BY c.id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
RETURNING d.id
"""


def requeue_expired_leases() -> int:
    """In-flight rows whose worker died: send again, or drop a stock push that a newer
    pending push for the same item supersedes."""
    now = timezone.now()
    with transaction.atomic():
        rows = claim_expired_leases(now=now, limit=500)
        for delivery in rows:
            append_history(delivery, ok=False, error="lease expired (worker stopped mid-call)")
            delivery.last_error = "lease expired (worker stopped mid-call)"
            delivery.lease_expires_at = None
            if _pending_twin_exists(delivery):
                delivery.status = DeliveryStatus.CANCELED
            else:
                delivery.status = DeliveryStatus.PENDING
                delivery.next_attempt_at = now
            delivery.save()
    return len(rows)


def claim_deliveries(*, platform: str | None = None, limit: int = 200) -> list[Delivery]:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, {"lease": settings.DELIVERY_LEASE_SECONDS, "platform": platform,
                                    "limit": limit})
        ids = [row[0] for row in cursor.fetchall()]
    return list(Delivery.objects.filter(pk__in=ids).order_by("id"))


def run_due_deliveries(*, platform: str | None = None, limit: int = 200) -> int:
    """Claim and send one batch. Returns how many deliveries were handled."""
    claimed = claim_deliveries(platform=platform, limit=limit)
    groups: dict[tuple, list[Delivery]] = defaultdict(list)
    for delivery in claimed:
        groups[(delivery.platform, delivery.location_id, delivery.kind)].append(delivery)
    for (platform_name, location_id, kind), deliveries in groups.items():
        _send_group(platform_name, location_id, kind, deliveries)
    return len(claimed)


def _send_group(platform: str, location_id: int, kind: str, deliveries: list[Delivery]) -> None:
    link = PlatformConnection.objects.filter(platform=platform, location_id=location_id,
                                             is_enabled=True).select_related("location").first()
    if link is None:
        for delivery in deliveries:
            record_failure(delivery, PlatformError(platform=platform, status=None, code="not_connected",
                                                   detail="the connection is off or gone"))
        return
    try:
        if kind == DeliveryKind.PUSH_STOCK:
            stock_sync.send_stock_pushes(link, deliveries)
        elif kind == DeliveryKind.VOID_ORDER:
            for delivery in deliveries:
                lifecycle.send_void(link, delivery)
        elif kind == DeliveryKind.REFUND_PART:
            refunds.send_refund_parts(link, deliveries)
        else:
            for delivery in deliveries:
                injection.send_order(link, delivery)
    except PlatformError as error:
        for delivery in deliveries:
            if delivery.status == DeliveryStatus.IN_FLIGHT:
                record_failure(delivery, error)
    except Exception as error:  # a bug or bad data must not stop the other groups
        logger.exception("delivery group %s/%s/%s failed", platform, location_id, kind)
        for delivery in deliveries:
            if delivery.status == DeliveryStatus.IN_FLIGHT:
                record_failure(delivery, PlatformError(platform=platform, status=None,
                                                       code="internal_error", detail=repr(error)[:500]))


def _pending_twin_exists(delivery: Delivery) -> bool:
    return (delivery.kind == DeliveryKind.PUSH_STOCK and Delivery.objects.filter(
        subject_key=delivery.subject_key, status=DeliveryStatus.PENDING).exclude(pk=delivery.pk).exists())


# ---------------------------------------------------------------- the exception queue


def _delivery_of_exception(exception_id: int) -> tuple[ExceptionItem, Delivery]:
    item = ExceptionItem.objects.filter(pk=exception_id, kind=ExceptionKind.DELIVERY_FAILED).first()
    if item is None:
        raise NotFound(f"No delivery exception #{exception_id}.")
    delivery = Delivery.objects.filter(pk=item.data.get("delivery_id")).first()
    if delivery is None:
        raise NotFound(f"Exception #{exception_id} names no delivery.")
    return item, delivery


def retry_failed_delivery(*, exception_id: int, user=None, actor_label: str = "") -> Delivery:
    """Send a failed delivery again from a fresh retry budget."""
    item, delivery = _delivery_of_exception(exception_id)
    if item.status != ExceptionStatus.OPEN:
        raise InvalidTransition(f"Exception #{exception_id} is {item.status}.")
    with transaction.atomic():
        delivery.attempts = 0
        delivery.next_attempt_at = timezone.now()
        append_history(delivery, ok=False, note=f"retried by {actor_label or user}")
        save_as_pending(delivery)
        recount_units_of(delivery)
        record_audit(action="delivery.retried", obj=delivery, actor_user=user, actor_label=actor_label)
    return delivery


def close_delivery_exception(*, exception_id: int, status: str, reason: str, user=None,
                             actor_label: str = "") -> ExceptionItem:
    return close_exception(exception_id=exception_id, status=status, reason=reason, user=user,
                           actor_label=actor_label)


def pending_counts() -> dict:
    """Numbers for /metrics and /healthz. Work not fanned out yet waits too: with no worker
    running, changes pile up in the outbox before any delivery exists."""
    now = timezone.now()
    waiting = Delivery.objects.filter(Q(status=DeliveryStatus.PENDING) | Q(status=DeliveryStatus.IN_FLIGHT))
    not_fanned_out = OutboxEvent.objects.filter(dispatched_at__isnull=True)
    oldest = [rows.order_by("created_at").values_list("created_at", flat=True).first()
              for rows in (waiting, not_fanned_out)]
    age = max(((now - at).total_seconds() for at in oldest if at), default=0.0)
    return {"pending": waiting.count(), "outbox": not_fanned_out.count(), "oldest_age_seconds": age}
