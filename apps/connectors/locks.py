"""Row locks of the connectors, always taken in primary-key order so writers cannot deadlock.

The claims (`claim_*`) skip rows another worker holds: each worker takes a share of the
work and none waits for another. The delivery claim itself is one UPDATE
(`services.delivery._CLAIM_SQL`) that locks the same way, in id order, SKIP LOCKED.
"""

from django.db.models import Q

from apps.connectors.enums import DeliveryStatus
from apps.connectors.models import Delivery, InboundEvent, StockSyncState
from apps.core.models import OutboxEvent

_OWN_ROWS = ("self",)


def lock_sync_states(*, platform: str, location_id: int, variant_ids, pending_keys=()):
    """The push states of these items, and with `pending_keys`, of every item whose
    recorded push waits under one of those keys."""
    items = Q(variant_id__in=variant_ids)
    if pending_keys:
        items |= Q(pending_key__in=pending_keys)
    return StockSyncState.objects.filter(items, platform=platform, location_id=location_id) \
        .order_by("pk").select_for_update(of=_OWN_ROWS)


def lock_inbound_events():
    """Stored inbound events, to store one at most once (`get_or_create` under the lock)."""
    return InboundEvent.objects.order_by("pk").select_for_update(of=_OWN_ROWS)


def claim_undispatched_outbox(*, limit: int) -> list[OutboxEvent]:
    return list(OutboxEvent.objects.filter(dispatched_at__isnull=True)
                .order_by("pk").select_for_update(of=_OWN_ROWS, skip_locked=True)[:limit])


def claim_expired_leases(*, now, limit: int) -> list[Delivery]:
    """In-flight deliveries whose lease ran out before their worker finished."""
    return list(Delivery.objects.filter(status=DeliveryStatus.IN_FLIGHT, lease_expires_at__lt=now)
                .order_by("pk").select_for_update(of=_OWN_ROWS, skip_locked=True)[:limit])
