"""What callers hand the order services: plain, frozen values."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from apps.orders.enums import PaymentStatus, TenderType


@dataclass(frozen=True)
class ModifierInput:
    sku: str
    quantity: int = 1


@dataclass(frozen=True)
class DiscountInput:
    """A fixed amount off (`amount` in `currency`) or a percentage off (`percent_bps`)."""

    amount: int = 0
    currency: str = ""
    percent_bps: int = 0


@dataclass(frozen=True)
class LineInput:
    sku: str
    quantity: int
    modifiers: tuple[ModifierInput, ...] = ()
    note: str = ""
    unit_price: int | None = None  # a fact's own price; refusable orders use the catalog's
    discounts: tuple[DiscountInput, ...] = ()  # refusable orders: computed here
    discount: int | None = None  # a fact's own discount on this line, as the platform computed it
    tax: int | None = None  # a fact's own tax on this line


@dataclass(frozen=True)
class CustomerInput:
    name: str = ""
    phone: str = ""  # E.164
    email: str = ""
    platform_customer_id: str = ""  # the platform's id for them (facts from a platform)


@dataclass(frozen=True)
class TenderInput:
    """One tender of an API order. `amount` None: the whole total when it is the only
    tender; a pay_at_pickup tender never names one (it is the remainder)."""

    type: str
    amount: int | None = None
    currency: str = ""
    tip: int = 0
    reference: str = ""
    code: str = ""  # a gift card's
    points: int = 0  # loyalty


@dataclass(frozen=True)
class OrderInput:
    location_code: str
    lines: tuple[LineInput, ...]
    fulfillment_type: str
    fulfillment_at: datetime | None = None
    delivery_address: dict | None = None
    customer: CustomerInput = field(default_factory=CustomerInput)
    tender_type: str = TenderType.PAY_AT_PICKUP  # the one `tender` of old callers
    tenders: tuple[TenderInput, ...] = ()
    tenders_field: str = "tenders"  # where errors about them point ("tender" for the one)
    discounts: tuple[DiscountInput, ...] = ()
    source_name: str = ""
    external_id: str = ""
    note: str = ""
    expected_total: tuple[int, str] | None = None


@dataclass(frozen=True)
class TenderFact:
    """A tender a platform took: recorded as it reports it (amount without the tip)."""

    type: str
    amount: int
    tip: int = 0
    processing_fee: int = 0
    platform: str = ""
    reference: str = ""
    status: str = PaymentStatus.PAID


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
    platform: str = ""  # the platform's code (square, shopify...): customer ids are per platform
    discount: int | None = None  # the platform's order-level discount, beyond the lines' own
    tax: int | None = None  # the platform's tax for the whole order (spread over lines)
    tenders: tuple[TenderFact, ...] = ()  # none: one `tender_type` tender for the total
