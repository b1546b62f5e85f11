"""Order writes: the one path every channel's order takes into Concord."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.core import topics
from apps.core.errors import InvalidTransition, ValidationFailed
from apps.core.idempotency import IdempotentResult, run_idempotent
from apps.core.services import open_exception, record_audit, write_outbox
from apps.customers.services import find_or_create_customer
from apps.inventory import services as stock
from apps.inventory.exceptions import InsufficientStock, ItemUnavailable, StockShortage
from apps.inventory.selectors import get_location, level_ids_by_variant, levels_by_id
from apps.orders.enums import (
    ALLOWED_TRANSITIONS,
    OrderStatus,
    PaymentStatus,
    StockMode,
    TenderType,
)
from apps.orders.exceptions import DuplicateExternalId, PriceChanged, UnknownSku
from apps.orders.models import Order, OrderLine, Payment
from apps.orders.selectors import (
    SellableVariant,
    get_modifiers,
    get_order,
    get_product_modifier_groups,
    get_sellable_variants,
    order_document,
)

if TYPE_CHECKING:
    from apps.inventory.models import Location

EXTERNAL_ID_CONSTRAINT = "order_external_id_unique"


@dataclass(frozen=True)
class ModifierInput:
    sku: str
    quantity: int = 1


@dataclass(frozen=True)
class LineInput:
    sku: str
    quantity: int
    modifiers: tuple[ModifierInput, ...] = ()
    note: str = ""
    unit_price: int | None = None  # a fact's own price; refusable orders use the catalog's


@dataclass(frozen=True)
class CustomerInput:
    name: str = ""
    phone: str = ""  # E.164
    email: str = ""


@dataclass(frozen=True)
class OrderInput:
    location_code: str
    lines: tuple[LineInput, ...]
    fulfillment_type: str
    fulfillment_at: datetime | None = None
    delivery_address: dict | None = None
    customer: CustomerInput = field(default_factory=CustomerInput)
    tender_type: str = TenderType.PAY_AT_PICKUP
    source_name: str = ""
    external_id: str = ""
    note: str = ""
    expected_total: tuple[int, str] | None = None


@dataclass
class PricedLine:
    number: int
    variant: SellableVariant
    quantity: int
    unit_price: int
    modifiers: list[dict]
    note: str

    @property
    def total(self) -> int:
        return self.unit_price * self.quantity


# ---------------------------------------------------------------- pricing


def price_lines(*, location: Location, lines: tuple[LineInput, ...], require_stocked: bool = True
                ) -> list[PricedLine]:
    """Lines priced from the catalog, modifiers validated against the product's groups."""
    variants = get_sellable_variants(location_id=location.pk, skus=[line.sku for line in lines])
    modifiers = get_modifiers(sorted({m.sku for line in lines for m in line.modifiers}))
    # Group rules matter only for lines with modifiers or products that require some.
    lines_with_modifiers = {line.sku for line in lines if line.modifiers}
    groups = get_product_modifier_groups({
        v.product_id for v in variants.values()
        if v.sku in lines_with_modifiers or v.has_required_modifiers
    })
    priced = []
    for index, line in enumerate(lines):
        variant = variants.get(line.sku)
        if variant is None:
            raise UnknownSku(f"Unknown SKU {line.sku!r}.", field=f"lines[{index}].sku")
        if require_stocked:
            _check_sellable(variant, location, index)
        line_modifiers, delta = _price_modifiers(line, index, modifiers,
                                                 groups.get(variant.product_id, {}))
        unit_price = variant.price + delta if line.unit_price is None else line.unit_price
        priced.append(PricedLine(index + 1, variant, line.quantity, unit_price, line_modifiers,
                                 line.note))
    _check_single_currency(priced)
    return priced


def _check_sellable(variant: SellableVariant, location: Location, index: int) -> None:
    field_name = f"lines[{index}].sku"
    if not variant.is_active or variant.level_id is None:
        raise ItemUnavailable(f"{variant.sku} is not sold at {location.code}.", field=field_name)
    if variant.is_86d:
        raise ItemUnavailable(f"{variant.sku} is 86'd at {location.code}.", field=field_name)


def _price_modifiers(line: LineInput, index: int, modifiers: dict, allowed: dict
                     ) -> tuple[list[dict], int]:
    chosen: list[dict] = []
    per_group: dict[int, int] = {}
    delta = 0
    for m_index, wanted in enumerate(line.modifiers):
        field_name = f"lines[{index}].modifiers[{m_index}].sku"
        modifier = modifiers.get(wanted.sku)
        if modifier is None or not modifier["is_active"]:
            raise UnknownSku(f"Unknown modifier {wanted.sku!r}.", field=field_name)
        if modifier["group_id"] not in allowed:
            raise ValidationFailed(f"{wanted.sku} is not a modifier of {line.sku}.",
                                   field=field_name, extra={"code": "modifier_not_allowed"})
        per_group[modifier["group_id"]] = per_group.get(modifier["group_id"], 0) + wanted.quantity
        delta += modifier["price_delta"] * wanted.quantity
        chosen.append({"sku": modifier["sku"], "name": modifier["name"],
                       "quantity": wanted.quantity, "price_delta": modifier["price_delta"]})
    for group_id, (minimum, maximum, name) in allowed.items():
        count = per_group.get(group_id, 0)
        if not minimum <= count <= maximum:
            raise ValidationFailed(
                f"{line.sku} takes {minimum} to {maximum} choices of {name}; got {count}.",
                field=f"lines[{index}].modifiers", extra={"code": "modifier_count"},
            )
    return chosen, delta


def _check_single_currency(priced: list[PricedLine]) -> None:
    currencies = {line.variant.currency for line in priced}
    if len(currencies) > 1:
        raise ValidationFailed("An order's lines must share one currency.", field="lines")


# ---------------------------------------------------------------- refusable orders


def place_order(*, client, order: OrderInput, idempotency_key: str, request_hash: str
                ) -> IdempotentResult:
    """A refusable order (phone, API, web checkout): priced from the catalog, stock
    reserved all-or-nothing, once per idempotency key."""
    location = get_location(order.location_code)
    attempt: dict = {}

    def create() -> tuple[int, dict]:
        priced = price_lines(location=location, lines=order.lines)
        attempt["priced"] = priced
        _check_expected_total(order, priced)
        document = _create_reserved_order(client=client, order=order, location=location,
                                          priced=priced)
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


def _check_expected_total(order: OrderInput, priced: list[PricedLine]) -> None:
    if order.expected_total is None:
        return
    amount, currency = order.expected_total
    total = sum(line.total for line in priced)
    actual_currency = priced[0].variant.currency
    if amount != total or currency != actual_currency:
        raise PriceChanged(
            f"The order totals {total} {actual_currency}, not {amount} {currency}.",
            field="expected_total",
            extra={"current_total": {"amount": total, "currency": actual_currency}},
        )


def _create_reserved_order(*, client, order: OrderInput, location: Location,
                           priced: list[PricedLine]) -> dict:
    customer = find_or_create_customer(name=order.customer.name, phone=order.customer.phone,
                                       email=order.customer.email)
    total = sum(line.total for line in priced)
    currency = priced[0].variant.currency
    now = timezone.now()
    record = Order.objects.create(
        channel=client.channel, source_name=order.source_name, external_id=order.external_id,
        api_client=client, location=location, status=OrderStatus.ACCEPTED,
        stock_mode=StockMode.RESERVED, fulfillment_type=order.fulfillment_type,
        fulfillment_at=order.fulfillment_at, delivery_address=order.delivery_address,
        customer=customer, customer_name=order.customer.name,
        customer_phone=order.customer.phone, customer_email=order.customer.email,
        currency=currency, subtotal_amount=total, total_amount=total, note=order.note,
        placed_at=now,
    )
    lines = _create_lines(record, priced)
    payment_status = (PaymentStatus.PENDING if order.tender_type == TenderType.PAY_AT_PICKUP
                      else PaymentStatus.PAID)
    payments = [Payment.objects.create(order=record, tender_type=order.tender_type,
                                       status=payment_status, amount=total, currency=currency)]
    _announce(record, topics.ORDER_CREATED, priced)
    record_audit(action="order.placed", obj=record, actor_client=client)
    # Last: the stock rows are the contended locks, held for the shortest time.
    stock.reserve_stock(
        requests=[stock.StockRequest(line.variant.level_id, line.quantity) for line in priced],
        order_id=record.pk, actor=f"api:{client.pk}", occurred_at=now,
    )
    return order_document(record, lines=lines, payments=payments)


def _create_lines(record: Order, priced: list[PricedLine]) -> list[OrderLine]:
    return OrderLine.objects.bulk_create([
        OrderLine(order=record, line_number=line.number, variant_id=line.variant.id,
                  sku=line.variant.sku, name=line.variant.name, quantity=line.quantity,
                  unit_price=line.unit_price, modifiers=line.modifiers, line_total=line.total,
                  note=line.note)
        for line in priced
    ])


def _announce(record: Order, topic: str, priced: list[PricedLine] | None = None) -> None:
    if priced is None:
        priced_variant_ids = sorted({line.variant_id for line in record.lines.all()})
    else:
        priced_variant_ids = sorted({line.variant.id for line in priced})
    payload: topics.OrderPayload = {
        "order_id": record.pk, "channel": record.channel, "location_id": record.location_id,
        "status": record.status, "source_name": record.source_name, "variant_ids": priced_variant_ids}
    write_outbox(topic=topic, aggregate_type="Order", aggregate_id=record.pk, payload=payload)


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


# ---------------------------------------------------------------- facts from other systems


@dataclass(frozen=True)
class ExternalOrderInput:
    channel: str
    source_name: str
    external_id: str
    location_code: str
    lines: tuple[LineInput, ...]
    placed_at: datetime
    fulfillment_type: str
    already_fulfilled: bool  # a register sale: the customer left with the goods
    tender_type: str = TenderType.EXTERNAL
    customer: CustomerInput = field(default_factory=CustomerInput)
    total: int | None = None  # the platform's own total, when it differs from the lines


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
    customer = find_or_create_customer(name=order.customer.name, phone=order.customer.phone,
                                       email=order.customer.email)
    subtotal = sum(line.total for line in priced)
    currency = priced[0].variant.currency
    record = Order.objects.create(
        channel=order.channel, source_name=order.source_name, external_id=order.external_id,
        location=location,
        status=OrderStatus.FULFILLED if order.already_fulfilled else OrderStatus.ACCEPTED,
        stock_mode=StockMode.SOLD if order.already_fulfilled else StockMode.RESERVED,
        fulfillment_type=order.fulfillment_type, customer=customer,
        customer_name=order.customer.name, customer_phone=order.customer.phone,
        customer_email=order.customer.email, currency=currency, subtotal_amount=subtotal,
        total_amount=subtotal if order.total is None else order.total, placed_at=order.placed_at,
    )
    _create_lines(record, priced)
    Payment.objects.create(order=record, tender_type=order.tender_type, status=PaymentStatus.PAID,
                           amount=record.total_amount, currency=currency,
                           platform=order.source_name, reference=order.external_id)
    _announce(record, topics.ORDER_RECORDED, priced)
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


# ---------------------------------------------------------------- status changes


def _transition(*, order_id: int, to: str, client=None) -> Order:
    order = get_order(order_id, client=client)
    allowed_from = [status for status, targets in ALLOWED_TRANSITIONS.items() if to in targets]
    changed = Order.objects.filter(pk=order.pk, status__in=allowed_from).update(
        status=to, updated_at=timezone.now()
    )
    if changed != 1:
        current = Order.objects.values_list("status", flat=True).get(pk=order.pk)
        raise InvalidTransition(f"Order {order.pk} is {current}; it cannot become {to}.")
    order.status = to
    return order


def _stock_requests(order: Order) -> list[stock.StockRequest]:
    levels = level_ids_by_variant(location_id=order.location_id,
                                  variant_ids=[line.variant_id for line in order.lines.all()])
    return [stock.StockRequest(levels[line.variant_id], line.quantity) for line in order.lines.all()]


def mark_order_ready(*, order_id: int, client=None, user=None, actor: str = "") -> Order:
    """`client`: the API client acting, which may move only the orders it may see."""
    with transaction.atomic(savepoint=False):
        order = _transition(order_id=order_id, to=OrderStatus.READY, client=client)
        _announce(order, topics.ORDER_READY)
        record_audit(action="order.ready", obj=order, actor_client=client, actor_user=user,
                     actor_label=actor)
    return order


def fulfill_order(*, order_id: int, client=None, user=None, actor: str = "") -> Order:
    """The customer has the goods: committed stock leaves on hand."""
    with transaction.atomic(savepoint=False):
        order = _transition(order_id=order_id, to=OrderStatus.FULFILLED, client=client)
        if order.stock_mode == StockMode.RESERVED:
            stock.settle_reserved_stock(requests=_stock_requests(order), order_id=order.pk,
                                        fulfilled=True, actor=actor)
        _announce(order, topics.ORDER_FULFILLED)
        record_audit(action="order.fulfilled", obj=order, actor_client=client, actor_user=user,
                     actor_label=actor)
    return order


def cancel_order(*, order_id: int, client=None, actor: str = "", reason: str = "",
                 user=None) -> Order:
    """Cancel an open order: its reservation is released."""
    with transaction.atomic(savepoint=False):
        order = _transition(order_id=order_id, to=OrderStatus.CANCELED, client=client)
        # Only reserved orders can be canceled: a completed sale is fulfilled, and undoing
        # it is a return.
        stock.settle_reserved_stock(requests=_stock_requests(order), order_id=order.pk,
                                    fulfilled=False, actor=actor)
        Payment.objects.filter(order=order, status=PaymentStatus.PENDING).update(
            status=PaymentStatus.VOIDED
        )
        _announce(order, topics.ORDER_CANCELED)
        record_audit(action="order.canceled", obj=order, actor_client=client, actor_user=user,
                     actor_label=actor, data={"reason": reason})
    return order


_TRANSITIONS = {OrderStatus.READY: mark_order_ready, OrderStatus.FULFILLED: fulfill_order,
                OrderStatus.CANCELED: cancel_order}


def transition_order(*, order_id: int, to: str, client, idempotency_key: str, request_hash: str,
                     actor: str = "") -> IdempotentResult:
    """An API client moves an order to `to` (ready, fulfilled, canceled) once per idempotency
    key: a retry replays the first answer, in the transition's own transaction."""
    transition = _TRANSITIONS[to]

    def perform() -> tuple[int, dict]:
        order = transition(order_id=order_id, client=client, actor=actor)
        return 200, order_document(get_order(order.pk))

    return run_idempotent(client_id=client.pk, key=idempotency_key, request_hash=request_hash,
                          perform=perform)
