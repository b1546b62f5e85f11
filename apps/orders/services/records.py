"""Rows every order path writes the same way: its lines and its outbox row."""

from __future__ import annotations

from apps.core import topics
from apps.core.services import write_outbox, write_outbox_with_audit
from apps.orders.models import Order, OrderLine
from apps.orders.services.pricing import OrderTotals, PricedLine


def order_amounts(totals: OrderTotals, *, tip: int = 0) -> dict:
    """The Order fields of its totals (the CHECK `order_total_adds_up` holds them together)."""
    return {"currency": totals.currency, "subtotal_amount": totals.subtotal,
            "discount_amount": totals.discount, "tax_amount": totals.tax,
            "adjustment_amount": totals.adjustment, "total_amount": totals.total, "tip_amount": tip}


def create_lines(record: Order, priced: list[PricedLine]) -> list[OrderLine]:
    return OrderLine.objects.bulk_create([
        OrderLine(order=record, line_number=line.number, variant_id=line.variant.id,
                  sku=line.variant.sku, name=line.variant.name, quantity=line.quantity,
                  unit_price=line.unit_price, modifiers=line.modifiers, line_total=line.total,
                  discount_amount=line.discount, net_amount=line.net, tax_amount=line.tax,
                  tax_rate_bps=line.tax_rate_bps,
                  note=line.note)
        for line in priced
    ])


def announce(record: Order, topic: str, priced: list[PricedLine] | None = None) -> None:
    write_outbox(topic=topic, aggregate_type="Order", aggregate_id=record.pk,
                 payload=_payload(record, priced))


def announce_with_audit(record: Order, topic: str, priced: list[PricedLine], *, action: str,
                        client_id: int) -> None:
    """announce, and the API client's audit entry of `action`, in one statement."""
    write_outbox_with_audit(topic=topic, aggregate_type="Order", aggregate_id=record.pk,
                            payload=_payload(record, priced), audit_action=action,
                            actor_client_id=client_id)


def _payload(record: Order, priced: list[PricedLine] | None) -> topics.OrderPayload:
    if priced is None:
        priced_variant_ids = sorted({line.variant_id for line in record.lines.all()})
    else:
        priced_variant_ids = sorted({line.variant.id for line in priced})
    return {"order_id": record.pk, "channel": record.channel, "location_id": record.location_id,
            "status": record.status, "source_name": record.source_name, "variant_ids": priced_variant_ids}
