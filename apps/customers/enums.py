from django.db import models


class LoyaltyEntryKind(models.TextChoices):
    EARN = "earn", "Earned on a paid order"
    REDEEM = "redeem", "Redeemed as a tender"
    REVERSE = "reverse", "Earned points reversed by a refund"
    RETURN = "return", "Redeemed points given back by a refund"
    ADJUST = "adjust", "Adjusted by staff"


class StoredValueKind(models.TextChoices):
    GIFT_CARD = "gift_card", "Gift card"
    STORE_CREDIT = "store_credit", "Store credit"


class StoredValueEntryKind(models.TextChoices):
    ISSUE = "issue", "Issued"
    REDEEM = "redeem", "Redeemed as a tender"
    REFUND = "refund", "Refunded to"
    EXPIRE = "expire", "Expired"
    ADJUST = "adjust", "Adjusted by staff"


# Entry kinds that add to a balance and those that take from it (the ledger's CHECKs).
LOYALTY_CREDITS = (LoyaltyEntryKind.EARN, LoyaltyEntryKind.RETURN)
LOYALTY_DEBITS = (LoyaltyEntryKind.REDEEM, LoyaltyEntryKind.REVERSE)
STORED_VALUE_CREDITS = (StoredValueEntryKind.ISSUE, StoredValueEntryKind.REFUND)
STORED_VALUE_DEBITS = (StoredValueEntryKind.REDEEM, StoredValueEntryKind.EXPIRE)
