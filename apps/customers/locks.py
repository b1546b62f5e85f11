"""Row locks of the customers app, always in primary-key order so writers cannot deadlock."""

from apps.customers.models import Customer, LoyaltyAccount, StoredValueAccount


def lock_customers(customer_ids) -> dict[int, Customer]:
    rows = Customer.objects.filter(pk__in=customer_ids).order_by("pk").select_for_update(of=("self",))
    return {customer.pk: customer for customer in rows}


def lock_loyalty_account(*, account_id: int) -> LoyaltyAccount:
    return LoyaltyAccount.objects.select_for_update(of=("self",)).get(pk=account_id)


def lock_stored_value_account(*, account_id: int) -> StoredValueAccount:
    return StoredValueAccount.objects.select_for_update(of=("self",)).get(pk=account_id)
