from django.db import models


class RefundStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # some part still waits for a platform or a person
    COMPLETED = "completed", "Completed"
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
    REJECTED = "rejected", "Rejected"
    FAILED = "failed", "Failed"


class RefundPartStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # waits for the delivery engine to send it
    SENT = "sent", "Sent"  # the platform took it; its confirmation has not come back yet
    COMPLETED = "completed", "Completed"
    MANUAL_REQUIRED = "manual_required", "Manual refund required"
    FAILED = "failed", "Failed"


# The reference of a cash part the till paid back (a drawer payout): no processor saw it.
DRAWER_PAYOUT_PREFIX = "drawer-payout:"

# Parts that no longer change the money owed: a refund whose parts are all here is done.
SETTLED_PART_STATUSES = (RefundPartStatus.COMPLETED,)

# Platforms whose refund API Concord calls through the delivery engine (CONNECTORS.md
# §2.6 Square RefundPayment, §4.4 Shopify refunds). Toast has no refund API and Clover none
# for card-present payments (PLATFORM_MONEY.md §0): those parts are done by staff at the POS.
PLATFORMS_WITH_REFUND_API = ("square", "shopify")
