"""What a delivery attempt came to, written on its row: success; a failure retried after a
back-off (or held with its platform after a 429); or, past the retry budget, a failed
delivery in the exception queue.

The engine (`delivery`), the order sender (`injection`) and the stock pusher
(`stock_sync`) all record outcomes here; this module imports none of them.
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.connectors.enums import DeliveryKind, DeliveryStatus
from apps.connectors.http import PlatformError
from apps.connectors.models import Delivery, PlatformConnection
from apps.connectors.services.routing import queue_stock_pushes
from apps.core.enums import ExceptionKind
from apps.core.services import open_exception, resolve_exceptions_by_key
from apps.orders.selectors import units_by_variant


def delivery_exception_key(subject_key: str) -> str:
    return f"delivery:{subject_key}"


def append_history(delivery: Delivery, *, ok: bool, error: str = "", note: str = "") -> None:
    entry = {"at": timezone.now().isoformat(), "attempt": delivery.attempts, "ok": ok}
    if error:
        entry["error"] = error[:1000]
    if note:
        entry["note"] = note
    delivery.history = [*delivery.history[-19:], entry]


def record_success(delivery: Delivery, *, external_ref: str = "", note: str = "") -> None:
    append_history(delivery, ok=True, note=note)
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
    append_history(delivery, ok=False, error=str(error))
    delivery.last_error = str(error)[:2000]
    delivery.lease_expires_at = None
    out_of_budget = delivery.attempts >= settings.DELIVERY_MAX_ATTEMPTS
    if error.retryable and not out_of_budget:
        delay = backoff_seconds(delivery.attempts, error.retry_after)
        delivery.next_attempt_at = timezone.now() + timedelta(seconds=delay)
        if error.retry_after:
            _hold_platform(delivery, delivery.next_attempt_at)
        save_as_pending(delivery)
        return
    with transaction.atomic():
        delivery.status = DeliveryStatus.FAILED
        delivery.save()
        recount_units_of(delivery)
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


def save_as_pending(delivery: Delivery) -> None:
    delivery.status = DeliveryStatus.PENDING
    try:
        with transaction.atomic():
            delivery.save()
    except IntegrityError:
        # A newer push for the same item is already waiting and will carry the newest level.
        delivery.status = DeliveryStatus.CANCELED
        append_history(delivery, ok=False, note="superseded by a newer pending push")
        delivery.save()


def recount_units_of(delivery: Delivery) -> None:
    """An order stopped (or started again) being on its way to a POS: the units it holds on
    that POS's count are pushed again (see `injection_rule`)."""
    if delivery.kind != DeliveryKind.INJECT_ORDER or not PlatformConnection.objects.filter(
            platform=delivery.platform, location_id=delivery.location_id, pushes_stock=True).exists():
        return
    queue_stock_pushes(platform=delivery.platform, location_id=delivery.location_id,
                       variant_ids=units_by_variant(order_ids=[delivery.order_id]))


def _hold_platform(delivery: Delivery, until) -> None:
    """A 429 speaks for the whole platform account at that location: everything waiting
    for it waits until Retry-After has passed."""
    Delivery.objects.filter(platform=delivery.platform, location_id=delivery.location_id,
                            status=DeliveryStatus.PENDING, next_attempt_at__lt=until).update(
        next_attempt_at=until)
