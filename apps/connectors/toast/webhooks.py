"""Toast → Concord: stock webhooks, and the orders the poller finds (topic "order").

Toast signs each webhook with `Toast-Signature` over the raw body plus a timestamp
(CONNECTORS.md §1.5); the event id is the body's `guid`. Toast has no orders webhook in
our facts, so register sales arrive through `poller.poll`, stored as "order" events that
go through the same intake.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from apps.connectors.models import ExternalMapping, InboundEvent, PlatformConnection
from apps.connectors.pos_common import flag_change, ran_out, sync_state, whole_units
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
    order_voided_at,
)
from apps.connectors.services.refunds import ReportedRefund, refunded_total_reported
from apps.connectors.toast import signatures
from apps.core.enums import Channel
from apps.core.money import from_decimal
from apps.core.strict_json import loads_strict
from apps.orders.enums import FulfillmentType, TenderType
from apps.orders.services import CustomerInput, TenderFact

logger = logging.getLogger(__name__)

PLATFORM = "toast"
ORDER_TOPIC = "order"
RESTAURANT_HEADER = "Toast-Restaurant-External-ID"
CONCORD_PREFIX = "concord:"
# Toast reports every change at or under this count (`low_quantity`), so an item it counted
# down to here before showing it out of stock most likely sold out (CONNECTORS.md §1.4).
LOW_QUANTITY_THRESHOLD = 5
# TOAST-ORD Payment.type; Toast's gift and reward cards are its own stored value.
TENDER_TYPES = {"CREDIT": TenderType.CARD, "CASH": TenderType.CASH}
VOIDED_PAYMENT_STATES = ("VOIDED", "CANCELLED", "DENIED", "PROCESSING_VOID", "VOIDED_AT_RISK")


def verify(body: bytes, headers: dict) -> bool:
    secret = getattr(settings, "TOAST_WEBHOOK_SECRET", "")
    if not secret:
        return False
    timestamp = signatures.timestamp_from(body, headers)
    return signatures.verify(secret, body, timestamp, header(headers, signatures.HEADER))


def parse(body: bytes, headers: dict) -> list[EventEnvelope]:
    message = loads_strict(body)
    if not isinstance(message, dict):
        raise UnreadablePayload("the body is not a JSON object")
    topic = f"{message['eventCategory']}.{message.get('eventType', '')}"
    return [EventEnvelope(event_id=message["guid"], topic=topic, payload=message,
                          occurred_at=toast_time(message.get("timestamp")))]


def handle(event: InboundEvent) -> str:
    if event.topic == ORDER_TOPIC:
        outcome = _record_order(event.payload)
        from apps.connectors.toast.money import record_order_payments  # it imports this module

        # The POS refunds first: the processor's record of a refund links to the part they make.
        refunds = _follow_pos_refunds(event.payload)
        outcome = f"{outcome}; {record_order_payments(event.payload)} payment record(s)"
        return "; ".join([outcome, *refunds])
    if event.topic.startswith("stock."):
        return _record_stock(event.payload, event.headers)
    raise SkipEvent(f"nothing to do for {event.topic}")


def toast_time(value: str | None) -> datetime | None:
    """Toast's `2021-07-30T11:57:46.235+0000` or a webhook's ISO-8601 UTC timestamp."""
    if not value:
        return None
    if not isinstance(value, str):
        raise UnreadablePayload(f"{value!r} is not a time")
    text = value.replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit():
        text = f"{text[:-2]}:{text[-2:]}"
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)



# ---------------------------------------------------------------------- stock


def _record_stock(message: dict, headers: dict) -> str:
    details = message["details"]
    link = connected_link(PLATFORM, details.get("restaurantGuid") or header(headers, RESTAURANT_HEADER))
    item_guid = details["itemGuid"]
    variant = variant_for_external_id(platform=PLATFORM, external_id=item_guid, location_id=link.location_id)
    if variant is None:
        raise UnmappedItems([item_guid])
    quantity, available = _stock_report(link, variant.pk, details)
    return record_platform_stock(platform=PLATFORM, link=link, external_id=item_guid, quantity=quantity,
                                 available=available,
                                 occurred_at=toast_time(message.get("timestamp")) or timezone.now())


def _stock_report(link: PlatformConnection, variant_id: int, details: dict) -> tuple[int | None, bool | None]:
    """(count, 86 change) from a stock event. OUT_OF_STOCK means either "86'd by staff" or
    "sold out": Toast tells them apart nowhere. It is read as sold out (a count of 0) when
    Toast counted the item down to the low-quantity zone first, or Concord has nothing to
    offer there either; otherwise as an 86. So a staff 86 of an item with 5 or fewer left
    is taken for a sell-out, and one sale of more than 5 units emptying it for an 86."""
    status = details.get("status")
    if status == "QUANTITY":
        return whole_units(details.get("quantity")), flag_change(
            platform=PLATFORM, link=link, variant_id=variant_id, available=True)
    if status == "IN_STOCK":
        return None, flag_change(platform=PLATFORM, link=link, variant_id=variant_id, available=True)
    state = sync_state(PLATFORM, link, variant_id)
    counted_down = bool(state and state.platform_quantity is not None
                        and 0 <= state.platform_quantity <= LOW_QUANTITY_THRESHOLD)
    if ran_out(platform=PLATFORM, link=link, variant_id=variant_id, hint=counted_down):
        return 0, None
    return None, flag_change(platform=PLATFORM, link=link, variant_id=variant_id, available=False)


# ---------------------------------------------------------------------- orders


def is_register_sale(order: dict) -> bool:
    """An order rung up at Toast (not one Concord sent), final: paid or closed, not voided."""
    if is_from_concord(order):
        return False
    if order.get("voided") or order.get("deleted"):
        return False
    return bool(order.get("paidDate") or order.get("closedDate"))


def is_from_concord(order: dict) -> bool:
    return (order.get("externalId") or "").startswith(CONCORD_PREFIX)


def is_finished(order: dict) -> bool:
    """What a poll stores: a register sale, a void of one (it may have been recorded), and
    Concord's own orders once the restaurant closed or voided them."""
    if order.get("voided"):
        return True
    return is_register_sale(order) or (is_from_concord(order) and bool(order.get("closedDate")))


def order_envelope(restaurant_guid: str, order: dict) -> EventEnvelope:
    """How a polled order enters the intake: one event per version of the order."""
    return EventEnvelope(event_id=f"order:{order['guid']}:{order.get('modifiedDate')}", topic=ORDER_TOPIC,
                         payload={"restaurantGuid": restaurant_guid, "order": order},
                         occurred_at=toast_time(order.get("modifiedDate")))


def _record_order(payload: dict) -> str:
    link = connected_link(PLATFORM, payload.get("restaurantGuid"))
    order = payload["order"]
    if is_from_concord(order) or order.get("voided"):
        return _follow_ticket(link, order)
    if not is_register_sale(order):
        raise SkipEvent("not a finished register sale")
    currency = link.location.currency
    checks = [c for c in order.get("checks") or [] if not (c.get("voided") or c.get("deleted"))]
    lines = [_line(link, selection, currency) for check in checks
             for selection in check.get("selections") or [] if not selection.get("voided")]
    if not lines:
        raise SkipEvent("no items on the order")
    _, created = record_platform_order(PlatformOrder(
        platform=PLATFORM, link=link, external_id=order["guid"], lines=lines,
        placed_at=toast_time(order.get("createdDate") or order.get("openedDate")) or timezone.now(),
        channel=Channel.REGISTER, fulfillment_type=FulfillmentType.IN_STORE, already_fulfilled=True,
        customer=_customer(link, checks), **checks_money(checks, currency),
    ))
    return "recorded" if created else "already recorded"


def _follow_ticket(link: PlatformConnection, order: dict) -> str:
    """A ticket Concord sent that the restaurant closed (fulfilled) or voided (canceled),
    or a register sale voided after it was recorded (its units back on hand)."""
    if is_from_concord(order):
        order_id = order_id_of_reference(order.get("externalId"))
    else:
        order_id = order_id_of_sale(PLATFORM, channel=Channel.REGISTER, external_id=order["guid"])
    if order_id is None:
        raise SkipEvent("a voided order Concord never recorded")
    if order.get("voided"):
        return order_voided_at(platform=PLATFORM, link=link, order_id=order_id)
    if order.get("closedDate"):
        return order_closed_at(platform=PLATFORM, order_id=order_id)
    raise SkipEvent("Concord's own order, still open")


def _line(link: PlatformConnection, selection: dict, currency: str) -> PlatformLine:
    # Concord counts whole units; a weighed item sold by the pound counts as one sale.
    quantity = max(1, round(float(selection.get("quantity") or 1)))
    price = from_decimal(selection.get("price") or 0, currency)
    option_guids = [m["item"]["guid"] for m in selection.get("modifiers") or [] if m.get("item")]
    unit_price = (2 * price + quantity) // (2 * quantity)  # price / quantity, half up
    return PlatformLine(quantity=quantity, external_id=selection["item"]["guid"], unit_price=unit_price,
                        modifier_skus=_modifier_skus(link, option_guids))


def _modifier_skus(link: PlatformConnection, option_guids: list[str]) -> tuple[str, ...]:
    """Our modifier SKUs for Toast option GUIDs; an unmapped option is left off the line
    (its price is already in the line's own price)."""
    if not option_guids:
        return ()
    skus = dict(ExternalMapping.objects.filter(
        Q(location_id=link.location_id) | Q(location__isnull=True),
        platform=PLATFORM, kind=ExternalMapping.KIND_MODIFIER, external_id__in=option_guids,
    ).values_list("external_id", "modifier__sku"))
    return tuple(skus[guid] for guid in option_guids if guid in skus)


def checks_money(checks: list[dict], currency: str) -> dict:
    """The checks' money as Toast computed it (decimals, TOAST-ORD): their tax, their
    discounts, their total (tips are on the payments, never in it), and each payment not
    voided as a tender whose `amount` excludes its `tipAmount`."""
    return {
        "total": sum(from_decimal(c.get("totalAmount") or 0, currency) for c in checks),
        "tax": sum(from_decimal(c.get("taxAmount") or 0, currency) for c in checks),
        "discount": sum(from_decimal(d.get("discountAmount") or 0, currency)
                        for c in checks for d in c.get("appliedDiscounts") or []),
        "tenders": tuple(_tender(payment, currency) for c in checks for payment in c.get("payments") or []
                         if payment.get("paymentStatus") not in VOIDED_PAYMENT_STATES),
    }


def _follow_pos_refunds(payload: dict) -> list[str]:
    """Refunds made at the POS show on the payment as its refunded total so far (no refund
    webhook, PLATFORM_MONEY §2.4); a refund changes the order's modifiedDate, so the next
    poll brings the new version here."""
    link = connected_link(PLATFORM, payload.get("restaurantGuid"))
    currency = link.location.currency
    outcomes = []
    for check in payload["order"].get("checks") or []:
        for payment in check.get("payments") or []:
            refund = payment.get("refund") or {}
            if not refund.get("refundAmount"):
                continue
            transaction = (refund.get("refundTransaction") or {}).get("guid") or payment["guid"]
            outcomes.append(refunded_total_reported(ReportedRefund(
                platform=PLATFORM, refund_id=f"refund:{transaction}", status="completed",
                payment_reference=payment["guid"], amount=from_decimal(refund["refundAmount"], currency),
                currency=currency, text="refunded at the Toast POS")))
    return outcomes


def _tender(payment: dict, currency: str) -> TenderFact:
    return TenderFact(type=TENDER_TYPES.get(payment.get("type"), TenderType.OTHER),
                      amount=from_decimal(payment.get("amount") or 0, currency),
                      tip=from_decimal(payment.get("tipAmount") or 0, currency),
                      processing_fee=from_decimal(payment.get("originalProcessingFee") or 0, currency),
                      platform=PLATFORM, reference=payment["guid"])


def _customer(link: PlatformConnection, checks: list[dict]) -> CustomerInput:
    found = next((c["customer"] for c in checks if c.get("customer")), None)
    if not found:
        return CustomerInput()
    return platform_customer(link=link, platform_customer_id=found.get("guid") or "",
                             name=f"{found.get('firstName') or ''} {found.get('lastName') or ''}",
                             email=found.get("email") or "", phone=found.get("phone") or "")
