"""Inbound: webhooks and polled records, stored first, then turned into domain calls.

Connectors never write domain tables: a platform sale becomes `record_external_order`,
a count or an 86 becomes an inventory service call. Each event is processed on its own,
so one bad record becomes an exception and the others flow.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.connectors.enums import InboundStatus, Platform
from apps.connectors.locks import lock_inbound_events
from apps.connectors.models import InboundEvent, PlatformConnection, StockSyncState
from apps.connectors.platforms import connector_platform
from apps.connectors.selectors import (
    buffer_units,
    connection_by_external_id,
    stock_owner,
    variant_for_external_id,
)
from apps.connectors.services.stock_sync import count_platform_sale
from apps.core.enums import ExceptionKind
from apps.core.errors import ValidationFailed
from apps.core.redaction import credential_free_headers
from apps.core.services import open_exception, resolve_exceptions_by_key
from apps.core.strict_json import storable_text
from apps.customers.services import normalize_phone
from apps.inventory.services import apply_platform_count, set_item_86d
from apps.orders import services as orders

logger = logging.getLogger(__name__)


class UnreadablePayload(ValueError):
    """A delivery whose signature holds but whose content makes no sense as events."""


@dataclass(frozen=True)
class EventEnvelope:
    """One event inside a delivery (a Clover POST can carry several). A platform module's
    `parse` builds these from the platform's JSON, so the types are checked here, once."""

    event_id: str
    topic: str
    payload: dict
    occurred_at: datetime | None = None

    def __post_init__(self):
        if not isinstance(self.event_id, str) or not self.event_id:
            raise UnreadablePayload("the event id is not a string")
        if not isinstance(self.topic, str):
            raise UnreadablePayload("the event type is not a string")
        if not isinstance(self.payload, dict):
            raise UnreadablePayload("the event is not a JSON object")
        if self.occurred_at is not None:
            object.__setattr__(self, "occurred_at", _storable_moment(self.occurred_at))


def _storable_moment(moment) -> datetime:
    if not isinstance(moment, datetime):
        raise UnreadablePayload("the event time is not a time")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # year 1 with a positive offset: before what a datetime holds
        raise UnreadablePayload("the event time is out of range") from None


class SkipEvent(Exception):
    """The event needs no work (not for us, already superseded)."""


class UnmappedItems(Exception):
    def __init__(self, references: list[str]):
        super().__init__(", ".join(references))
        self.references = references


def connected_link(platform: str, external_location_id) -> PlatformConnection:
    """The connection an event names (a Square location, a Toast restaurant, a Clover
    merchant, a Shopify location); none: the event is not ours to apply."""
    link = connection_by_external_id(platform=platform, external_location_id=str(external_location_id or ""))
    if link is None:
        raise SkipEvent(f"{Platform(platform).label} location {external_location_id} is not connected "
                        "to Concord")
    return link


def header(headers: dict, name: str) -> str | None:
    """A request header by name, whatever its case (platforms and proxies differ)."""
    return next((value for key, value in headers.items() if key.lower() == name.lower()), None)


UNREADABLE_TOPIC = "unreadable"


def storable_headers(headers: dict) -> dict:
    """Headers as a jsonb column takes them (NUL written as an escape), without credentials
    (Authorization, X-Clover-Auth, signatures): a stored event must not hand them on."""
    return {storable_text(str(name)): storable_text(str(value))
            for name, value in credential_free_headers(headers).items()}


def store_unreadable(*, platform: str, body: bytes, headers: dict, reason: str) -> None:
    """A verified delivery that does not read as events: kept whole and acknowledged (the
    platform would only send it again for hours), and put in the queue for a person at
    once, as no retry can make sense of it. A redelivery of the same bytes only counts."""
    event_id = f"{UNREADABLE_TOPIC}:{hashlib.sha256(body).hexdigest()}"
    reason = storable_text(reason)[:2000]
    with transaction.atomic():
        event, created = InboundEvent.objects.get_or_create(
            platform=platform, event_id=event_id,
            defaults={"topic": UNREADABLE_TOPIC, "headers": storable_headers(headers), "body": body,
                      "payload": {}, "verified": True, "status": InboundStatus.FAILED,
                      "last_error": reason, "processed_at": timezone.now()},
        )
        if not created:
            InboundEvent.objects.filter(pk=event.pk).update(deliveries=F("deliveries") + 1)
            return
        open_exception(
            kind=ExceptionKind.INBOUND_FAILED, title=f"{platform} sent an event Concord cannot read",
            detail=reason, platform=platform, dedupe_key=f"inbound:{event.pk}",
            data={"inbound_event_id": event.pk, "event_id": event_id},
        )


def store_events(*, platform: str, envelopes: list[EventEnvelope], body: bytes, headers: dict,
                 verified: bool) -> list[int]:
    """Store each event once (a redelivery only counts); returns ids still to process."""
    ids = []
    for envelope in envelopes:
        with transaction.atomic():
            event, created = lock_inbound_events().get_or_create(
                platform=platform, event_id=envelope.event_id[:255],
                defaults={"topic": envelope.topic[:100], "headers": storable_headers(headers), "body": body,
                          "payload": envelope.payload, "verified": verified,
                          "occurred_at": envelope.occurred_at},
            )
            if not created:
                InboundEvent.objects.filter(pk=event.pk).update(deliveries=F("deliveries") + 1)
            if event.status == InboundStatus.PENDING:
                ids.append(event.pk)
    return ids


def process_inbound_event(event_id: int) -> str:
    """Run one stored event through its platform's handler. Safe to repeat.

    The event is claimed for a while (a killed worker's claim runs out), then handled
    outside any transaction of ours: a handler may call the platform (webhooks that carry
    only ids), and each domain call it makes is its own transaction and idempotent, so an
    event interrupted half way is simply applied again. A platform module may also fetch
    in its `prepare(event)`; the handler finds the result on `event.prepared`."""
    now = timezone.now()
    claimed = InboundEvent.objects.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now), pk=event_id, status=InboundStatus.PENDING,
    ).update(claimed_until=now + timedelta(seconds=settings.INBOUND_CLAIM_SECONDS),
             attempts=F("attempts") + 1)
    if not claimed:
        return "not pending"
    event = InboundEvent.objects.get(pk=event_id)
    inbound = connector_platform(event.platform).inbound
    try:
        event.prepared = inbound.prepare(event) if inbound.prepare is not None else None
        inbound.handle(event)
    except SkipEvent as skip:
        return _finish(event, InboundStatus.IGNORED, str(skip))
    except UnmappedItems as unmapped:
        _open_unmapped(event, unmapped.references)
        return _finish(event, InboundStatus.FAILED, f"unmapped: {unmapped}")
    except Exception as error:
        level = logging.INFO if getattr(error, "retryable", False) else logging.WARNING
        logger.log(level, "inbound event %s failed: %r", event.pk, error)
        return _failed_attempt(event, error)
    if event.last_error:  # it failed before, and may have an exception open
        resolve_exceptions_by_key(dedupe_key=f"inbound:{event.pk}", reason="processed")
    return _finish(event, InboundStatus.PROCESSED)


def replay_event(event_id: int) -> str:
    """Process a stored event again, whatever happened to it before."""
    InboundEvent.objects.filter(pk=event_id).update(status=InboundStatus.PENDING, attempts=0,
                                                    claimed_until=None)
    return process_inbound_event(event_id)


def _finish(event: InboundEvent, status: str, note: str = "") -> str:
    event.status = status
    event.last_error = note[:2000]
    event.processed_at = timezone.now()
    event.claimed_until = None
    event.save(update_fields=["status", "last_error", "processed_at", "claimed_until"])
    return status


# A payload missing what its handler reads, or holding it in the wrong type, reads the
# same way on every attempt: it goes to a person at once instead of retrying for minutes.
SENSELESS_PAYLOAD = (UnreadablePayload, KeyError, TypeError, AttributeError)


def _failed_attempt(event: InboundEvent, error: Exception) -> str:
    event.last_error = str(error)[:2000] or repr(error)[:2000]
    if isinstance(error, KeyError):
        event.last_error = f"the event has no {error} field"
    if event.attempts < settings.INBOUND_MAX_ATTEMPTS and not isinstance(error, SENSELESS_PAYLOAD):
        # Try again after a pause that grows with each attempt.
        event.claimed_until = timezone.now() + timedelta(seconds=min(60, 2 ** event.attempts))
        event.save(update_fields=["last_error", "claimed_until"])
        return "retry"
    open_exception(
        kind=ExceptionKind.INBOUND_FAILED, title=f"{event.platform} {event.topic} event could not be applied",
        detail=event.last_error, platform=event.platform, dedupe_key=f"inbound:{event.pk}",
        data={"inbound_event_id": event.pk, "event_id": event.event_id, "payload": event.payload},
    )
    return _finish(event, InboundStatus.FAILED, event.last_error)


def _open_unmapped(event: InboundEvent, references: list[str]) -> None:
    for reference in references:
        open_exception(
            kind=ExceptionKind.UNMAPPED_SKU,
            title=f"{event.platform} sold an item Concord cannot map: {reference}",
            detail="Map it (or pull the catalog), then replay the event: "
                   f"python manage.py replay_event {event.pk}",
            platform=event.platform, dedupe_key=f"unmapped:{event.platform}:{reference}",
            data={"reference": reference, "inbound_event_ids": [event.pk], "candidates": []},
        )


def pending_event_ids(limit: int = 200, platform: str | None = None) -> list[int]:
    now = timezone.now()
    events = InboundEvent.objects.filter(status=InboundStatus.PENDING)
    if platform is not None:
        events = events.filter(platform=platform)
    return list(events
                .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
                .order_by("id").values_list("id", flat=True)[:limit])


# ---------------------------------------------------------------- what handlers call


@dataclass(frozen=True)
class PlatformLine:
    quantity: int
    external_id: str = ""  # the platform's variant id
    sku: str = ""  # when the platform carries our SKU on the line
    unit_price: int | None = None
    modifier_skus: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlatformOrder:
    platform: str
    link: PlatformConnection
    external_id: str
    lines: list[PlatformLine]
    placed_at: datetime
    channel: str
    fulfillment_type: str
    already_fulfilled: bool
    total: int | None = None  # the platform's total without tips
    customer: orders.CustomerInput = field(default_factory=orders.CustomerInput)
    tax: int | None = None  # as the platform computed it; None: the platform reported none
    discount: int | None = None  # the platform's order-level discount
    tenders: tuple[orders.TenderFact, ...] = ()  # its payments; none: one external tender


def platform_customer(*, link: PlatformConnection, platform_customer_id: object = "", name: str = "",
                      email: str = "", phone: str = "") -> orders.CustomerInput:
    """The shopper a platform names, the phone read in the store's country (a number
    that cannot be read is left out: the email and the platform's id still match)."""
    try:
        e164 = normalize_phone(phone or "", region=link.location.country)
    except ValidationFailed:
        e164 = ""
    return orders.CustomerInput(name=" ".join((name or "").split()), email=(email or "").strip(),
                                phone=e164, platform_customer_id=str(platform_customer_id or ""))


def platform_source_name(platform: str) -> str:
    return Platform(platform).label


def record_platform_order(order: PlatformOrder):
    """A sale the platform made: recorded once, whenever and however often it arrives."""
    lines, unmapped = [], []
    for line in order.lines:
        sku = _resolve_sku(order.platform, order.link, line)
        if sku is None:
            unmapped.append(line.sku or line.external_id)
            continue
        lines.append(orders.LineInput(sku=sku, quantity=line.quantity, unit_price=line.unit_price,
                                      modifiers=tuple(orders.ModifierInput(m) for m in line.modifier_skus)))
    if unmapped:
        raise UnmappedItems(unmapped)
    with transaction.atomic():
        record, created = orders.record_external_order(order=orders.ExternalOrderInput(
            channel=order.channel, source_name=platform_source_name(order.platform),
            external_id=order.external_id, location_code=order.link.location.code, lines=tuple(lines),
            placed_at=order.placed_at, fulfillment_type=order.fulfillment_type,
            already_fulfilled=order.already_fulfilled, customer=order.customer, total=order.total,
            platform=order.platform, tax=order.tax, discount=order.discount, tenders=order.tenders,
        ))
        if created:
            for line in record.lines.all():
                count_platform_sale(platform=order.platform, location_id=order.link.location_id,
                                    variant_id=line.variant_id, quantity=line.quantity)
    if not created and record.customer_id is None and _names_someone(order.customer):
        orders.attach_late_customer(order_id=record.pk, customer=order.customer, platform=order.platform,
                                    region=order.link.location.country, actor=f"{order.platform} intake")
    return record, created


def _names_someone(customer: orders.CustomerInput) -> bool:
    return bool(customer.email or customer.phone or customer.platform_customer_id)


def _resolve_sku(platform: str, link: PlatformConnection, line: PlatformLine) -> str | None:
    from apps.catalog.models import Variant

    if line.external_id:
        variant = variant_for_external_id(platform=platform, external_id=line.external_id,
                                          location_id=link.location_id)
        if variant is not None:
            return variant.sku
    if line.sku and Variant.objects.filter(sku=line.sku).exists():
        return line.sku
    return None


def record_platform_stock(*, platform: str, link: PlatformConnection, external_id: str,
                          quantity: int | None, available: bool | None, occurred_at: datetime) -> str:
    """A count or an 86 reported by a platform. An 86 is the store's call and always
    applies; a count applies only where that platform owns stock. Older reports than the
    last one applied are ignored (an offline register syncing late)."""
    variant = variant_for_external_id(platform=platform, external_id=external_id,
                                      location_id=link.location_id)
    if variant is None:
        raise UnmappedItems([external_id])
    state, _ = StockSyncState.objects.get_or_create(platform=platform, location_id=link.location_id,
                                                    variant_id=variant.pk)
    if state.observed_at and occurred_at < state.observed_at:
        return "stale"
    outcome, fields = [], {"observed_at": occurred_at}
    if available is not None:
        set_item_86d(location_id=link.location_id, variant_id=variant.pk, is_86d=not available,
                     actor=f"{platform} webhook")
        fields["pushed_86d"] = not available
        outcome.append("86d" if not available else "available")
    if quantity is not None:
        if stock_owner(link.location_id) == platform:
            _apply_owned_count(platform, link, variant.pk, quantity)
            fields["pushed_available"] = quantity
            outcome.append("count applied")
        else:
            outcome.append("count observed")
        fields["platform_quantity"] = quantity
    # Only these fields: the engine moves the row's push intent meanwhile, and writing the
    # whole row back would bring an old intent back to life.
    StockSyncState.objects.filter(pk=state.pk).update(**fields)
    return ", ".join(outcome) or "nothing to do"


def _apply_owned_count(platform: str, link: PlatformConnection, variant_id: int, quantity: int) -> None:
    """The platform's count is available-to-sell there; on hand is that plus what is held."""
    apply_platform_count(location_id=link.location_id, variant_id=variant_id, available=quantity,
                         buffer=buffer_units(platform=platform, location_id=link.location_id),
                         reference=f"{platform} count", actor=f"{platform} webhook")
