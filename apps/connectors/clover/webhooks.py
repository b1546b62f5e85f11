"""Clover → Concord: item and order webhooks (CONNECTORS.md §3.4).

Clover does not sign: every delivery carries the static Clover Auth Code in
`X-Clover-Auth`. One POST may name several merchants and events, ids only, so each event
becomes its own envelope (`<mId>:<objectId>:<type>:<ts>`) and `prepare` fetches the entity,
together with those of the other events waiting (`_as_it_is_now`).
Before the auth code exists Clover POSTs `{"verificationCode": ...}` once; `challenge`
answers it and logs the code for the operator to paste into the dashboard.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.http import HttpResponse
from django.utils import timezone

from apps.connectors.clover import signatures
from apps.connectors.clover.adapter import clover_client, is_sold_out
from apps.connectors.clover.client import IDS_PER_CALL
from apps.connectors.models import Delivery, ExternalMapping, InboundEvent, PlatformConnection
from apps.connectors.pos_common import flag_change, ran_out, whole_units
from apps.connectors.selectors import variant_for_external_id
from apps.connectors.services.intake import (
    EventEnvelope,
    PlatformLine,
    PlatformOrder,
    SkipEvent,
    UnmappedItems,
    UnreadablePayload,
    connected_link,
    header,
    platform_customer,
    record_platform_order,
    record_platform_stock,
)
from apps.connectors.services.lifecycle import (
    order_closed_at,
    order_id_of_reference,
    order_id_of_sale,
    order_id_of_ticket,
    order_voided_at,
)
from apps.connectors.services.refunds import ReportedRefund, refund_reported
from apps.core.enums import Channel
from apps.core.strict_json import loads_strict
from apps.orders.enums import FulfillmentType, TenderType
from apps.orders.services import CustomerInput, TenderFact

logger = logging.getLogger(__name__)

PLATFORM = "clover"
CONCORD_PREFIX = "concord:"
UNIT_QTY_SCALE = 1000  # [unverified] `unitQty` in thousandths, as the emulator reads it
# [unverified] whether `Payment.amount` includes `tipAmount` (PLATFORM_MONEY §0.4); the
# emulator's default agrees.
PAYMENT_AMOUNT_INCLUDES_TIP = False
TENDER_TYPES = {"com.clover.tender.credit_card": TenderType.CARD,
                "com.clover.tender.debit_card": TenderType.CARD, "com.clover.tender.cash": TenderType.CASH}


def challenge(body: bytes, headers: dict) -> HttpResponse | None:
    code = signatures.is_verification_request(body)
    if code is None:
        return None
    logger.warning("Clover webhook verification code %r: paste it into the Clover dashboard", code)
    return HttpResponse(status=200)


def verify(body: bytes, headers: dict) -> bool:
    return signatures.verify(getattr(settings, "CLOVER_AUTH_CODE", ""), header(headers, signatures.HEADER))


def parse(body: bytes, headers: dict) -> list[EventEnvelope]:
    message = loads_strict(body)
    merchants = message.get("merchants") if isinstance(message, dict) else None
    if not isinstance(merchants, dict):
        raise UnreadablePayload("merchants must be an object")
    if not all(isinstance(events, list) for events in merchants.values()):
        raise UnreadablePayload("each merchant's events must be a list")
    return [_envelope(merchant_id, event) for merchant_id, events in merchants.items() for event in events]


def _envelope(merchant_id: str, event: dict) -> EventEnvelope:
    object_id, kind, ts = event["objectId"], event["type"], event["ts"]
    if not (isinstance(object_id, str) and isinstance(kind, str) and isinstance(ts, int)
            and not isinstance(ts, bool)):
        raise UnreadablePayload("objectId and type must be strings, ts an integer")
    return EventEnvelope(
        event_id=f"{merchant_id}:{object_id}:{kind}:{ts}", topic=f"{object_id.partition(':')[0]}.{kind}",
        payload={"merchantId": merchant_id, "objectId": object_id, "type": kind, "ts": ts},
        occurred_at=clover_time(ts))


def clover_time(ms: int) -> datetime:
    try:
        return datetime.fromtimestamp(ms / 1000, UTC)
    except (OverflowError, OSError):
        raise UnreadablePayload(f"{ms} is not a time in milliseconds") from None


def prepare(event: InboundEvent) -> dict:
    """Fetch what the ids name, before the engine opens its transaction."""
    payload = event.payload
    key, _, object_id = payload["objectId"].partition(":")
    if payload.get("type") == "DELETE" and key == "O":
        return {"deleted": object_id}  # gone at Clover: nothing to fetch, the id says which
    if payload.get("type") == "DELETE":
        raise SkipEvent(f"{payload['objectId']} deleted at Clover")
    link = connected_link(PLATFORM, payload["merchantId"])
    _skip_without_fetching(event, key, object_id)
    if key == "I" and variant_for_external_id(platform=PLATFORM, external_id=object_id,
                                              location_id=link.location_id) is None:
        raise UnmappedItems([object_id])  # as on the other three, and without spending a fetch
    if key == "I":
        return {"item": _as_it_is_now(link, event, key, object_id)}
    if key == "O":
        return {"order": payload.get("order") or _as_it_is_now(link, event, key, object_id)}
    raise SkipEvent(f"nothing to do for {payload['objectId']}")


def _skip_without_fetching(event: InboundEvent, key: str, object_id: str) -> None:
    """Every fetch spends Clover's 16 requests/s: an item event that a newer one for the
    same item supersedes, and an order Concord itself sent, need none."""
    if key == "I" and InboundEvent.objects.filter(
            platform=PLATFORM, status="pending", payload__objectId=event.payload["objectId"],
            payload__ts__gt=event.payload["ts"]).exists():
        raise SkipEvent("a newer event for this item follows")
    if key == "O" and event.payload.get("type") == "CREATE" and not event.payload.get("order") \
            and Delivery.objects.filter(platform=PLATFORM, external_ref=object_id).exists():
        raise SkipEvent("an order Concord sent")  # its later changes (paid, deleted) matter


def handle(event: InboundEvent) -> str:
    payload = event.payload
    prepared = getattr(event, "prepared", None) or prepare(event)
    link = connected_link(PLATFORM, payload["merchantId"])
    key, _, object_id = payload["objectId"].partition(":")
    if key == "I":
        return _record_item(link, object_id, prepared["item"])
    if "deleted" in prepared:
        return _follow_deleted(link, prepared["deleted"])
    return _record_order(link, prepared["order"])



@dataclass(frozen=True)
class _Fetched:
    started_at: datetime
    body: dict | None  # None: Clover did not return it


FETCHED_KEEP_SECONDS = 30
_fetched: dict[tuple[str, str, str], _Fetched] = {}


def _as_it_is_now(link: PlatformConnection, event: InboundEvent, key: str, object_id: str) -> dict:
    """The item or order an event names, as Clover has it now. Each fetch spends Clover's
    16 requests/s, so the objects of every pending event of this kind for the merchant
    are fetched together (`id in (...)`, one call per 100); a fetch that started after
    this event was stored already shows its change, so its answer serves the event."""
    cached = _fetched.get((link.external_location_id, key, object_id))
    if cached is None or cached.started_at <= event.received_at:
        cached = _fetch_pending(link, key, object_id)
    if cached.body is None:
        what = "item" if key == "I" else "order (gone, or not finished yet)"
        raise SkipEvent(f"Clover did not return {what} {object_id}")
    return cached.body


def _fetch_pending(link: PlatformConnection, key: str, object_id: str) -> _Fetched:
    merchant_id = link.external_location_id
    pending = InboundEvent.objects.filter(
        platform=PLATFORM, status="pending", payload__merchantId=merchant_id,
        payload__objectId__startswith=f"{key}:", payload__order__isnull=True,
    ).values_list("payload__objectId", flat=True).distinct()[:IDS_PER_CALL - 1]
    ids = [object_id, *(other.partition(":")[2] for other in pending)]
    client = clover_client(merchant_id)
    started_at = timezone.now()
    bodies = client.get_items(ids, expand=("itemStock",)) if key == "I" else client.get_orders(ids)
    found = {body["id"]: body for body in bodies}
    kept_since = started_at - timedelta(seconds=FETCHED_KEEP_SECONDS)
    for old in [k for k, fetched in list(_fetched.items()) if fetched.started_at < kept_since]:
        _fetched.pop(old, None)
    for fetched_id in ids:
        _fetched[(merchant_id, key, fetched_id)] = _Fetched(started_at, found.get(fetched_id))
    return _fetched[(merchant_id, key, object_id)]


# ---------------------------------------------------------------------- items


def _record_item(link: PlatformConnection, item_id: str, item: dict) -> str:
    variant = variant_for_external_id(platform=PLATFORM, external_id=item_id, location_id=link.location_id)
    if variant is None:
        raise UnmappedItems([item_id])
    stock = item.get("itemStock")
    available = bool(item.get("available", True))
    if not available and ran_out(platform=PLATFORM, link=link, variant_id=variant.pk, hint=is_sold_out(item)):
        change = None
    else:
        change = flag_change(platform=PLATFORM, link=link, variant_id=variant.pk, available=available)
    # What was fetched is the item as it is now, whenever the event was sent.
    return record_platform_stock(platform=PLATFORM, link=link, external_id=item_id,
                                 quantity=whole_units(stock["quantity"]) if stock else None,
                                 available=change, occurred_at=timezone.now())


# ---------------------------------------------------------------------- orders


def is_register_sale(order: dict) -> bool:
    """An order made at Clover (not one Concord sent) and paid: an open order may still
    gain line items, and each change sends another event."""
    return not is_from_concord(order) and is_paid(order)


def is_from_concord(order: dict) -> bool:
    return (order.get("title") or "").startswith(CONCORD_PREFIX)


def is_paid(order: dict) -> bool:
    return order.get("state") == "locked" or order.get("paymentState") not in (None, "OPEN")


def _follow_deleted(link: PlatformConnection, clover_order_id: str) -> str:
    """An order deleted at Clover: Concord's own order is canceled; a register sale Concord
    recorded is voided (its units back on hand). Clover promises no delivery and a deleted
    order no longer shows in a poll, so a lost DELETE is left to a person ([unverified])."""
    order_id = order_id_of_ticket(PLATFORM, clover_order_id) or order_id_of_sale(
        PLATFORM, channel=Channel.REGISTER, external_id=clover_order_id)
    if order_id is None:
        raise SkipEvent(f"order {clover_order_id} deleted at Clover was never in Concord")
    return order_voided_at(platform=PLATFORM, link=link, order_id=order_id)


def _record_order(link: PlatformConnection, order: dict) -> str:
    if is_from_concord(order):
        order_id = order_id_of_reference(order.get("title"))
        if order_id is None or not is_paid(order):
            raise SkipEvent("Concord's own order, still open")
        return order_closed_at(platform=PLATFORM, order_id=order_id)  # paid at the device: picked up
    if not is_register_sale(order):
        raise SkipEvent("not paid yet")
    lines = _lines(link, order)
    if not lines:
        raise SkipEvent("no inventory items on the order")
    _, created = record_platform_order(PlatformOrder(
        platform=PLATFORM, link=link, external_id=order["id"], lines=lines,
        placed_at=clover_time(order["createdTime"]) if order.get("createdTime") else timezone.now(),
        channel=Channel.REGISTER, fulfillment_type=FulfillmentType.IN_STORE, already_fulfilled=True,
        customer=_customer(link, order), **order_money(order),
    ))
    return "; ".join(["recorded" if created else "already recorded", *_follow_device_refunds(link, order)])


def _follow_device_refunds(link: PlatformConnection, order: dict) -> list[str]:
    """Refunds made at the Clover device (no refund webhook: the order's O:UPDATE, or the
    poll, brings them, expanded on the order, PLATFORM_MONEY §2.3). One that matches a part
    Concord left for staff completes it; another is recorded as a refund made there."""
    outcomes = []
    for refund in (order.get("refunds") or {}).get("elements") or []:
        if refund.get("voided") or (refund.get("status") or "SUCCESS") not in ("SUCCESS", "PENDING"):
            continue
        outcomes.append(refund_reported(ReportedRefund(
            platform=PLATFORM, refund_id=refund["id"],
            status="completed" if (refund.get("status") or "SUCCESS") == "SUCCESS" else "pending",
            payment_reference=(refund.get("payment") or {}).get("id") or "", amount=refund.get("amount") or 0,
            currency=link.location.currency, text=refund.get("reason") or "refunded at the Clover device")))
    return outcomes


def order_money(order: dict) -> dict:
    """The order's money as Clover recorded it, in cents: its total, the tax its payments
    carry (`taxAmount`), and each successful payment as a tender (CLV-SDK `Payment`:
    Clover reports no processing fee)."""
    payments = [p for p in _elements(order.get("payments")) if p.get("result") == "SUCCESS"]
    return {"total": order.get("total"), "tenders": tuple(_tender(p) for p in payments),
            "tax": sum(p.get("taxAmount") or 0 for p in payments) if payments else None}


def _tender(payment: dict) -> TenderFact:
    tip = payment.get("tipAmount") or 0
    label = (payment.get("tender") or {}).get("labelKey") or ""
    return TenderFact(type=TENDER_TYPES.get(label, TenderType.OTHER),
                      amount=(payment.get("amount") or 0) - (tip if PAYMENT_AMOUNT_INCLUDES_TIP else 0),
                      tip=tip, platform=PLATFORM, reference=payment["id"])


def _customer(link: PlatformConnection, order: dict) -> CustomerInput:
    customer = next(iter(_elements(order.get("customers"))), None)
    if customer is None:
        return CustomerInput()
    emails = sorted(_elements(customer.get("emailAddresses")), key=lambda e: not e.get("primaryEmail"))
    phones = _elements(customer.get("phoneNumbers"))
    return platform_customer(
        link=link, platform_customer_id=customer.get("id") or "",
        name=f"{customer.get('firstName') or ''} {customer.get('lastName') or ''}",
        email=emails[0].get("emailAddress") or "" if emails else "",
        phone=phones[0].get("phoneNumber") or "" if phones else "")


def _elements(collection) -> list[dict]:
    return (collection or {}).get("elements") or []


def _lines(link: PlatformConnection, order: dict) -> list[PlatformLine]:
    """The register rings one line item per unit: identical ones become one line. Line
    items without an inventory item (a custom amount) move no stock and are left out;
    their money stays in the order's total."""
    counted: Counter = Counter()
    for line_item in (order.get("lineItems") or {}).get("elements") or []:
        if not (line_item.get("item") or {}).get("id"):
            continue
        modifications = (line_item.get("modifications") or {}).get("elements") or []
        unit_price = line_item.get("price", 0) + sum(m.get("amount", 0) for m in modifications)
        modifier_ids = tuple(sorted(m["modifier"]["id"] for m in modifications if m.get("modifier")))
        units = line_item.get("unitQty") or UNIT_QTY_SCALE
        counted[(line_item["item"]["id"], modifier_ids, unit_price)] += units
    skus = _modifier_skus(link, {m for (_, ids, _) in counted for m in ids})
    return [PlatformLine(quantity=max(1, units // UNIT_QTY_SCALE), external_id=item_id, unit_price=price,
                         modifier_skus=tuple(skus[m] for m in ids if m in skus))
            for (item_id, ids, price), units in counted.items()]


def _modifier_skus(link: PlatformConnection, modifier_ids: set[str]) -> dict[str, str]:
    """Our modifier SKU per Clover modifier id; an unmapped one is left off the line (its
    price is already in the line's own price)."""
    if not modifier_ids:
        return {}
    return dict(ExternalMapping.objects.filter(
        Q(location_id=link.location_id) | Q(location__isnull=True),
        platform=PLATFORM, kind=ExternalMapping.KIND_MODIFIER, external_id__in=modifier_ids,
    ).values_list("external_id", "modifier__sku"))


def order_envelope(link: PlatformConnection, order: dict) -> EventEnvelope:
    """How a polled order enters the intake (with the order itself, nothing to fetch)."""
    merchant_id, modified = link.external_location_id, order.get("modifiedTime") or 0
    return EventEnvelope(
        event_id=f"{merchant_id}:O:{order['id']}:POLL:{modified}", topic="O.POLL",
        payload={"merchantId": merchant_id, "objectId": f"O:{order['id']}", "type": "POLL", "ts": modified,
                 "order": order},
        occurred_at=clover_time(modified) if modified else None)
