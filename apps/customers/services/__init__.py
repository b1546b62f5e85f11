"""Writes of the customers app: identity and matching, merge, loyalty, stored value."""

from apps.customers.services.identity import (
    find_or_create_customer,
    live_customer_id,
    match_customer,
    normalize_email,
    normalize_phone,
    report_possible_duplicate,
)
from apps.customers.services.loyalty import (
    adjust_points,
    earn_points,
    ensure_loyalty_account,
    get_loyalty_program,
    redeem_points,
    return_points,
    reverse_points,
)
from apps.customers.services.merge import (
    MergePreview,
    merge_customers,
    preview_customer_merge,
    undo_customer_merge,
)
from apps.customers.services.stored_value import (
    ensure_store_credit_account,
    expire_stored_value,
    issue_gift_card,
    issue_store_credit,
    normalize_gift_card_code,
    redeem_stored_value,
    refund_to_stored_value,
)

__all__ = [
    "MergePreview", "adjust_points", "earn_points", "ensure_loyalty_account",
    "ensure_store_credit_account", "expire_stored_value", "find_or_create_customer",
    "get_loyalty_program", "issue_gift_card", "issue_store_credit", "live_customer_id",
    "match_customer", "merge_customers", "normalize_email", "normalize_gift_card_code",
    "normalize_phone", "preview_customer_merge", "redeem_points", "redeem_stored_value",
    "refund_to_stored_value", "report_possible_duplicate", "return_points", "reverse_points",
    "undo_customer_merge",
]
