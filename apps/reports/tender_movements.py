"""Money taken and given back at a location, by its business day: the tenders of the orders
placed there and the refund parts of the refunds made there. The journal books them and
the cash drawers expect their cash, so both read the same rows."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from apps.inventory.models import Location
from apps.orders.enums import OrderStatus, PaymentStatus
from apps.orders.models import Payment
from apps.reports.business_day import business_day_sql
from apps.reports.channel_figures import MONEY_REFUNDS
from apps.returns.models import RefundPart


def tenders_taken(location: Location, start: datetime, end: datetime) -> QuerySet[Payment]:
    """Tenders of the orders placed in [start, end), canceled orders and voided tenders left
    out, each annotated with `day`, its order's business day."""
    placed = business_day_sql('"orders_order"."placed_at"', location)
    return (Payment.objects.filter(order__location=location, order__placed_at__gte=start,
                                   order__placed_at__lt=end)
            .exclude(order__status=OrderStatus.CANCELED).exclude(status=PaymentStatus.VOIDED)
            .annotate(day=placed))


def refund_parts_given(location: Location, start: datetime, end: datetime) -> QuerySet[RefundPart]:
    """Parts of the refunds made in [start, end) that give money back, on orders not
    canceled, each annotated with `day`, its refund's business day."""
    made = business_day_sql('"returns_refund"."created_at"', location)
    return (RefundPart.objects.filter(refund__order__location=location, refund__created_at__gte=start,
                                      refund__created_at__lt=end, refund__status__in=MONEY_REFUNDS)
            .exclude(refund__order__status=OrderStatus.CANCELED).annotate(day=made))
