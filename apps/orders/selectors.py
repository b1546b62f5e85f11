"""Reads of orders and the catalog facts an order is priced from."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connection
from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import Lower, Reverse, Upper

from apps.catalog.models import Modifier, ModifierGroup, Product, Variant
from apps.core.errors import NotFound
from apps.customers.services import live_customer_id
from apps.orders.enums import PaymentStatus, TenderType
from apps.orders.models import Order, OrderLine, Payment


@dataclass(frozen=True)
class SellableVariant:
    id: int
    sku: str
    name: str
    price: int
    currency: str
    product_id: int
    is_active: bool
    level_id: int | None
    is_86d: bool
    has_required_modifiers: bool
    tax_category: str = "standard"


def _sellable_variants_sql() -> str:
    # Written out rather than built by the ORM: every order runs it, and building the
    # queryset (a filtered join and an EXISTS) cost more than a millisecond per order.
    groups = Product.modifier_groups.through
    levels = Variant._meta.get_field("stock_levels").related_model  # inventory's, read through the catalog
    return (
        "SELECT v.id, v.sku, v.name, v.price_amount, v.currency, v.product_id, v.is_active, "
        "l.id, COALESCE(l.is_86d, false), "
        f"EXISTS (SELECT 1 FROM {groups._meta.db_table} pg JOIN {ModifierGroup._meta.db_table} g "
        "ON g.id = pg.modifiergroup_id WHERE pg.product_id = v.product_id AND g.min_selected > 0), "
        "p.tax_category "
        f"FROM {Variant._meta.db_table} v JOIN {Product._meta.db_table} p ON p.id = v.product_id "
        f"LEFT JOIN {levels._meta.db_table} l ON l.variant_id = v.id AND l.location_id = %s "
        "WHERE v.sku = ANY(%s)"
    )


def get_sellable_variants(*, location_id: int, skus: list[str]) -> dict[str, SellableVariant]:
    """Variants by SKU with their stock level at the location, in one query."""
    with connection.cursor() as cursor:
        cursor.execute(_sellable_variants_sql(), [location_id, list(skus)])
        rows = cursor.fetchall()
    return {
        sku: SellableVariant(
            id=variant_id, sku=sku, name=name, price=price, currency=currency, product_id=product_id,
            is_active=is_active, level_id=level_id, is_86d=is_86d, has_required_modifiers=required,
            tax_category=tax_category,
        )
        for (variant_id, sku, name, price, currency, product_id, is_active, level_id, is_86d, required,
             tax_category) in rows
    }


def get_modifiers(skus: list[str]) -> dict[str, dict]:
    if not skus:
        return {}
    return {
        row["sku"]: row
        for row in Modifier.objects.filter(sku__in=skus).values(
            "id", "sku", "name", "price_delta", "is_active", "group_id", "group__name",
            "group__max_selected",
        )
    }


def get_product_modifier_groups(product_ids: set[int]) -> dict[int, dict[int, tuple[int, int, str]]]:
    """product id -> {group id: (min, max, name)}."""
    through = Product.modifier_groups.through
    groups: dict[int, dict[int, tuple[int, int, str]]] = {pid: {} for pid in product_ids}
    for row in through.objects.filter(product_id__in=product_ids).values(
        "product_id", "modifiergroup_id", "modifiergroup__min_selected",
        "modifiergroup__max_selected", "modifiergroup__name",
    ):
        groups[row["product_id"]][row["modifiergroup_id"]] = (
            row["modifiergroup__min_selected"], row["modifiergroup__max_selected"],
            row["modifiergroup__name"],
        )
    return groups


def orders_visible_to(client) -> QuerySet[Order]:
    """The orders an API client may read, cancel and refund: a channel key only those its
    own client placed (two phone vendors never see each other's orders or customers); a
    staff key (one with a role) every channel's."""
    if client.role:
        return Order.objects.all()
    return Order.objects.filter(api_client_id=client.pk)


def get_order(order_id: int, *, client=None) -> Order:
    """An order by id; with `client`, only one that client may see: another's order is
    `not_found`, exactly like an id that does not exist (never a 403 that tells it does)."""
    orders = Order.objects.all() if client is None else orders_visible_to(client)
    order = orders.select_related("location").prefetch_related("lines", "payments") \
        .filter(pk=order_id).first()
    if order is None:
        raise NotFound(f"No order {order_id}.")
    return order


def _money(amount: int, currency: str) -> dict:
    return {"amount": amount, "currency": currency}


def order_document(order: Order, *, lines=None, payments=None) -> dict:
    """The public representation of an order (API v1). Reads nothing beyond the order, its
    location, lines and payments (prefetched by get_order)."""
    lines = order.lines.all() if lines is None else lines
    payments = order.payments.all() if payments is None else payments
    currency = order.currency
    paid = sum(p.amount for p in payments if p.status == PaymentStatus.PAID)
    return {
        "id": order.pk,
        "status": order.status,
        "channel": order.channel,
        "source_name": order.source_name,
        "external_id": order.external_id,
        "location": order.location.code,
        "fulfillment": {
            "type": order.fulfillment_type,
            "at": order.fulfillment_at.isoformat() if order.fulfillment_at else None,
            "address": order.delivery_address,
        },
        "customer": _customer(order),
        "contact": _contact(order),
        "lines": [_line(line, currency) for line in lines],
        "tenders": [_tender(p, currency) for p in payments],
        "subtotal": _money(order.subtotal_amount, currency),
        "discount": _money(order.discount_amount, currency),
        "tax": _money(order.tax_amount, currency),
        "adjustment": _money(order.adjustment_amount, currency),
        "total": _money(order.total_amount, currency),
        "tip": _money(order.tip_amount, currency),
        "refunded": _money(order.refunded_amount, currency),
        "refundable": _money(max(0, paid - order.refunded_amount), currency),
        "loyalty": {"earned_points": order.loyalty_points_earned,
                    "redeemed_points": sum(p.points for p in payments
                                           if p.tender_type == TenderType.LOYALTY
                                           and p.status == PaymentStatus.PAID)},
        "note": order.note,
        "placed_at": order.placed_at.isoformat(),
        "created_at": order.created_at.isoformat(),
    }


def _customer(order: Order) -> dict | None:
    """The matched customer (DESIGN.md), null when the order matched nobody."""
    if order.customer_id is None:
        return None
    return {"id": order.customer_id, **_contact(order)}


def _contact(order: Order) -> dict:
    # Who the order is for, as given with it, matched or not: what a POS ticket shows (the
    # adapters read this, never `customer`, which is null when nobody was matched).
    return {"name": order.customer_name, "phone": order.customer_phone, "email": order.customer_email}


def _line(line: OrderLine, currency: str) -> dict:
    return {
        "line": line.line_number, "sku": line.sku, "name": line.name, "quantity": line.quantity,
        "unit_price": _money(line.unit_price, currency),
        "modifiers": [{**m, "price_delta": _money(m["price_delta"], currency)} for m in line.modifiers],
        "note": line.note,
        "total": _money(line.line_total, currency),
        "discount": _money(line.discount_amount, currency),
        "net": _money(line.net_amount, currency),
        "tax": _money(line.tax_amount, currency),
        "tax_rate_bps": line.tax_rate_bps,
        "refunded_quantity": line.refunded_quantity,
    }


def _tender(payment: Payment, currency: str) -> dict:
    tender = {"type": payment.tender_type, "status": payment.status,
              "amount": _money(payment.amount, currency), "platform": payment.platform,
              "reference": payment.reference, "tip": _money(payment.tip_amount, currency),
              "processing_fee": _money(payment.processing_fee_amount, currency)}
    if payment.tender_type == TenderType.LOYALTY:
        tender["points"] = payment.points
    return tender


def units_by_variant(*, order_ids, variant_ids=None) -> dict[int, int]:
    """Units per variant on these orders (`order_ids`: ids, a subquery, or a Q on `order_id`)."""
    lines = OrderLine.objects.filter(order_ids if isinstance(order_ids, Q) else Q(order_id__in=order_ids))
    if variant_ids is not None:
        lines = lines.filter(variant_id__in=variant_ids)
    return dict(lines.values("variant_id").annotate(units=Sum("quantity")).values_list("variant_id", "units"))


def search_orders(*, query: str = "", channel: str = "", location_code: str = "", status: str = "",
                  location_ids: set[int] | None = None) -> QuerySet[Order]:
    """Orders of every channel, newest first, matching one search box: the order number, an
    external id, or the customer's name, email or phone (any punctuation). `location_ids`
    fences the result (None: every location)."""
    orders = Order.objects.select_related("location")
    if location_ids is not None:
        orders = orders.filter(location_id__in=location_ids)
    if channel:
        orders = orders.filter(channel=channel)
    if location_code:
        orders = orders.filter(location__code=location_code)
    if status:
        orders = orders.filter(status=status)
    query = query.strip()
    if query:
        orders = _matching(orders, query)
    return orders.order_by("-placed_at", "-id")


def _matching(orders: QuerySet[Order], query: str) -> QuerySet[Order]:
    """Orders matching one search box. Each way of matching is one an index of migration
    0005 answers (no scan of every order): the number; the external id, whatever its case;
    an email from its start; a phone by its last digits (any punctuation); words of the
    customer's name from their start ("ana ru" finds Ana Ruiz)."""
    orders = orders.alias(external_id_upper=Upper("external_id"), email_lower=Lower("customer_email"),
                          phone_reversed=Reverse("customer_phone"),
                          name_words=SearchVector("customer_name", config="simple"))
    match = Q(external_id_upper=query.upper()) | Q(email_lower__startswith=query.lower())
    words = re.findall(r"[^\W_]+", query.lower())
    if words and not all(word.isdigit() for word in words):  # a number or a phone is no name
        match |= Q(name_words=SearchQuery(" & ".join(f"{word}:*" for word in words),
                                          search_type="raw", config="simple"))
    number = query.removeprefix("#")
    if number.isdigit() and len(number) < 19:
        match |= Q(pk=int(number))
    digits = "".join(ch for ch in query if ch.isdigit())
    if len(digits) >= 4:
        match |= Q(phone_reversed__startswith=digits[::-1])
    return orders.filter(match)


def find_external_order(*, channel: str, source_name: str, external_id: str) -> Order | None:
    """The order another system reported under its own id (a register sale, a web order)."""
    if not external_id:
        return None
    return Order.objects.filter(channel=channel, source_name=source_name, external_id=external_id).first()


API_PAGE_SIZE = 50


@dataclass(frozen=True)
class OrderFilters:
    """GET /api/v1/orders' filters; empty ones do not filter."""

    q: str = ""
    channel: str = ""
    location_code: str = ""
    external_id: str = ""
    customer_id: int | None = None
    placed_after: datetime | None = None
    placed_before: datetime | None = None


@dataclass(frozen=True)
class OrderPage:
    documents: list[dict]
    next_after: tuple[datetime, int] | None  # the last order's (placed_at, id), if more follow


def list_order_documents(*, client, filters: OrderFilters, after: tuple[datetime, int] | None = None,
                         page_size: int | None = None) -> OrderPage:
    """A page of the orders `client` may see, newest first, as order documents; keyset
    paginated on (placed_at, id), so orders placed meanwhile neither repeat nor hide one.
    Built in a constant number of queries (orders with their location, lines, payments)."""
    page_size = page_size or API_PAGE_SIZE
    orders = search_orders(query=filters.q, channel=filters.channel, location_code=filters.location_code)
    if not client.role:  # a channel key: only what its own client placed (orders_visible_to)
        orders = orders.filter(api_client_id=client.pk)
    if filters.external_id:
        orders = orders.filter(external_id=filters.external_id)
    if filters.customer_id is not None:
        orders = orders.filter(customer_id=live_customer_id(filters.customer_id))
    if filters.placed_after:
        orders = orders.filter(placed_at__gte=filters.placed_after)
    if filters.placed_before:
        orders = orders.filter(placed_at__lt=filters.placed_before)
    if after is not None:
        placed_at, order_id = after
        orders = orders.filter(Q(placed_at__lt=placed_at) | Q(placed_at=placed_at, pk__lt=order_id))
    found = list(orders.prefetch_related("lines", "payments")[: page_size + 1])
    page = found[:page_size]
    last = page[-1] if len(found) > page_size else None
    return OrderPage(documents=[order_document(order) for order in page],
                     next_after=(last.placed_at, last.pk) if last else None)
