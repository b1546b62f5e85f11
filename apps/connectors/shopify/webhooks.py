"""Shopify → Concord: web orders and inventory levels (CONNECTORS.md §4.2).

Shopify signs the raw body with the app secret; each delivery's `X-Shopify-Webhook-Id`
is the dedupe key (a retry reuses it). The body is the REST resource of the topic.

Which orders are facts: a Shopify order that is paid (or whose payment is authorized)
is a sale Concord must record, from `orders/create` or `orders/paid`, whichever comes
first. An unpaid `orders/create` is skipped: `orders/paid` follows when the money comes,
and until then Concord records no payment it has not seen. (Shopify does hold the units
of an unpaid order; see the report for what recording it would need.)

A recorded order cancelled in Shopify (`orders/cancelled`) is canceled in Concord and its
stock released; one fulfilled there (`orders/fulfilled`) is fulfilled.

Fulfilment: the order's `location_id` names the Shopify location, hence the Concord
store. An order with a shipping address ships from there ("shipping"); one without is
picked up there ("pickup").
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.utils import timezone

from apps.connectors.models import ExternalMapping, InboundEvent, PlatformConnection
from apps.connectors.selectors import connection_by_external_id
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
from apps.connectors.services.lifecycle import order_closed_at, order_id_of_sale, order_voided_at
from apps.connectors.services.refunds import ReportedLine, ReportedRefund, refund_reported
from apps.connectors.shopify import signatures
from apps.connectors.shopify.adapter import PLATFORM, refund_state, shopify_client
from apps.core.enums import Channel
from apps.core.money import from_decimal
from apps.core.strict_json import loads_strict
from apps.orders.enums import PaymentStatus, TenderType
from apps.orders.services import CustomerInput, TenderFact

ORDER_TOPICS = ("orders/create", "orders/paid")
PAID_STATUSES = ("paid", "partially_paid", "authorized")
CANCELLED_TOPIC = "orders/cancelled"
FULFILLED_TOPIC = "orders/fulfilled"
TENDER_KINDS = ("sale", "capture", "authorization")
REFUND_TOPIC = "refunds/create"
RESTOCKED = ("return", "cancel", "legacy_restock")  # restock_type values that put units back


def verify(body: bytes, headers: dict) -> bool:
    secret = settings.SHOPIFY_API_SECRET
    if not secret:
        return False
    return signatures.verify(secret, body, header(headers, signatures.HEADER))


def parse(body: bytes, headers: dict) -> list[EventEnvelope]:
    payload = loads_strict(body)
    if not isinstance(payload, dict):
        raise UnreadablePayload("the body is not a JSON object")
    webhook_id = header(headers, "X-Shopify-Webhook-Id")
    topic = header(headers, "X-Shopify-Topic")
    if not webhook_id or not topic:
        raise KeyError("X-Shopify-Webhook-Id and X-Shopify-Topic are required")
    occurred_at = shopify_time(header(headers, "X-Shopify-Triggered-At")) or shopify_time(
        payload.get("updated_at"))
    return [EventEnvelope(event_id=webhook_id, topic=topic, payload=payload, occurred_at=occurred_at)]


def handle(event: InboundEvent) -> str:
    if event.topic in ORDER_TOPICS:
        return _record_order(event.topic, event.payload)
    if event.topic in (CANCELLED_TOPIC, FULFILLED_TOPIC):
        return _follow_order(event.topic, event.payload)
    if event.topic == "inventory_levels/update":
        return _record_level(event.payload, event.occurred_at)
    if event.topic == REFUND_TOPIC:
        return _follow_refund(event)
    raise SkipEvent(f"nothing to do for {event.topic}")


def shopify_time(value: str | None) -> datetime | None:
    if not value:
        return None
    if not isinstance(value, str):
        raise UnreadablePayload(f"{value!r} is not a time")
    return datetime.fromisoformat(value.replace("Z", "+00:00"))



# -- orders -----------------------------------------------------------------------------------


def _record_order(topic: str, order: dict) -> str:
    if order.get("cancelled_at"):
        raise SkipEvent(f"order {order['name']} is cancelled")
    if topic == "orders/create" and order.get("financial_status") not in PAID_STATUSES:
        raise SkipEvent(f"order {order['name']} is {order.get('financial_status')}: orders/paid records it")
    link = connected_link(PLATFORM, order.get("location_id"))
    currency = order["currency"]
    if _already_recorded(order):
        return "already recorded"  # orders/create and orders/paid both name it: no second fetch
    transactions = shopify_client().order_transactions(order["id"])
    record, created = record_platform_order(PlatformOrder(
        platform=PLATFORM, link=link, external_id=str(order["id"]),
        lines=[order_line(line, currency) for line in order["line_items"]],
        placed_at=shopify_time(order["created_at"]), channel="web",
        fulfillment_type="shipping" if order.get("shipping_address") else "pickup",
        already_fulfilled=False, total=from_decimal(order["total_price"], currency),
        tax=from_decimal(order.get("total_tax") or 0, currency),
        discount=from_decimal(order.get("total_discounts") or 0, currency),
        tenders=order_tenders(transactions, currency),
        customer=order_customer(link, order),
    ))
    # The transactions read once here are finance's processor records too: no second call.
    from apps.connectors.shopify.money import record_order_transactions  # it imports this module

    record_order_transactions(link, transactions, currency)
    return f"{'recorded' if created else 'already recorded'} as order #{record.pk}"


def _follow_order(topic: str, order: dict) -> str:
    """A web order Concord recorded was cancelled in Shopify (its stock released; Shopify
    restocks its own count) or fulfilled there (the customer has it)."""
    link = connected_link(PLATFORM, order.get("location_id"))
    order_id = order_id_of_sale(PLATFORM, channel=Channel.WEB, external_id=str(order["id"]))
    if order_id is None:
        raise SkipEvent(f"order {order.get('name')} was never recorded in Concord")
    if topic == CANCELLED_TOPIC:
        return order_voided_at(platform=PLATFORM, link=link, order_id=order_id)
    return order_closed_at(platform=PLATFORM, order_id=order_id)


def order_line(line: dict, currency: str) -> PlatformLine:
    return PlatformLine(quantity=line["quantity"], external_id=str(line.get("variant_id") or ""),
                        sku=line.get("sku") or "", unit_price=from_decimal(line["price"], currency))


def _already_recorded(order: dict) -> bool:
    return order_id_of_sale(PLATFORM, channel=Channel.WEB, external_id=str(order["id"])) is not None


def order_tenders(transactions: list[dict], currency: str) -> tuple[TenderFact, ...]:
    """The order's payments as Shopify's transactions report them: a successful sale or
    capture is paid, an authorization not captured yet is pending. REST transactions
    carry no fee and Shopify's order tip fields are not established (PLATFORM_MONEY §9):
    neither is recorded. Refunds are the returns issue's."""
    captured = {t.get("parent_id") for t in transactions if t.get("kind") == "capture"}
    tenders = []
    for transaction in transactions:
        if transaction.get("status") != "success" or transaction.get("kind") not in TENDER_KINDS:
            continue
        if transaction["kind"] == "authorization" and transaction["id"] in captured:
            continue  # its capture is the payment
        tenders.append(TenderFact(
            type=TenderType.CARD if transaction.get("payment_details") else TenderType.OTHER,
            amount=from_decimal(transaction["amount"], transaction.get("currency") or currency),
            platform=PLATFORM, reference=str(transaction["id"]),
            status=PaymentStatus.PENDING if transaction["kind"] == "authorization" else PaymentStatus.PAID))
    return tuple(tenders)


def order_customer(link: PlatformConnection, order: dict) -> CustomerInput:
    customer = order.get("customer") or {}
    return platform_customer(
        link=link, platform_customer_id=customer.get("id") or "",
        name=" ".join(filter(None, (customer.get("first_name"), customer.get("last_name")))),
        email=order.get("email") or customer.get("email") or "",
        phone=customer.get("phone") or order.get("phone") or "")


# -- refunds ----------------------------------------------------------------------------------


def _follow_refund(event: InboundEvent) -> str:
    """A Refund resource (PLATFORM_MONEY §2.2): one Concord sent (our marker in its note)
    completes that part; one made in the admin is recorded with its items, restocked where
    Shopify restocked them. Its money is its successful refund transactions."""
    refund = event.payload
    transactions = [t for t in refund.get("transactions") or []
                    if t.get("kind") == "refund" and t.get("status") == "success"]
    currency = next((t["currency"] for t in transactions if t.get("currency")), "")
    items = refund.get("refund_line_items") or []
    reported = ReportedRefund(
        platform=PLATFORM, refund_id=str(refund["id"]), status=refund_state(refund),
        payment_reference=str(transactions[0].get("parent_id") or "") if transactions else "",
        amount=sum(from_decimal(t["amount"], currency or "USD") for t in transactions), currency=currency,
        text=refund.get("note") or "",
        lines=tuple(ReportedLine(sku=(item.get("line_item") or {}).get("sku") or "",
                                 quantity=item["quantity"], restock=item.get("restock_type") in RESTOCKED)
                    for item in items),
        restock_link=_restock_link(items), occurred_at=shopify_time(refund.get("processed_at")))
    outcome = refund_reported(reported, final_attempt=event.attempts >= settings.INBOUND_MAX_ATTEMPTS)
    # Its refund transactions are finance's processor refunds (linked to the part just moved).
    from apps.connectors.shopify.money import record_refund_transactions  # it imports this module

    record_refund_transactions(str(refund["id"]), transactions, currency or "USD")
    return outcome


def _restock_link(items: list[dict]) -> PlatformConnection | None:
    location_id = next((item.get("location_id") for item in items
                        if item.get("restock_type") in RESTOCKED and item.get("location_id")), None)
    if location_id is None:
        return None
    return connection_by_external_id(platform=PLATFORM, external_location_id=str(location_id))


# -- inventory levels -------------------------------------------------------------------------


def _record_level(level: dict, occurred_at: datetime | None) -> str:
    """Shopify's count for one item at one location. Shopify has no 86 flag, so only the
    count is reported; our own pushes come back this way too, and only refresh what
    Concord believes Shopify shows."""
    link = connected_link(PLATFORM, level.get("location_id"))
    item_id = str(level["inventory_item_id"])
    variant_external_id = _variant_of_item(item_id)
    if variant_external_id is None:
        raise UnmappedItems([f"inventory_item:{item_id}"])
    return record_platform_stock(
        platform=PLATFORM, link=link, external_id=variant_external_id, quantity=level.get("available"),
        available=None, occurred_at=shopify_time(level.get("updated_at")) or occurred_at or timezone.now())


def _variant_of_item(inventory_item_id: str) -> str | None:
    mapping = ExternalMapping.objects.filter(
        platform=PLATFORM, kind=ExternalMapping.KIND_VARIANT, data__inventory_item_id=inventory_item_id,
    ).only("external_id").first()
    return mapping.external_id if mapping else None
