"""Which orders a POS is owed: web and phone orders go to the POS of their store, unless
they came from it. Until such an order lands there it is on its way to that POS, and the
POS's count still holds its units (it takes them off when the order lands).

One rule, asked two ways: of one outbox row when routing fans it out (`owes_injection`),
and in SQL of every row not fanned out yet when a push counts what is on its way
(`undispatched_rows_owed_to`). Both are written from the terms below, side by side, and
tests hold them to the same answers.
"""

from __future__ import annotations

from django.db.models import QuerySet

from apps.connectors.enums import Platform
from apps.connectors.models import PlatformConnection
from apps.core import topics
from apps.core.enums import Channel
from apps.core.models import OutboxEvent

INJECTED_TOPICS = (topics.ORDER_CREATED, topics.ORDER_RECORDED)
INJECTED_CHANNELS = (Channel.WEB, Channel.PHONE)


def source_name_of(platform: str) -> str:
    """The `source_name` a platform's own orders carry (its label), whatever its case."""
    return Platform(platform).label


def owes_injection(*, topic: str, payload: topics.OrderPayload, link: PlatformConnection) -> bool:
    return (link.receives_orders
            and topic in INJECTED_TOPICS
            and payload.get("location_id") == link.location_id
            and payload.get("channel") in INJECTED_CHANNELS
            and (payload.get("source_name") or "").lower() != source_name_of(link.platform).lower())


def owes_void(*, topic: str, payload: topics.OrderPayload, link: PlatformConnection) -> bool:
    """A canceled order this POS was owed may be a ticket there: it is voided there too.
    Whether it ever landed is asked when the void is sent (`services.lifecycle`)."""
    return topic == topics.ORDER_CANCELED and owes_injection(
        topic=topics.ORDER_CREATED, payload=payload, link=link)


def undispatched_rows_owed_to(link: PlatformConnection) -> QuerySet[OutboxEvent]:
    """Outbox rows not fanned out yet whose order this POS is owed (`owes_injection`)."""
    if not link.receives_orders:
        return OutboxEvent.objects.none()
    return OutboxEvent.objects.filter(
        dispatched_at__isnull=True,
        topic__in=INJECTED_TOPICS,
        payload__location_id=link.location_id,
        payload__channel__in=INJECTED_CHANNELS,
    ).exclude(payload__source_name__iexact=source_name_of(link.platform))
