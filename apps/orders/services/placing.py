"""Refusable orders (phone, API, web checkout): priced from the catalog, discounted and
taxed, paid by tenders that add up, stock reserved all-or-nothing, once per key."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import IntegrityError
from django.utils import timezone

from apps.core import topics
from apps.core.idempotency import IdempotentResult, run_idempotent
from apps.customers.services import match_customer
from apps.inventory import services as stock
from apps.inventory.exceptions import InsufficientStock, ItemUnavailable, StockShortage
from apps.inventory.selectors import get_location, levels_by_id
from apps.orders.enums import OrderStatus, PaymentStatus, StockMode
from apps.orders.exceptions import DuplicateExternalId, PriceChanged
from apps.orders.models import Order
from apps.orders.selectors import order_document
from apps.orders.services import tenders as tendering
from apps.orders.services.inputs import OrderInput, TenderInput
from apps.orders.services.pricing import (
    OrderTotals,
    PricedLine,
    apply_discounts_and_tax,
    price_lines,
)
from apps.orders.services.records import announce_with_audit, create_lines, order_amounts

if TYPE_CHECKING:
    from apps.inventory.models import Location

EXTERNAL_ID_CONSTRAINT = "order_external_id_unique"


def place_order(*, client, order: OrderInput, idempotency_key: str, request_hash: str
                ) -> IdempotentResult:
    """A refusable order: priced from the catalog, stock reserved all-or-nothing, its
    stored-value and loyalty tenders redeemed, once per idempotency key."""
    location = get_location(order.location_code)
    attempt: dict = {}

    def create() -> tuple[int, dict]:
        priced = price_lines(location=location, lines=order.lines)
        attempt["priced"] = priced
        totals = apply_discounts_and_tax(priced=priced, lines=order.lines,
                                         order_discounts=order.discounts, location=location)
        _check_expected_total(order, totals)
        planned = tendering.plan_tenders(tenders=_tenders_of(order), totals=totals,
                                         where=order.tenders_field)
        document = _create_reserved_order(client=client, order=order, location=location,
                                          priced=priced, totals=totals, planned=planned)
        return 201, document

    try:
        return run_idempotent(client_id=client.pk, key=idempotency_key,
                              request_hash=request_hash, perform=create)
    except StockShortage:
        raise _explain_shortage(location, attempt["priced"]) from None
    except IntegrityError as exc:
        if EXTERNAL_ID_CONSTRAINT in str(exc):
            raise DuplicateExternalId(
                f"An order with external_id {order.external_id!r} from {order.source_name!r} "
                "already exists.", field="external_id") from None
        raise


def _tenders_of(order: OrderInput) -> tuple[TenderInput, ...]:
    return order.tenders or (TenderInput(type=order.tender_type),)


def _check_expected_total(order: OrderInput, totals: OrderTotals) -> None:
    if order.expected_total is None:
        return
    amount, currency = order.expected_total
    if amount != totals.total or currency != totals.currency:
        raise PriceChanged(
            f"The order totals {totals.total} {totals.currency}, not {amount} {currency}.",
            field="expected_total",
            extra={"current_total": {"amount": totals.total, "currency": totals.currency}},
        )


def _create_reserved_order(*, client, order: OrderInput, location: Location, priced: list[PricedLine],
                           totals: OrderTotals, planned: list[tendering.PlannedTender]) -> dict:
    customer = match_customer(name=order.customer.name, phone=order.customer.phone,
                              email=order.customer.email, region=location.country)
    customer_id = customer.pk if customer is not None else None
    tendering.find_accounts(planned, customer_id=customer_id, currency=totals.currency,
                            where=order.tenders_field)
    now = timezone.now()
    record = Order.objects.create(
        channel=client.channel, source_name=order.source_name, external_id=order.external_id,
        api_client=client, location=location, status=OrderStatus.ACCEPTED,
        stock_mode=StockMode.RESERVED, fulfillment_type=order.fulfillment_type,
        fulfillment_at=order.fulfillment_at, delivery_address=order.delivery_address,
        customer=customer, customer_name=order.customer.name,
        customer_phone=order.customer.phone, customer_email=order.customer.email,
        note=order.note, placed_at=now,
        **order_amounts(totals, tip=sum(tender.tip for tender in planned)),
    )
    lines = create_lines(record, priced)
    actor = f"api:{client.pk}"
    tendering.redeem_tenders(planned, order=record, where=order.tenders_field, actor=actor)
    payments = tendering.create_payments(planned, order=record)
    if all(tender.status == PaymentStatus.PAID for tender in planned):
        tendering.earn_loyalty(order=record, actor=actor,
                               points_redeemed=sum(tender.points for tender in planned))
    announce_with_audit(record, topics.ORDER_CREATED, priced, action="order.placed", client_id=client.pk)
    # Last: the stock rows are the contended locks, held for the shortest time.
    stock.reserve_stock(
        requests=[stock.StockRequest(line.variant.level_id, line.quantity) for line in priced],
        order_id=record.pk, actor=actor, occurred_at=now,
    )
    return order_document(record, lines=lines, payments=payments)


def _explain_shortage(location: Location, priced: list[PricedLine]) -> Exception:
    """After the rollback: which lines were short, with what is available now."""
    wanted: dict[int, int] = {}
    for line in priced:
        wanted[line.variant.level_id] = wanted.get(line.variant.level_id, 0) + line.quantity
    levels = levels_by_id(wanted)
    errors = []
    for index, line in enumerate(priced):
        level = levels[line.variant.level_id]
        field_name = f"lines[{index}].quantity"
        if level.is_86d:
            return ItemUnavailable(f"{line.variant.sku} is 86'd at {location.code}.",
                                   field=f"lines[{index}].sku")
        available = max(0, level.available)
        if available < wanted[level.pk]:
            errors.append({
                "code": "insufficient_stock", "field": field_name, "sku": line.variant.sku,
                "requested": wanted[level.pk], "available": available,
                "detail": f"{wanted[level.pk]} × {line.variant.sku} requested, "
                          f"{available} available at {location.code}.",
            })
    if not errors:  # stock came back between the refusal and this read
        errors.append({"code": "insufficient_stock",
                       "detail": "Stock changed while the order was placed; retry."})
    return InsufficientStock(errors=errors)
