"""Facts from other systems: a sale a POS or Shopify already made, recorded as it was
made (its prices, discounts, tax and tenders), never refused for stock."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction

from apps.core import topics
from apps.core.services import open_exception
from apps.customers.services import match_customer
from apps.inventory import services as stock
from apps.inventory.selectors import get_location
from apps.orders.enums import OrderStatus, PaymentStatus, StockMode
from apps.orders.models import Order, Payment
from apps.orders.services import tenders as tendering
from apps.orders.services.inputs import ExternalOrderInput, TenderFact
from apps.orders.services.placing import EXTERNAL_ID_CONSTRAINT
from apps.orders.services.pricing import PricedLine, keep_platform_figures, price_lines
from apps.orders.services.records import announce, create_lines, order_amounts

if TYPE_CHECKING:
    from apps.inventory.models import Location


def record_external_order(*, order: ExternalOrderInput) -> tuple[Order, bool]:
    """Record a sale another system already made. Never refused for stock: a shortfall
    opens an `oversold` exception. Idempotent on (channel, source_name, external_id);
    returns (order, created)."""
    existing = Order.objects.filter(channel=order.channel, source_name=order.source_name,
                                    external_id=order.external_id).first()
    if existing is not None:
        return existing, False
    location = get_location(order.location_code)
    try:
        with transaction.atomic():
            return _record_external(order, location), True
    except IntegrityError as exc:
        if EXTERNAL_ID_CONSTRAINT not in str(exc):
            raise
        return Order.objects.get(channel=order.channel, source_name=order.source_name,
                                 external_id=order.external_id), False


def _record_external(order: ExternalOrderInput, location: Location) -> Order:
    priced = price_lines(location=location, lines=order.lines, require_stocked=False)
    unstocked = {line.variant.id for line in priced if line.variant.level_id is None}
    if unstocked:  # a fact about an item this store never stocked: start its ledger at zero
        for variant_id in sorted(unstocked):
            stock.ensure_stock_level(location_id=location.pk, variant_id=variant_id)
        priced = price_lines(location=location, lines=order.lines, require_stocked=False)
    totals = keep_platform_figures(priced=priced, order=order)
    customer = match_customer(name=order.customer.name, phone=order.customer.phone,
                              email=order.customer.email, platform=order.platform,
                              platform_customer_id=order.customer.platform_customer_id,
                              region=location.country)
    facts = order.tenders or (TenderFact(type=order.tender_type, amount=totals.total),)
    record = Order.objects.create(
        channel=order.channel, source_name=order.source_name, external_id=order.external_id,
        location=location,
        status=OrderStatus.FULFILLED if order.already_fulfilled else OrderStatus.ACCEPTED,
        stock_mode=StockMode.SOLD if order.already_fulfilled else StockMode.RESERVED,
        fulfillment_type=order.fulfillment_type, customer=customer,
        customer_name=order.customer.name, customer_phone=order.customer.phone,
        customer_email=order.customer.email, placed_at=order.placed_at,
        **order_amounts(totals, tip=sum(fact.tip for fact in facts)),
    )
    create_lines(record, priced)
    Payment.objects.bulk_create([
        Payment(order=record, tender_type=fact.type, status=fact.status, amount=fact.amount,
                tip_amount=fact.tip, processing_fee_amount=fact.processing_fee,
                currency=totals.currency, platform=fact.platform or order.platform or order.source_name,
                reference=fact.reference or order.external_id)
        for fact in facts
    ])
    if all(fact.status == PaymentStatus.PAID for fact in facts):
        tendering.earn_loyalty(order=record, points_redeemed=0,
                               actor=f"{order.channel}:{order.source_name}")
    announce(record, topics.ORDER_RECORDED, priced)
    shortfalls = stock.record_stock_facts(
        requests=[stock.StockRequest(line.variant.level_id, line.quantity) for line in priced],
        reserved=not order.already_fulfilled, order_id=record.pk,
        actor=f"{order.channel}:{order.source_name}", reference=order.external_id,
        occurred_at=order.placed_at,
    )
    _open_oversold(record, location, priced, shortfalls)
    return record


def _open_oversold(record: Order, location: Location, priced: list[PricedLine], shortfalls) -> None:
    by_level = {line.variant.level_id: line for line in priced}
    for shortfall in shortfalls:
        line = by_level[shortfall.level_id]
        units = shortfall.units_short
        open_exception(
            kind="oversold",
            title=f"{units} × {line.variant.sku} oversold at {location.code} "
                  f"({record.channel} order #{record.pk})",
            detail=f"{record.source_name or record.channel} sold {shortfall.requested}, "
                   f"{max(0, shortfall.available_before)} were available.",
            location_code=location.code, units=units, value_amount=units * line.unit_price,
            currency=record.currency,
            data={"order_id": record.pk, "sku": line.variant.sku, "requested": shortfall.requested,
                  "available_before": shortfall.available_before,
                  "external_id": record.external_id, "source_name": record.source_name},
        )
