"""django-q2 entry points of the kernel."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from apps.core.models import IdempotencyRecord


def purge_idempotency_keys_task() -> int:
    """Forget idempotency keys older than the retention (at least 24 hours, 48 by default)."""
    hours = max(24, settings.IDEMPOTENCY_KEY_TTL_HOURS)
    cutoff = timezone.now() - timedelta(hours=hours)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
