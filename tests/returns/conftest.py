from datetime import UTC, datetime

import pytest

from apps.orders import services
from apps.orders.enums import PaymentStatus

PLACED = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)


def register_sale(*, external_id="sale-1", platform="square", source_name="Square", quantity=3,
                  sku="TACO", tenders=None, tax=None, discount=None, customer=None):
    """A register sale of `quantity` tacos (375 each) recorded as the platform reports it."""
    total = 375 * quantity - (discount or 0) + (tax or 0)
    tenders = tenders or (services.TenderFact(type="card", amount=total, platform=platform,
                                              reference=f"{platform}-pay-1", status=PaymentStatus.PAID),)
    order, _ = services.record_external_order(order=services.ExternalOrderInput(
        channel="register", source_name=source_name, external_id=external_id, location_code="OAK",
        lines=(services.LineInput(sku, quantity),), placed_at=PLACED, fulfillment_type="in_store",
        already_fulfilled=True, platform=platform, tenders=tenders, tax=tax, discount=discount,
        customer=customer or services.CustomerInput(),
    ))
    return order


@pytest.fixture
def sale(shop):
    return register_sale
