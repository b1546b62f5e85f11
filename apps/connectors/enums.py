from django.db import models


class Platform(models.TextChoices):
    SHOPIFY = "shopify", "Shopify"
    SQUARE = "square", "Square"
    TOAST = "toast", "Toast"
    CLOVER = "clover", "Clover"


POS_PLATFORMS = (Platform.SQUARE, Platform.TOAST, Platform.CLOVER)


class DeliveryKind(models.TextChoices):
    INJECT_ORDER = "inject_order", "Send order to the POS"
    PUSH_STOCK = "push_stock", "Push availability"
    VOID_ORDER = "void_order", "Void the order's ticket at the POS"
    REFUND_PART = "refund_part", "Refund a payment at the platform"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    IN_FLIGHT = "in_flight", "In flight"
    DONE = "done", "Done"
    FAILED = "failed", "Failed (in the exception queue)"
    CANCELED = "canceled", "Canceled"


class InboundStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSED = "processed", "Processed"
    FAILED = "failed", "Failed"
    IGNORED = "ignored", "Ignored"


class Domain(models.TextChoices):
    CONTENT = "content", "Content (names, descriptions)"
    PRICE = "price", "Price"
    STOCK = "stock", "Stock"


CONCORD = "concord"
OWNER_CHOICES = [(CONCORD, "Concord"), *Platform.choices]


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
