from django.db import models


class MovementReason(models.TextChoices):
    RECEIPT = "receipt", "Received"
    ADJUSTMENT = "adjustment", "Adjustment"
    COUNT = "count", "Stock count"
    RESERVATION = "reservation", "Reserved for an order"
    RELEASE = "release", "Reservation released"
    FULFILLMENT = "fulfillment", "Order fulfilled"
    SALE = "sale", "Sold"
    RETURN = "return", "Returned"
