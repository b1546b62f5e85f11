"""A recorded order's customer, named by its platform after the order was recorded."""

from __future__ import annotations

from django.db import transaction

from apps.customers.services import match_customer
from apps.orders.enums import OrderStatus, PaymentStatus
from apps.orders.models import Order, Payment
from apps.orders.services import tenders as tendering
from apps.orders.services.inputs import CustomerInput


def attach_late_customer(*, order_id: int, customer: CustomerInput, platform: str = "",
                         region: str | None = None, actor: str = "") -> bool:
    """Give an order recorded without a customer the one its platform names now (staff
    added the shopper to a register sale after it was rung up), matched as on arrival;
    a paid order then earns its points, once. An order that already has a customer keeps
    it. Returns whether the customer was attached."""
    if Order.objects.filter(pk=order_id, customer__isnull=False).exists():
        return False
    matched = match_customer(name=customer.name, email=customer.email, phone=customer.phone,
                             platform=platform, platform_customer_id=customer.platform_customer_id,
                             region=region)
    if matched is None:
        return False
    with transaction.atomic():
        attached = Order.objects.filter(pk=order_id, customer__isnull=True).update(customer=matched)
        if attached != 1:
            return False  # another report attached one first
        order = Order.objects.get(pk=order_id)
        if _paid(order) and not order.loyalty_points_earned:
            tendering.earn_loyalty(order=order, actor=actor)
    return True


def _paid(order: Order) -> bool:
    statuses = set(Payment.objects.filter(order=order).values_list("status", flat=True))
    return order.status != OrderStatus.CANCELED and statuses == {PaymentStatus.PAID}
