"""What an admin sets for the sync engine: units held back per platform, and which
system owns each domain. Each change is audited, and a buffer change is pushed at once."""

from __future__ import annotations

from django.db import transaction

from apps.connectors.enums import OWNER_CHOICES, Domain, Platform
from apps.connectors.models import ChannelBuffer, OwnershipRule
from apps.connectors.services.routing import queue_stock_pushes
from apps.core.errors import ValidationFailed
from apps.core.services import record_audit
from apps.inventory.selectors import levels_by_variant

MAX_BUFFER_UNITS = 10_000


def set_channel_buffer(*, platform: str, location_id: int, units: int, user=None) -> ChannelBuffer:
    """Hold `units` back from `platform` at the location; every item there is pushed again."""
    if platform not in Platform.values:
        raise ValidationFailed(f"Unknown platform {platform!r}.", field="platform")
    if not 0 <= units <= MAX_BUFFER_UNITS:
        raise ValidationFailed(f"A buffer is 0 to {MAX_BUFFER_UNITS} units.", field="units")
    with transaction.atomic():
        buffer, _ = ChannelBuffer.objects.update_or_create(
            platform=platform, location_id=location_id, defaults={"units": units})
        queue_stock_pushes(platform=platform, location_id=location_id,
                           variant_ids=levels_by_variant(location_id=location_id))
        record_audit(action="channel_buffer.set", obj=buffer, actor_user=user,
                     actor_label=getattr(user, "username", ""),
                     data={"platform": platform, "location_id": location_id, "units": units})
    return buffer


def set_owner(*, domain: str, location_id: int | None, owner: str, user=None) -> OwnershipRule:
    """The source of truth for `domain` at a location (None: every location without its own)."""
    if domain not in Domain.values:
        raise ValidationFailed(f"Unknown domain {domain!r}.", field="domain")
    if owner not in dict(OWNER_CHOICES):
        raise ValidationFailed(f"Unknown owner {owner!r}.", field="owner")
    with transaction.atomic():
        rule, _ = OwnershipRule.objects.update_or_create(
            domain=domain, location_id=location_id, defaults={"owner": owner})
        record_audit(action="ownership.set", obj=rule, actor_user=user,
                     actor_label=getattr(user, "username", ""),
                     data={"domain": domain, "location_id": location_id, "owner": owner})
    return rule


def replay_inbound_event(*, event_id: int, payload: dict | None = None, user=None) -> str:
    """Apply a stored event again, with its payload corrected by a person when one is given.
    The raw body stays as it arrived; the correction and the replay are audited. The event
    is applied after this transaction, the way the worker applies it."""
    from apps.connectors.models import InboundEvent
    from apps.connectors.services.intake import replay_event
    from apps.core.errors import NotFound

    who = {"actor_user": user, "actor_label": getattr(user, "username", "")}
    with transaction.atomic():
        event = InboundEvent.objects.select_for_update().filter(pk=event_id).first()
        if event is None:
            raise NotFound(f"No stored event #{event_id}.")
        if payload is not None and payload != event.payload:
            record_audit(action="inbound_event.amended", obj=event, **who,
                         data={"before": event.payload, "after": payload})
            InboundEvent.objects.filter(pk=event.pk).update(payload=payload)
        record_audit(action="inbound_event.replayed", obj=event, **who)
    return replay_event(event_id)
