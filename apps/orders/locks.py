"""Row locks of the orders app, always in primary-key order."""

from __future__ import annotations

from apps.orders.models import Order


def lock_order(order_id: int) -> Order:
    """One order, locked until the transaction ends: two platforms reporting on it at once
    (a close and a void) are applied one after the other, each seeing the other's outcome."""
    return Order.objects.select_for_update(of=("self",)).select_related("location").get(pk=order_id)
