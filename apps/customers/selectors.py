"""Reads of the customers app: search, the customer document, balances for finance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.apps import apps
from django.conf import settings
from django.db.models import Q, Sum

from apps.core.errors import NotFound, ValidationFailed
from apps.customers.enums import StoredValueKind
from apps.customers.models import (
    Customer,
    CustomerEmail,
    CustomerExternalId,
    CustomerMerge,
    CustomerPhone,
    LoyaltyAccount,
    LoyaltyEntry,
    StoredValueAccount,
    StoredValueEntry,
)
from apps.customers.services.identity import live_customer_id, normalize_email, normalize_phone
from apps.customers.services.stored_value import normalize_gift_card_code

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
DOCUMENT_ORDERS = 50
DOCUMENT_LEDGER = 100


@dataclass(frozen=True)
class CustomerPage:
    customers: list[Customer]
    next_after: int | None  # pass back as `after_id` for the next page


def list_customers(*, q: str = "", after_id: int | None = None, limit: int = DEFAULT_PAGE_SIZE,
                   region: str | None = None) -> CustomerPage:
    """Live customers matching `q` by name, email, phone (read as E.164 in `region`),
    a platform's customer id, or any channel's order number or external id; by id."""
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    rows = Customer.objects.filter(merged_into__isnull=True).order_by("pk")
    q = (q or "").strip()
    if q:
        rows = rows.filter(_matching(q, region))
    if after_id is not None:
        rows = rows.filter(pk__gt=after_id)
    found = list(rows.prefetch_related("emails", "phones")[: limit + 1])
    has_more = len(found) > limit
    found = found[:limit]
    return CustomerPage(customers=found, next_after=found[-1].pk if has_more else None)


def _matching(q: str, region: str | None) -> Q:
    email = normalize_email(q)
    condition = (Q(name__icontains=q)
                 | Q(pk__in=CustomerEmail.objects.filter(email__contains=email).values("customer_id"))
                 | Q(pk__in=CustomerExternalId.objects.filter(external_id=q).values("customer_id")))
    phone = _as_phone(q, region)
    if phone:
        condition |= Q(pk__in=CustomerPhone.objects.filter(phone=phone).values("customer_id"))
    orders = _order_model().objects.filter(external_id=q)
    number = q.removeprefix("#")
    if number.isdigit():
        orders = _order_model().objects.filter(Q(external_id=q) | Q(pk=int(number)))
    owners = orders.exclude(customer_id=None).values_list("customer_id", flat=True)
    return condition | Q(pk__in={live_customer_id(pk) for pk in owners})


def _as_phone(q: str, region: str | None) -> str:
    if sum(ch.isdigit() for ch in q) < 7:
        return ""
    try:
        return normalize_phone(q, region=region)
    except ValidationFailed:
        return ""


def _order_model():
    # Orders depend on customers; a selector may read them through the app registry.
    return apps.get_model("orders", "Order")


def get_customer(*, customer_id: int) -> Customer:
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        raise NotFound(f"No customer #{customer_id}.")
    return customer


def customer_document(*, customer_id: int) -> dict:
    """The customer as DESIGN.md's API shows it. A merged customer answers with its own
    record and its survivor's id in `merged_into` (followed to the live survivor)."""
    customer = get_customer(customer_id=customer_id)
    return {
        "id": customer.pk,
        "name": customer.name,
        "emails": list(customer.emails.values_list("email", flat=True)),
        "phones": list(customer.phones.values_list("phone", flat=True)),
        "external_ids": [{"platform": platform, "id": external_id} for platform, external_id
                         in customer.external_ids.values_list("platform", "external_id")],
        "orders": _orders_summary(customer.pk),
        "loyalty": loyalty_document(customer_id=customer.pk),
        "store_credit": {"balance": _store_credit_balance(customer.pk)},
        "merged_into": live_customer_id(customer.pk) if customer.merged_into_id else None,
    }


def _orders_summary(customer_id: int) -> list[dict]:
    orders = (_order_model().objects.filter(customer_id=customer_id).select_related("location")
              .order_by("-placed_at", "-pk")[:DOCUMENT_ORDERS])
    return [{"id": order.pk, "channel": order.channel, "location": order.location.code,
             "total": {"amount": order.total_amount, "currency": order.currency},
             "placed_at": order.placed_at.isoformat()} for order in orders]


def loyalty_document(*, customer_id: int) -> dict:
    entries = (LoyaltyEntry.objects.filter(account__customer_id=customer_id)
               .order_by("-pk")[:DOCUMENT_LEDGER])
    balance = (Customer.objects.filter(pk=customer_id).values_list("loyalty__balance", flat=True)
               .first())
    return {"balance": balance or 0, "ledger": [_loyalty_entry(entry) for entry in entries]}


def _loyalty_entry(entry: LoyaltyEntry) -> dict:
    return {"id": entry.pk, "kind": entry.kind, "points": entry.points, "order": entry.order_id,
            "refund": entry.refund_reference or None, "note": entry.note,
            "created_at": entry.created_at.isoformat()}


def _store_credit_balance(customer_id: int) -> dict:
    account = (StoredValueAccount.objects.filter(kind=StoredValueKind.STORE_CREDIT, customer_id=customer_id)
               .order_by("pk").first())
    if account is None:
        return {"amount": 0, "currency": getattr(settings, "DEFAULT_CURRENCY", "USD")}
    return {"amount": account.balance, "currency": account.currency}


def get_gift_card(*, code: str) -> StoredValueAccount:
    card = StoredValueAccount.objects.filter(kind=StoredValueKind.GIFT_CARD,
                                             code=normalize_gift_card_code(code)).first()
    if card is None:
        raise NotFound("No gift card with this code.", field="code")
    return card


def gift_card_document(*, code: str) -> dict:
    card = get_gift_card(code=code)
    return {
        "code": card.code,
        "balance": {"amount": card.balance, "currency": card.currency},
        "expires_at": card.expires_at.isoformat() if card.expires_at else None,
        "ledger": [{"id": entry.pk, "kind": entry.kind,
                    "amount": {"amount": entry.amount, "currency": card.currency},
                    "order": entry.order_id, "refund": entry.refund_reference or None,
                    "created_at": entry.created_at.isoformat()}
                   for entry in card.entries.order_by("-pk")[:DOCUMENT_LEDGER]],
    }


def balance_at(*, account_id: int, at: datetime) -> int:
    """What the account held at `at`: the sum of its entries written by then."""
    return (StoredValueEntry.objects.filter(account_id=account_id, created_at__lte=at)
            .aggregate(total=Sum("amount"))["total"] or 0)


def outstanding_liability(*, kind: str, at: datetime) -> dict[str, int]:
    """Stored value owed to holders at `at`, per currency: the liability finance reports."""
    rows = (StoredValueEntry.objects.filter(account__kind=kind, created_at__lte=at)
            .values("account__currency").annotate(total=Sum("amount")).order_by("account__currency"))
    return {row["account__currency"]: row["total"] for row in rows}


def loyalty_ledger_mismatches() -> list[dict]:
    """Accounts whose balance differs from the sum of their entries (should be none)."""
    rows = LoyaltyAccount.objects.annotate(ledger=Sum("entries__points")).values("pk", "balance", "ledger")
    return [row for row in rows if row["balance"] != (row["ledger"] or 0)]


def stored_value_ledger_mismatches() -> list[dict]:
    rows = (StoredValueAccount.objects.annotate(ledger=Sum("entries__amount"))
            .values("pk", "balance", "ledger"))
    return [row for row in rows if row["balance"] != (row["ledger"] or 0)]


# -- the back office's customer pages ---------------------------------------------------------


def search_customers(*, q: str = "", location_ids: set[int] | None = None):
    """Live customers matching `q` as `list_customers` reads it, by name then id, for a
    paginated page. `location_ids` keeps those with an order at one of these locations
    (a store manager's customers); None: everyone."""
    rows = Customer.objects.filter(merged_into__isnull=True)
    q = (q or "").strip()
    if q:
        rows = rows.filter(_matching(q, None))
    if location_ids is not None:
        rows = rows.filter(pk__in=_order_model().objects.filter(location_id__in=location_ids)
                           .values("customer_id"))
    return rows.prefetch_related("emails", "phones").order_by("name", "pk")


def has_order_at(*, customer_id: int, location_ids: set[int]) -> bool:
    return _order_model().objects.filter(customer_id=customer_id, location_id__in=location_ids).exists()


def customer_orders(*, customer_id: int, location_ids: set[int] | None = None):
    """The customer's orders on every channel, newest first (fenced to `location_ids`)."""
    orders = _order_model().objects.filter(customer_id=customer_id).select_related("location")
    if location_ids is not None:
        orders = orders.filter(location_id__in=location_ids)
    return orders.order_by("-placed_at", "-pk")


def reachable_order_ids(*, order_ids: set[int], location_ids: set[int] | None) -> set[int]:
    """Which of these orders exist and lie within `location_ids` (None: anywhere)."""
    orders = _order_model().objects.filter(pk__in=order_ids)
    if location_ids is not None:
        orders = orders.filter(location_id__in=location_ids)
    return set(orders.values_list("pk", flat=True))


def loyalty_entries(*, customer_id: int):
    return LoyaltyEntry.objects.filter(account__customer_id=customer_id).order_by("-pk")


def stored_value_of(*, customer_id: int, entries: int = 25) -> list[StoredValueAccount]:
    """The customer's store credit and gift cards, each with its `latest` entries."""
    accounts = list(StoredValueAccount.objects.filter(customer_id=customer_id).order_by("-kind", "pk"))
    for account in accounts:
        account.latest = list(account.entries.order_by("-pk")[:entries])
        shown = len(account.latest)
        account.entry_count = account.entries.count() if shown == entries else shown
    return accounts


def live_merge_of(*, other_id: int) -> CustomerMerge | None:
    """The merge that made this customer a tombstone, unless it was undone."""
    return (CustomerMerge.objects.filter(other_id=other_id, undone_at__isnull=True)
            .select_related("survivor", "actor_user").first())


def get_customer_merge(*, merge_id: int) -> CustomerMerge:
    merge = (CustomerMerge.objects.filter(pk=merge_id)
             .select_related("survivor", "other", "actor_user", "undone_by_user").first())
    if merge is None:
        raise NotFound(f"No customer merge #{merge_id}.")
    return merge
