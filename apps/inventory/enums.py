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
    TRANSFER_OUT = "transfer_out", "Transferred out"
    TRANSFER_IN = "transfer_in", "Transferred in"
