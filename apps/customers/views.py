"""Customer pages: search, one customer across every channel, and merge with preview and undo."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.core import roles
from apps.core.errors import DomainError, NotFound, ValidationFailed
from apps.core.templatetags.concord import money
from apps.customers import selectors
from apps.customers.models import Customer
from apps.customers.services import merge_customers, preview_customer_merge, undo_customer_merge
from apps.inventory.access import permitted_location_ids

PAGE_SIZE = 50
ORDERS_PAGE_SIZE = 25
LEDGER_PAGE_SIZE = 25
# A shopper the platforms know under many ids (a new one per checkout) keeps a short card:
# the first few show, the rest fold away.
EXTERNAL_IDS_SHOWN = 5


@require_GET
@roles.capability_required(roles.VIEW_CUSTOMERS)
def customer_list(request):
    query = request.GET.get("q", "").strip()
    customers = selectors.search_customers(
        q=query, location_ids=permitted_location_ids(request.user, roles.VIEW_CUSTOMERS))
    page = Paginator(customers, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "customers/customer_list.html", {"page": page, "q": query})


def customer_within_reach(user, customer_id: int) -> Customer:
    """The customer, once the user may read them. A store manager reads the customers of
    their stores' orders only, and gets 403 for any other id, existing or not."""
    customer = Customer.objects.filter(pk=customer_id).first()
    location_ids = permitted_location_ids(user, roles.VIEW_CUSTOMERS)
    fenced_out = location_ids is not None and (
        customer is None or not selectors.has_order_at(customer_id=customer_id, location_ids=location_ids))
    if fenced_out:
        raise PermissionDenied("This customer has no order at your stores.")
    if customer is None:
        raise Http404("No such customer.")
    return customer


@require_GET
@roles.capability_required(roles.VIEW_CUSTOMERS)
def customer_detail(request, customer_id: int):
    """Identifiers, every order on every channel, loyalty and stored value with their
    ledgers, notes. A merged customer's page says where they went."""
    customer = customer_within_reach(request.user, customer_id)
    can_merge = roles.can(request.user, roles.MERGE_CUSTOMERS)
    if customer.is_tombstone:
        return render(request, "customers/customer_tombstone.html", {
            "customer": customer, "survivor_id": selectors.live_customer_id(customer.pk),
            "merge": selectors.live_merge_of(other_id=customer.pk), "can_merge": can_merge})
    location_ids = permitted_location_ids(request.user, roles.VIEW_CUSTOMERS)
    orders = Paginator(selectors.customer_orders(customer_id=customer.pk, location_ids=location_ids),
                       ORDERS_PAGE_SIZE).get_page(request.GET.get("orders"))
    ledger = Paginator(selectors.loyalty_entries(customer_id=customer.pk),
                       LEDGER_PAGE_SIZE).get_page(request.GET.get("ledger"))
    stored_value = selectors.stored_value_of(customer_id=customer.pk)
    external_ids = list(customer.external_ids.order_by("platform", "pk"))
    return render(request, "customers/customer_detail.html", {
        "customer": customer, "emails": customer.emails.all(), "phones": customer.phones.all(),
        "external_ids": external_ids[:EXTERNAL_IDS_SHOWN],
        "more_external_ids": external_ids[EXTERNAL_IDS_SHOWN:], "orders": orders, "ledger": ledger,
        "loyalty_balance": selectors.loyalty_document(customer_id=customer.pk)["balance"],
        "stored_value": stored_value, "can_merge": can_merge,
        "linked_orders": _linked_orders(ledger, stored_value, location_ids),
        "orders_fenced": location_ids is not None,
    })


def _linked_orders(ledger, stored_value, location_ids) -> set[int]:
    """Orders the ledgers name that this user may open (the others show as plain numbers)."""
    named = {entry.order_id for entry in ledger if entry.order_id}
    named |= {entry.order_id for account in stored_value for entry in account.latest if entry.order_id}
    return selectors.reachable_order_ids(order_ids=named, location_ids=location_ids)


# ---------------------------------------------------------------- merge, preview and undo


@require_http_methods(["GET", "POST"])
@roles.capability_required(roles.MERGE_CUSTOMERS)
def customer_merge(request, customer_id: int):
    """Merge another customer into this one: find them, preview what moves and what
    blocks it (an htmx fragment of this page), confirm. Refusals show next to the field."""
    survivor = customer_within_reach(request.user, customer_id)
    source = request.POST if request.method == "POST" else request.GET
    query, other = request.GET.get("q", "").strip(), source.get("other", "").strip()
    context = {"survivor": survivor, "q": query, "other": other, "error": None, "preview": None}
    if other:
        try:
            other_id = _customer_number(other)
            if request.method == "POST":
                merge = merge_customers(survivor_id=survivor.pk, other_id=other_id, actor=request.user,
                                        actor_label=request.user.username)
                messages.success(request, f"Customer #{merge.other_id} merged into #{merge.survivor_id}.")
                return redirect("customers:merge-result", merge_id=merge.pk)
            context["preview"] = _preview(survivor.pk, other_id)
        except DomainError as error:
            if isinstance(error, NotFound):
                error.field = "other"  # the survivor is this page's: the one missing is the other
            context["error"] = error
    if query:
        context["candidates"] = selectors.search_customers(q=query).exclude(pk=survivor.pk)[:20]
    if request.htmx and request.method == "GET" and other:
        return render(request, "customers/customer_merge.html#preview", context)
    return render(request, "customers/customer_merge.html", context)


def _customer_number(text: str) -> int:
    number = text.removeprefix("#")
    if not number.isdigit() or len(number) > 18:
        raise ValidationFailed("Give the other customer by number, such as 42.", field="other")
    return int(number)


def _preview(survivor_id: int, other_id: int) -> dict:
    preview = preview_customer_merge(survivor_id=survivor_id, other_id=other_id)
    return {"other": Customer.objects.prefetch_related("emails", "phones", "external_ids").get(pk=other_id),
            "moves": _moves_for_people(preview.moves), "blockers": preview.blockers,
            "can_merge": preview.can_merge}


def _moves_for_people(moves: dict) -> list[tuple[str, str]]:
    credit = ", ".join(money(amount, currency) for currency, amount in moves["store_credit"].items())
    return [
        ("Orders", moves["orders"]), ("Emails", moves["emails"]), ("Phones", moves["phones"]),
        ("Platform ids", moves["external_ids"]), ("Loyalty points", moves["loyalty_points"]),
        ("Loyalty ledger entries", moves["loyalty_entries"]), ("Store credit", credit or "none"),
        ("Store credit ledger entries", moves["stored_value_entries"]), ("Gift cards", moves["gift_cards"]),
        ("Notes", "yes" if moves["notes"] else "none"),
    ]


@require_GET
@roles.capability_required(roles.MERGE_CUSTOMERS)
def merge_result(request, merge_id: int):
    merge = _merge_or_404(merge_id)
    moved = merge.moved
    counts = {label: len(moved.get(name) or []) for name, label in
              (("orders", "Orders"), ("emails", "Emails"), ("phones", "Phones"),
               ("external_ids", "Platform ids"), ("gift_cards", "Gift cards"))}
    counts["Loyalty ledger entries"] = len(moved["loyalty"]["entries"]) if moved["loyalty"] else 0
    counts["Store credit ledger entries"] = sum(len(part["entries"]) for part in moved["store_credit"])
    return render(request, "customers/merge_result.html", {"merge": merge, "counts": counts})


@require_POST
@roles.capability_required(roles.MERGE_CUSTOMERS)
def merge_undo(request, merge_id: int):
    merge = _merge_or_404(merge_id)
    try:
        undo_customer_merge(merge_id=merge.pk, actor=request.user, actor_label=request.user.username)
    except DomainError as error:
        messages.error(request, error.detail)
    else:
        messages.success(request, f"Merge undone: customer #{merge.other_id} is on their own again.")
    return redirect("customers:merge-result", merge_id=merge.pk)


def _merge_or_404(merge_id: int):
    try:
        return selectors.get_customer_merge(merge_id=merge_id)
    except NotFound:
        raise Http404("No such merge.") from None
