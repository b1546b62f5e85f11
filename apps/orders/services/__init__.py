"""Order writes: the one path every channel's order takes into Concord.

- placing: refusable orders (API, phone, web checkout), with tenders, tax and discounts
- external: sales other systems already made, with the platform's own figures
- transitions: ready, fulfilled, canceled
- pricing, tenders, records: what those share
- refunded: the refund counters the one refund path (apps.returns) raises and releases
"""

from apps.orders.services.customer_link import attach_late_customer
from apps.orders.services.external import record_external_order
from apps.orders.services.inputs import (
    CustomerInput,
    DiscountInput,
    ExternalOrderInput,
    LineInput,
    ModifierInput,
    OrderInput,
    TenderFact,
    TenderInput,
)
from apps.orders.services.placing import EXTERNAL_ID_CONSTRAINT, place_order
from apps.orders.services.pricing import OrderTotals, PricedLine, price_lines
from apps.orders.services.refunded import LineClaim, claim_refunded, release_refunded
from apps.orders.services.transitions import (
    cancel_order,
    fulfill_order,
    mark_order_ready,
    transition_order,
)

__all__ = [
    "EXTERNAL_ID_CONSTRAINT", "CustomerInput", "DiscountInput", "ExternalOrderInput", "LineClaim",
    "LineInput", "ModifierInput", "OrderInput", "OrderTotals", "PricedLine", "TenderFact", "TenderInput",
    "attach_late_customer", "cancel_order", "claim_refunded", "fulfill_order", "mark_order_ready",
    "place_order", "price_lines", "record_external_order", "release_refunded", "transition_order",
]
