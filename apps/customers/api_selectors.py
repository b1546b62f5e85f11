"""Reads of the customers API, scoped by the API key asking.

A staff key (a role) sees every customer. A channel key sees only the customers of the
orders its own client placed, and in their documents only those orders: another
client's customer is 404 `not_found`, like an id that does not exist."""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.db.models import Prefetch

from apps.core.errors import NotFound
from apps.customers.enums import StoredValueKind
from apps.customers.models import Customer, StoredValueAccount
from apps.customers.selectors import DOCUMENT_ORDERS, customer_document, gift_card_document
from apps.customers.selectors import (
    _matching as customer_matching,  # the one reading of a search box, shared with list_customers
)
from apps.customers.services import live_customer_id

API_PAGE_SIZE = 50


def _orders():
    # Orders depend on customers; a selector may read them through the app registry.
    return apps.get_model("orders", "Order")


def list_customer_summaries(*, client, q: str = "", after_id: int | None = None,
                            page_size: int | None = None) -> tuple[list[dict], int | None]:
    """Live customers matching `q` (name, email, phone, a platform's id, an order number or
    external id), by id, with their balances: a page built in a constant number of queries.
    Answers (summaries, the last id when more follow)."""
    page_size = page_size or API_PAGE_SIZE
    rows = Customer.objects.filter(merged_into__isnull=True).order_by("pk")
    if q:
        rows = rows.filter(customer_matching(q, None))
    if not client.role:
        rows = rows.filter(pk__in=_orders().objects.filter(api_client_id=client.pk).values("customer_id"))
    if after_id is not None:
        rows = rows.filter(pk__gt=after_id)
    store_credit = StoredValueAccount.objects.filter(kind=StoredValueKind.STORE_CREDIT).order_by("pk")
    found = list(rows.select_related("loyalty").prefetch_related(
        "emails", "phones", Prefetch("stored_value_accounts", queryset=store_credit, to_attr="credit"))
        [: page_size + 1])
    page = found[:page_size]
    return [_summary(customer) for customer in page], (page[-1].pk if len(found) > page_size else None)


def _summary(customer: Customer) -> dict:
    loyalty = getattr(customer, "loyalty", None)
    credit = customer.credit[0] if customer.credit else None
    return {
        "id": customer.pk, "name": customer.name,
        "emails": [row.email for row in customer.emails.all()],
        "phones": [row.phone for row in customer.phones.all()],
        "loyalty": {"balance": loyalty.balance if loyalty else 0},
        "store_credit": {"balance": {
            "amount": credit.balance if credit else 0,
            "currency": credit.currency if credit else getattr(settings, "DEFAULT_CURRENCY", "USD")}},
        "merged_into": None,
    }


def customer_document_for(*, client, customer_id: int) -> dict:
    """The customer document; for a channel key only a customer of its own orders, and of
    their orders only its own (a ledger entry of another's order keeps no order id)."""
    if client.role:
        return customer_document(customer_id=customer_id)
    own = (_orders().objects.filter(api_client_id=client.pk, customer_id=live_customer_id(customer_id))
           .select_related("location").order_by("-placed_at", "-pk"))
    if not own.exists():
        raise NotFound(f"No customer #{customer_id}.")
    document = customer_document(customer_id=customer_id)
    if document["merged_into"] is None:  # a tombstone's own orders moved to its survivor
        document["orders"] = [_order_summary(order) for order in own[:DOCUMENT_ORDERS]]
    _hide_other_orders(document["loyalty"]["ledger"], set(own.values_list("pk", flat=True)))
    return document


def _order_summary(order) -> dict:
    return {"id": order.pk, "channel": order.channel, "location": order.location.code,
            "total": {"amount": order.total_amount, "currency": order.currency},
            "placed_at": order.placed_at.isoformat()}


def gift_card_document_for(*, client, code: str) -> dict:
    """The card's balance and ledger; a channel key sees no other client's order ids."""
    document = gift_card_document(code=code)
    if not client.role:
        referenced = {entry["order"] for entry in document["ledger"] if entry["order"]}
        own_ids = set(_orders().objects.filter(api_client_id=client.pk, pk__in=referenced)
                      .values_list("pk", flat=True))
        _hide_other_orders(document["ledger"], own_ids)
    return document


def _hide_other_orders(ledger: list[dict], own_ids: set[int]) -> None:
    for entry in ledger:
        if entry["order"] not in own_ids:
            entry["order"] = None
