from django.db import models


class OrderStatus(models.TextChoices):
    ACCEPTED = "accepted", "Accepted"
    READY = "ready", "Ready"
    FULFILLED = "fulfilled", "Fulfilled"
    CANCELED = "canceled", "Canceled"


# The only moves an order can make; services change status by compare-and-set on these.
ALLOWED_TRANSITIONS: dict[str, set[str]] = {
    OrderStatus.ACCEPTED: {OrderStatus.READY, OrderStatus.FULFILLED, OrderStatus.CANCELED},
    OrderStatus.READY: {OrderStatus.FULFILLED, OrderStatus.CANCELED},
    OrderStatus.FULFILLED: set(),
    OrderStatus.CANCELED: set(),
}


class FulfillmentType(models.TextChoices):
    PICKUP = "pickup", "Pickup"
    DELIVERY = "delivery", "Delivery"
    SHIPPING = "shipping", "Shipping"
    DINE_IN = "dine_in", "Dine in"
    IN_STORE = "in_store", "Taken in store"


class TenderType(models.TextChoices):
    PAY_AT_PICKUP = "pay_at_pickup", "Pay at pickup"
    CARD = "card", "Card"
    CASH = "cash", "Cash"
    GIFT_CARD = "gift_card", "Gift card"
    STORE_CREDIT = "store_credit", "Store credit"
    LOYALTY = "loyalty", "Loyalty points"
    OTHER = "other", "Other"
    EXTERNAL = "external", "Paid on another platform"
    EXCHANGE = "exchange", "Exchange credit"  # the value of goods returned in an exchange


# Tenders drawn on a Concord balance: redeemed in the order's own transaction.
STORED_VALUE_TENDERS = (TenderType.GIFT_CARD, TenderType.STORE_CREDIT)


class PaymentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PAID = "paid", "Paid"
    VOIDED = "voided", "Voided"


class StockMode(models.TextChoices):
    """How an order holds stock: a reservation (committed until fulfilled) or a sale
    already made (on hand decremented at once)."""

    RESERVED = "reserved", "Reserved"
    SOLD = "sold", "Sold"
