"""Square → Concord: register sales, counts and sold-out flags.

Square signs `notification URL + raw body` (CONNECTORS.md §2.7); the URL is the one
configured (`SQUARE_WEBHOOK_URL`), never the request's Host. Events are deduplicated on
`event_id`. `order.created`/`order.updated` carry only the id, so the order is fetched;
the poller stores whole orders as "order.polled" events that take the same path.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from apps.connectors.http import PlatformError
from apps.connectors.models import ExternalMapping, InboundEvent, PlatformConnection, StockSyncState
from apps.connectors.selectors import connection_by_external_id
from apps.connectors.services.intake import (
    EventEnvelope,
    PlatformLine,
    PlatformOrder,
    SkipEvent,
    UnreadablePayload,
    connected_link,
    header,
    platform_customer,
    record_platform_order,
    record_platform_stock,
)
from apps.connectors.services.lifecycle import order_closed_at, order_id_of_reference, order_voided_at
from apps.connectors.services.refunds import ReportedRefund, refund_reported
from apps.connectors.square import signatures
from apps.connectors.square.adapter import (
    PLATFORM,
    is_from_concord,
    is_manual_86,
    refund_state,
    sold_out_at,
    square_client,
    whole_count,
    whole_sold,
)
from apps.core.errors import ValidationFailed
from apps.core.strict_json import loads_strict
from apps.orders.enums import TenderType
from apps.orders.services import CustomerInput, TenderFact

# SQ-SPEC TenderType; a Square gift card is Square's stored value, not Concord's.
TENDER_TYPES = {"CARD": TenderType.CARD, "CASH": TenderType.CASH}
ORDER_TOPICS = ("order.created", "order.updated")
REFUND_TOPICS = ("refund.created", "refund.updated")
POLLED_ORDER_TOPIC = "order.polled"
# Payments and payouts for finance (apps/connectors/square/money.py).
MONEY_TOPICS = ("payment.created", "payment.updated", "payout.sent", "payout.paid", "payout.failed")
SALE_STATE = "COMPLETED"
CANCELED_STATE = "CANCELED"
FINAL_STATES = (SALE_STATE, CANCELED_STATE)
# A sold-out change bumps its variation's `updated_at` to the event's time; a margin
# covers clock rounding, and re-reading a flag that did not change is harmless.
CATALOG_CHANGE_MARGIN = timedelta(minutes=1)


def verify(body: bytes, headers: dict) -> bool:
    key, url = settings.SQUARE_WEBHOOK_SIGNATURE_KEY, settings.SQUARE_WEBHOOK_URL
    if not key or not url:
        return False
    return signatures.verify(key, url, body, header(headers, signatures.HEADER))


def parse(body: bytes, headers: dict) -> list[EventEnvelope]:
    message = loads_strict(body)
    if not isinstance(message, dict):
        raise UnreadablePayload("the body is not a JSON object")
    return [EventEnvelope(event_id=message["event_id"], topic=message["type"], payload=message,
                          occurred_at=square_time(message.get("created_at")))]


def handle(event: InboundEvent) -> str:
    if event.topic in ORDER_TOPICS:
        return _record_notified_order(event.payload)
    if event.topic == POLLED_ORDER_TOPIC:
        return apply_order(event.payload)
    if event.topic in REFUND_TOPICS:
        return _follow_refund(event)
    if event.topic == "inventory.count.updated":
        return _record_counts(event.payload)
    if event.topic == "catalog.version.updated":
        return _record_sold_out_flags(event.payload)
    if event.topic in MONEY_TOPICS:
        from apps.connectors.square.money import handle_money_event  # it imports this module's helpers

        return handle_money_event(event.payload)
    raise SkipEvent(f"nothing to do for {event.topic}")


def square_time(value: str | None) -> datetime | None:
    if not value:
        return None
    if not isinstance(value, str):
        raise UnreadablePayload(f"{value!r} is not a time")
    return datetime.fromisoformat(value.replace("Z", "+00:00"))



# -- orders -----------------------------------------------------------------------------------


def _record_notified_order(message: dict) -> str:
    data = message["data"]
    summary = data["object"].get(data["type"]) or {}
    connected_link(PLATFORM, summary.get("location_id"))
    if summary.get("state") not in FINAL_STATES:
        # A register sale is COMPLETED when it is paid; an order that completes (or is
        # canceled) later sends order.updated, and the poller catches it if that is lost.
        raise SkipEvent(f"order {data['id']} is {summary.get('state')}, neither completed nor canceled")
    return apply_order(square_client().retrieve_order(data["id"]))


def apply_order(order: dict) -> str:
    """A finished Square order: one Concord sent follows its ticket (COMPLETED fulfils it,
    CANCELED cancels it); any other is a register sale, recorded when COMPLETED. A register
    sale cannot be canceled once COMPLETED (Square refunds it instead), and the refunds
    it carries are followed too, so a refund whose webhooks were lost arrives with the poll."""
    if not is_from_concord(order):
        return "; ".join([record_sale(order), *_follow_order_refunds(order)])
    link = connected_link(PLATFORM, order.get("location_id"))
    order_id = order_id_of_reference((order.get("metadata") or {}).get("concord_reference")
                                     or order.get("reference_id"))
    if order_id is None:
        raise SkipEvent(f"order {order['id']} names no Concord order")
    if order.get("state") == SALE_STATE:
        return order_closed_at(platform=PLATFORM, order_id=order_id)
    if order.get("state") == CANCELED_STATE:
        return order_voided_at(platform=PLATFORM, link=link, order_id=order_id)
    raise SkipEvent(f"order {order['id']} is {order.get('state')}")


def record_sale(order: dict) -> str:
    """A completed order rung up at the register: recorded once, however often it arrives."""
    if is_from_concord(order):
        raise SkipEvent(f"order {order['id']} was sent by Concord ({order['source']['name']})")
    if order.get("state") != SALE_STATE:
        raise SkipEvent(f"order {order['id']} is {order.get('state')}, not a completed sale")
    link = connected_link(PLATFORM, order.get("location_id"))
    sale = PlatformOrder(
        platform=PLATFORM, link=link, external_id=order["id"], lines=sale_lines(order),
        placed_at=square_time(order["created_at"]), channel="register", fulfillment_type="in_store",
        already_fulfilled=True, customer=_customer(link, order.get("customer_id")),
        **sale_money(order),
    )
    try:
        record, created = record_platform_order(sale)
    except ValidationFailed as error:
        if "modifiers" not in (error.field or ""):
            raise
        # The register sold it with modifiers our catalog's rules do not allow: a sale that
        # happened is still recorded, without the labels (their price is in the unit price).
        record, created = record_platform_order(replace(
            sale, lines=[replace(line, modifier_skus=()) for line in sale.lines]))
    return f"{'recorded' if created else 'already recorded'} as order #{record.pk}"


def sale_lines(order: dict) -> list[PlatformLine]:
    modifier_skus = _modifier_skus(order)
    return [sale_line(line, modifier_skus) for line in order.get("line_items", [])]


def sale_line(line: dict, modifier_skus: dict[str, str]) -> PlatformLine:
    mods = line.get("modifiers") or []
    # The register's own unit price: the variation's base plus its modifiers, per unit.
    unit_price = (line.get("base_price_money") or {}).get("amount", 0) + sum(
        (m.get("base_price_money") or {}).get("amount", 0) * (whole_sold(m.get("quantity", "1")) or 1)
        for m in mods)
    # A modifier Square has that Concord does not map only loses its label: its price is
    # already in the unit price, and modifiers move no stock.
    skus = tuple(modifier_skus[m["catalog_object_id"]] for m in mods
                 if m.get("catalog_object_id") in modifier_skus)
    external_id = line.get("catalog_object_id") or f"ad-hoc:{line.get('name', '')}"
    return PlatformLine(quantity=whole_sold(line["quantity"]) or 0, external_id=external_id,
                        unit_price=unit_price, modifier_skus=skus)


def _modifier_skus(order: dict) -> dict[str, str]:
    ids = {m["catalog_object_id"] for line in order.get("line_items", [])
           for m in line.get("modifiers") or [] if m.get("catalog_object_id")}
    if not ids:
        return {}
    mappings = ExternalMapping.objects.filter(platform=PLATFORM, kind=ExternalMapping.KIND_MODIFIER,
                                              external_id__in=ids).select_related("modifier")
    return {m.external_id: m.modifier.sku for m in mappings}


def sale_money(order: dict) -> dict:
    """The order's money as Square computed it, in cents: its tax and discounts, its total
    without tips, and each tender (SQ-SPEC `Tender.amount_money` includes the tip)."""
    tip = _cents(order.get("total_tip_money"))
    return {"total": _cents(order.get("total_money")) - tip, "tax": _cents(order.get("total_tax_money")),
            "discount": _cents(order.get("total_discount_money")),
            "tenders": tuple(_tender(tender) for tender in order.get("tenders") or [])}


def _tender(tender: dict) -> TenderFact:
    tip = _cents(tender.get("tip_money"))
    return TenderFact(type=TENDER_TYPES.get(tender.get("type"), TenderType.OTHER),
                      amount=_cents(tender.get("amount_money")) - tip, tip=tip,
                      processing_fee=_cents(tender.get("processing_fee_money")), platform=PLATFORM,
                      reference=tender.get("payment_id") or tender["id"])


def _cents(value: dict | None) -> int:
    amount = (value or {}).get("amount") or 0
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise UnreadablePayload(f"{amount!r} is not an amount in cents")
    return amount


def _customer(link: PlatformConnection, customer_id: str | None) -> CustomerInput:
    if not customer_id:
        return CustomerInput()
    try:
        customer = square_client().retrieve_customer(customer_id)
    except PlatformError as error:
        if error.status != 404:
            raise
        # Deleted at Square since the sale: the sale still counts, and so does the id.
        return platform_customer(link=link, platform_customer_id=customer_id)
    return platform_customer(
        link=link, platform_customer_id=customer_id, email=customer.get("email_address") or "",
        name=" ".join(filter(None, (customer.get("given_name"), customer.get("family_name")))),
        phone=customer.get("phone_number") or "")


# -- refunds -----------------------------------------------------------------------------------


def _follow_refund(event: InboundEvent) -> str:
    """A PaymentRefund (CONNECTORS.md §2.7): one Concord sent (its reason carries our marker,
    or a part holds its id) moves that part; one made at the register is recorded once it is
    COMPLETED. Refunds of a payment Concord has not recorded wait for the sale a few tries."""
    refund = event.payload["data"]["object"]["refund"]
    money = refund.get("amount_money") or {}
    reported = ReportedRefund(
        platform=PLATFORM, refund_id=refund["id"], status=refund_state(refund),
        payment_reference=refund.get("payment_id") or "", amount=_cents(money),
        currency=money.get("currency") or "", text=refund.get("reason") or "",
        occurred_at=square_time(refund.get("updated_at")))
    return refund_reported(reported, final_attempt=event.attempts >= settings.INBOUND_MAX_ATTEMPTS)


# The refunds an Order carries (`Order.refunds[]`, SQ-SPEC `Refund`): APPROVED is Square's
# settled state there, the emulator writes COMPLETED as the PaymentRefund does.
ORDER_REFUND_STATES = {"APPROVED": "completed", "COMPLETED": "completed", "PENDING": "pending",
                       "REJECTED": "failed", "FAILED": "failed"}


def _follow_order_refunds(order: dict) -> list[str]:
    outcomes = []
    for refund in order.get("refunds") or []:
        money = refund.get("amount_money") or {}
        outcomes.append(refund_reported(ReportedRefund(
            platform=PLATFORM, refund_id=refund["id"],
            status=ORDER_REFUND_STATES.get(refund.get("status") or "", "pending"),
            payment_reference=refund.get("tender_id") or "", amount=_cents(money),
            currency=money.get("currency") or "", text=refund.get("reason") or "")))
    return outcomes


# -- counts and flags --------------------------------------------------------------------------


def _record_counts(message: dict) -> str:
    outcomes = []
    for count in message["data"]["object"].get("inventory_counts", []):
        if count.get("state") != "IN_STOCK":
            continue
        link = connection_by_external_id(platform=PLATFORM, external_location_id=count.get("location_id", ""))
        if link is None:
            continue
        outcomes.append(record_platform_stock(
            platform=PLATFORM, link=link, external_id=count["catalog_object_id"],
            quantity=whole_count(count.get("quantity")), available=None,
            occurred_at=square_time(count.get("calculated_at")) or timezone.now()))
    if not outcomes:
        raise SkipEvent("no counts at a connected location")
    return "; ".join(outcomes)


def _record_sold_out_flags(message: dict) -> str:
    """The seller marked variations sold out (an 86) or back: the catalog says which."""
    changed_at = square_time(message["data"]["object"]["catalog_version"]["updated_at"])
    since = (changed_at or timezone.now()) - CATALOG_CHANGE_MARGIN
    client = square_client()
    variations = [v for v in client.iter_catalog(types="ITEM_VARIATION")
                  if (square_time(v.get("updated_at")) or since) >= since]
    links = {link.external_location_id: link for link in PlatformConnection.objects.filter(
        platform=PLATFORM, is_enabled=True).select_related("location")}
    outcomes = []
    for location_id, link in links.items():
        outcomes += _apply_flags(client, link, variations, location_id)
    if not outcomes:
        raise SkipEvent("no sold-out flag changed")
    return "; ".join(outcomes)


def _apply_flags(client, link: PlatformConnection, variations: list[dict], location_id: str) -> list[str]:
    variant_ids = _variant_ids(link, [v["id"] for v in variations])
    if not variant_ids:
        return []
    counts = client.batch_retrieve_counts(catalog_object_ids=list(variant_ids), location_ids=[location_id])
    quantities = {c["catalog_object_id"]: whole_count(c.get("quantity"))
                  for c in counts.get("counts", []) if c.get("state") == "IN_STOCK"}
    shown_86d = dict(StockSyncState.objects.filter(
        platform=PLATFORM, location_id=link.location_id, variant_id__in=variant_ids.values(),
    ).values_list("variant_id", "pushed_86d"))
    outcomes = []
    for variation in variations:
        variant_id = variant_ids.get(variation["id"])
        if variant_id is None:
            continue
        sold_out = sold_out_at(variation, location_id)
        if sold_out and not is_manual_86(sold_out, quantities.get(variation["id"], 0)):
            continue  # Square's own stock-out at zero: the count already says it
        if sold_out == shown_86d.get(variant_id, False):
            continue  # as Square already showed it: an unrelated catalog edit
        # The flag was read just now, so it is current whatever the variation's timestamp.
        outcomes.append(record_platform_stock(
            platform=PLATFORM, link=link, external_id=variation["id"], quantity=None,
            available=not sold_out, occurred_at=timezone.now()))
    return outcomes


def _variant_ids(link: PlatformConnection, variation_ids: list[str]) -> dict[str, int]:
    """Square variation id -> our variant id, for the mapped ones (shared or this location's)."""
    mappings = ExternalMapping.objects.filter(
        platform=PLATFORM, kind=ExternalMapping.KIND_VARIANT, external_id__in=variation_ids,
    ).filter(Q(location__isnull=True) | Q(location_id=link.location_id))
    # A mapping for this location wins over the shared one: it comes last.
    mappings = mappings.order_by(F("location_id").asc(nulls_first=True))
    return {m.external_id: m.variant_id for m in mappings}
