"""The delivery engine: claim due deliveries, call the platform, record what happened.

A delivery row is the durable record. Claiming sets a lease; a worker killed mid-call
leaves a lease that expires and the row is sent again (each platform call is idempotent
by a key derived from our ids, or looked up before a retry). Failures back off
exponentially with jitter and honour Retry-After; past the retry budget a delivery
becomes an exception a person can retry, resolve or ignore.
"""

from __future__ import annotations

import logging
import random
from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from apps.connectors.enums import DeliveryKind, DeliveryStatus
from apps.connectors.http import PlatformError
from apps.connectors.models import Delivery, PlatformConnection
from apps.connectors.services.routing import queue_stock_pushes
from apps.core.enums import ExceptionKind, ExceptionStatus
from apps.core.errors import InvalidTransition, NotFound
from apps.core.models import ExceptionItem, OutboxEvent
from apps.core.services import close_exception, open_exception, record_audit, resolve_exceptions_by_key
from apps.orders.selectors import units_by_variant

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


def delivery_exception_key(subject_key: str) -> str:
    return f"delivery:{subject_key}"


def requeue_expired_leases() -> int:
    """In-flight rows whose worker died: send again, or drop a stock push that a newer
    pending push for the same item supersedes."""
    now = timezone.now()
    expired = Delivery.objects.filter(status=DeliveryStatus.IN_FLIGHT, lease_expires_at__lt=now)
    with transaction.atomic():
        rows = list(expired.select_for_update(skip_locked=True).order_by("id")[:500])
        for delivery in rows:
            _append_history(delivery, ok=False, error="lease expired (worker stopped mid-call)")
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
    from apps.connectors.services import injection, stock_sync

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


def _append_history(delivery: Delivery, *, ok: bool, error: str = "", note: str = "") -> None:
    entry = {"at": timezone.now().isoformat(), "attempt": delivery.attempts, "ok": ok}
    if error:
        entry["error"] = error[:1000]
    if note:
        entry["note"] = note
    delivery.history = [*delivery.history[-19:], entry]


def record_success(delivery: Delivery, *, external_ref: str = "", note: str = "") -> None:
    _append_history(delivery, ok=True, note=note)
    Delivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.DONE, done_at=timezone.now(), lease_expires_at=None,
        external_ref=external_ref or delivery.external_ref, history=delivery.history,
        last_error="", updated_at=timezone.now(),
    )
    delivery.status = DeliveryStatus.DONE
    resolve_exceptions_by_key(dedupe_key=delivery_exception_key(delivery.subject_key),
                              reason=f"delivery #{delivery.pk} to {delivery.platform} succeeded")


def backoff_seconds(attempts: int, retry_after: float | None) -> float:
    base = settings.DELIVERY_BACKOFF_BASE_SECONDS
    delay = min(settings.DELIVERY_BACKOFF_CAP_SECONDS, base * 2 ** max(0, attempts - 1))
    delay *= random.uniform(0.5, 1.5)
    return max(delay, retry_after or 0.0)


def record_failure(delivery: Delivery, error: PlatformError) -> None:
    _append_history(delivery, ok=False, error=str(error))
    delivery.last_error = str(error)[:2000]
    delivery.lease_expires_at = None
    out_of_budget = delivery.attempts >= settings.DELIVERY_MAX_ATTEMPTS
    if error.retryable and not out_of_budget:
        delay = backoff_seconds(delivery.attempts, error.retry_after)
        delivery.next_attempt_at = timezone.now() + timedelta(seconds=delay)
        if error.retry_after:
            _hold_platform(delivery, delivery.next_attempt_at)
        _save_as_pending(delivery)
        return
    with transaction.atomic():
        delivery.status = DeliveryStatus.FAILED
        delivery.save()
        _recount_units_of(delivery)
        open_exception(
            kind=ExceptionKind.DELIVERY_FAILED,
            title=f"{delivery.get_kind_display()} to {delivery.get_platform_display()} failed "
                  f"({delivery.subject_key})",
            detail=delivery.last_error, platform=delivery.platform,
            location_code=delivery.location.code if delivery.location_id else "",
            dedupe_key=delivery_exception_key(delivery.subject_key),
            data={"delivery_id": delivery.pk, "kind": delivery.kind, "order_id": delivery.order_id,
                  "variant_id": delivery.variant_id, "attempts": delivery.attempts,
                  "history": delivery.history, "retryable": error.retryable},
        )


def _save_as_pending(delivery: Delivery) -> None:
    delivery.status = DeliveryStatus.PENDING
    try:
        with transaction.atomic():
            delivery.save()
    except IntegrityError:
        # A newer push for the same item is already waiting and will carry the newest level.
        delivery.status = DeliveryStatus.CANCELED
        _append_history(delivery, ok=False, note="superseded by a newer pending push")
        delivery.save()


def _recount_units_of(delivery: Delivery) -> None:
    """An order stopped (or started again) being on its way to a POS: the units it holds on
    that POS's count are pushed again (see `selectors.units_awaiting_injection`)."""
    if delivery.kind != DeliveryKind.INJECT_ORDER or not PlatformConnection.objects.filter(
            platform=delivery.platform, location_id=delivery.location_id, pushes_stock=True).exists():
        return
    queue_stock_pushes(platform=delivery.platform, location_id=delivery.location_id,
                       variant_ids=units_by_variant(order_ids=[delivery.order_id]))


def _pending_twin_exists(delivery: Delivery) -> bool:
    return (delivery.kind == DeliveryKind.PUSH_STOCK and Delivery.objects.filter(
        subject_key=delivery.subject_key, status=DeliveryStatus.PENDING).exclude(pk=delivery.pk).exists())


def _hold_platform(delivery: Delivery, until) -> None:
    """A 429 speaks for the whole platform account at that location: everything waiting
    for it waits until Retry-After has passed."""
    Delivery.objects.filter(platform=delivery.platform, location_id=delivery.location_id,
                            status=DeliveryStatus.PENDING, next_attempt_at__lt=until).update(
        next_attempt_at=until)


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
        _append_history(delivery, ok=False, note=f"retried by {actor_label or user}")
        _save_as_pending(delivery)
        _recount_units_of(delivery)
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
