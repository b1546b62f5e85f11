"""Merging two customer records into one, with a preview and an exact undo.

Everything the other customer owns moves to the survivor (orders, identifiers, loyalty
and store-credit entries with their balances, gift cards, notes); the other stays as a
tombstone pointing to the survivor. The merge record lists every moved row id per table,
so undo moves exactly those rows back and restores both customers' fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.apps import apps
from django.db import transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from apps.core.errors import NotFound
from apps.core.services import record_audit
from apps.customers.enums import StoredValueKind
from apps.customers.exceptions import MergeRefused
from apps.customers.locks import lock_customers
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

RESTORED_FIELDS = ("name", "email", "phone", "notes", "merged_into_id")
IDENTIFIER_MODELS = {"emails": CustomerEmail, "phones": CustomerPhone,
                     "external_ids": CustomerExternalId}


@dataclass
class MergePreview:
    survivor_id: int
    other_id: int
    moves: dict = field(default_factory=dict)
    blockers: list[dict] = field(default_factory=list)

    @property
    def can_merge(self) -> bool:
        return not self.blockers

    def as_dict(self) -> dict:
        return {"survivor": self.survivor_id, "other": self.other_id, "moves": self.moves,
                "blockers": self.blockers, "can_merge": self.can_merge}


def preview_customer_merge(*, survivor_id: int, other_id: int) -> MergePreview:
    """What merging `other` into `survivor` would move, and what stops it."""
    customers = Customer.objects.in_bulk([survivor_id, other_id])
    survivor, other = _both(customers, survivor_id, other_id)
    return MergePreview(survivor_id=survivor_id, other_id=other_id, moves=_what_moves(other),
                        blockers=_merge_blockers(survivor, other))


def merge_customers(*, survivor_id: int, other_id: int, actor=None, actor_label: str = "") -> CustomerMerge:
    """Merge `other` into `survivor`; refused (409 `merge_refused`) for the same customer,
    a tombstone on either side, or a customer already merged."""
    with transaction.atomic():
        survivor, other = _both(lock_customers([survivor_id, other_id]), survivor_id, other_id)
        blockers = _merge_blockers(survivor, other)
        if blockers:
            raise MergeRefused(blockers)
        before = {"survivor": _fields(survivor), "other": _fields(other)}
        moved = {
            "orders": _move_orders(from_customer_id=other.pk, to_customer_id=survivor.pk),
            **{name: _move_rows(model.objects.all(), other.pk, survivor.pk)
               for name, model in IDENTIFIER_MODELS.items()},
            "gift_cards": _move_rows(StoredValueAccount.objects.filter(kind=StoredValueKind.GIFT_CARD),
                                     other.pk, survivor.pk),
            "loyalty": _move_loyalty(other.pk, survivor.pk),
            "store_credit": _move_store_credit(other.pk, survivor.pk),
        }
        _combine_fields(survivor, other)
        merge = CustomerMerge.objects.create(survivor=survivor, other=other, moved=moved,
                                             before=before, actor_user=actor, actor_label=actor_label)
        record_audit(action="customer.merged", obj=merge, actor_user=actor, actor_label=actor_label,
                     data={"survivor": survivor.pk, "other": other.pk, "moved": _counts(moved)})
    return merge


def undo_customer_merge(*, merge_id: int, actor=None, actor_label: str = "") -> CustomerMerge:
    """Put back exactly what the merge moved and both customers' fields. Refused when
    already undone, when a later merge involves either customer (undo that first), or
    when the survivor has since spent points or credit that came from the other."""
    with transaction.atomic():
        merge = CustomerMerge.objects.select_for_update().filter(pk=merge_id).first()
        if merge is None:
            raise NotFound(f"No customer merge #{merge_id}.")
        _refuse_undo_if_blocked(merge)
        lock_customers([merge.survivor_id, merge.other_id])
        survivor_id, other_id = merge.survivor_id, merge.other_id
        moved = merge.moved
        _move_back(_order_model().objects.all(), moved["orders"], survivor_id, other_id)
        for name, model in IDENTIFIER_MODELS.items():
            _move_back(model.objects.all(), moved[name], survivor_id, other_id)
        _move_back(StoredValueAccount.objects.all(), moved["gift_cards"], survivor_id, other_id)
        if moved["loyalty"]:
            _move_ledger_back(LoyaltyAccount, LoyaltyEntry, "points", moved["loyalty"])
        for part in moved["store_credit"]:
            _move_ledger_back(StoredValueAccount, StoredValueEntry, "amount", part)
        for role, customer_id in (("survivor", survivor_id), ("other", other_id)):
            Customer.objects.filter(pk=customer_id).update(**merge.before[role], updated_at=timezone.now())
        merge.undone_at = timezone.now()
        merge.undone_by_user = actor
        merge.undone_by_label = actor_label
        merge.save(update_fields=["undone_at", "undone_by_user", "undone_by_label"])
        record_audit(action="customer.merge_undone", obj=merge, actor_user=actor,
                     actor_label=actor_label, data={"survivor": survivor_id, "other": other_id})
    return merge


# -- helpers ---------------------------------------------------------------------------------


def _both(customers: dict, survivor_id: int, other_id: int) -> tuple[Customer, Customer]:
    missing = [pk for pk in (survivor_id, other_id) if pk not in customers]
    if missing:
        raise NotFound(f"No customer #{missing[0]}.")
    return customers[survivor_id], customers[other_id]


def _merge_blockers(survivor: Customer, other: Customer) -> list[dict]:
    if survivor.pk == other.pk:
        return [{"code": "same_customer", "detail": "A customer cannot be merged into itself."}]
    blockers = []
    if survivor.merged_into_id:
        blockers.append({"code": "survivor_is_merged",
                         "detail": f"Customer #{survivor.pk} was merged into #{survivor.merged_into_id}; "
                                   f"merge into #{survivor.merged_into_id} instead."})
    if other.merged_into_id:
        blockers.append({"code": "already_merged",
                         "detail": f"Customer #{other.pk} was already merged into #{other.merged_into_id}."})
    return blockers


def _refuse_undo_if_blocked(merge: CustomerMerge) -> None:
    if merge.undone_at is not None:
        raise MergeRefused([{"code": "merge_already_undone",
                             "detail": f"Merge #{merge.pk} was already undone."}])
    ids = [merge.survivor_id, merge.other_id]
    later = list(CustomerMerge.objects.filter(undone_at__isnull=True, pk__gt=merge.pk)
                 .filter(Q(survivor_id__in=ids) | Q(other_id__in=ids))
                 .order_by("pk").values_list("pk", flat=True))
    if later:
        raise MergeRefused([{"code": "later_merges_depend",
                             "detail": f"Later merges {', '.join(f'#{pk}' for pk in later)} involve these "
                                       "customers; undo them first."}])


def _order_model():
    # Orders depend on customers, so this app cannot import orders' services. Moving an
    # order's customer belongs to apps/orders; until it offers a service for it, the
    # merge moves Order rows through the app registry, here and nowhere else.
    return apps.get_model("orders", "Order")


def _move_orders(*, from_customer_id: int, to_customer_id: int) -> list[int]:
    return _move_rows(_order_model().objects.all(), from_customer_id, to_customer_id)


def _move_rows(rows, from_customer_id: int, to_customer_id: int) -> list[int]:
    ids = list(rows.filter(customer_id=from_customer_id).order_by("pk").values_list("pk", flat=True))
    rows.filter(pk__in=ids).update(customer_id=to_customer_id)
    return ids


def _move_back(rows, ids: list[int], survivor_id: int, other_id: int) -> None:
    back = rows.filter(pk__in=ids, customer_id=survivor_id).update(customer_id=other_id)
    if back != len(ids):
        raise MergeRefused([{"code": "rows_changed_since",
                             "detail": f"{len(ids) - back} {rows.model._meta.verbose_name_plural} moved "
                                       "from the survivor since the merge; undo refused."}])


def _move_loyalty(from_customer_id: int, to_customer_id: int) -> dict | None:
    source = LoyaltyAccount.objects.select_for_update().filter(customer_id=from_customer_id).first()
    if source is None:
        return None
    created = not LoyaltyAccount.objects.filter(customer_id=to_customer_id).exists()
    LoyaltyAccount.objects.bulk_create([LoyaltyAccount(customer_id=to_customer_id)], ignore_conflicts=True)
    target = LoyaltyAccount.objects.get(customer_id=to_customer_id)
    return _move_ledger(LoyaltyAccount, LoyaltyEntry, "points", source, target, created)


def _move_store_credit(from_customer_id: int, to_customer_id: int) -> list[dict]:
    parts = []
    sources = (StoredValueAccount.objects.select_for_update()
               .filter(kind=StoredValueKind.STORE_CREDIT, customer_id=from_customer_id).order_by("pk"))
    for source in sources:
        target = StoredValueAccount.objects.filter(kind=StoredValueKind.STORE_CREDIT,
                                                   customer_id=to_customer_id,
                                                   currency=source.currency).first()
        created = target is None
        if created:
            target = StoredValueAccount.objects.create(kind=StoredValueKind.STORE_CREDIT,
                                                       customer_id=to_customer_id, currency=source.currency)
        parts.append(_move_ledger(StoredValueAccount, StoredValueEntry, "amount", source, target, created))
    return parts


def _move_ledger(account_model, entry_model, value_field: str, source, target, created: bool) -> dict:
    """Re-point every entry of `source` to `target` and carry the balance with them."""
    entries = entry_model.objects.filter(account_id=source.pk)
    ids = list(entries.order_by("pk").values_list("pk", flat=True))
    value = entries.aggregate(total=Sum(value_field))["total"] or 0
    entry_model.objects.filter(pk__in=ids).update(account_id=target.pk)
    _shift_balance(account_model, source.pk, target.pk, value)
    return {"from": source.pk, "to": target.pk, "created": created, "entries": ids, "value": value}


def _move_ledger_back(account_model, entry_model, value_field: str, part: dict) -> None:
    back = entry_model.objects.filter(pk__in=part["entries"], account_id=part["to"]).update(
        account_id=part["from"])
    if back != len(part["entries"]):
        raise MergeRefused([{"code": "rows_changed_since",
                             "detail": "Ledger entries moved since the merge; undo refused."}])
    _shift_balance(account_model, part["to"], part["from"], part["value"])
    if part["created"] and not entry_model.objects.filter(account_id=part["to"]).exists():
        account_model.objects.filter(pk=part["to"], balance=0).delete()


def _shift_balance(account_model, from_id: int, to_id: int, value: int) -> None:
    if value == 0:
        return
    taken = account_model.objects.filter(pk=from_id, balance__gte=value).update(balance=F("balance") - value)
    if taken != 1:
        raise MergeRefused([{"code": "balance_spent_since",
                             "detail": f"Account #{from_id} no longer holds the {value} that moved; "
                                       "it was spent since."}])
    account_model.objects.filter(pk=to_id).update(balance=F("balance") + value)


def _fields(customer: Customer) -> dict:
    return {name: getattr(customer, name) for name in RESTORED_FIELDS}


def _combine_fields(survivor: Customer, other: Customer) -> None:
    survivor.name = survivor.name or other.name
    survivor.email = survivor.email or other.email
    survivor.phone = survivor.phone or other.phone
    if other.notes:
        survivor.notes = "\n\n".join(part for part in (survivor.notes, other.notes) if part)
    survivor.save(update_fields=["name", "email", "phone", "notes", "updated_at"])
    other.notes = ""
    other.merged_into = survivor
    other.save(update_fields=["notes", "merged_into", "updated_at"])


def _what_moves(other: Customer) -> dict:
    store_credit = StoredValueAccount.objects.filter(kind=StoredValueKind.STORE_CREDIT, customer=other)
    gift_cards = StoredValueAccount.objects.filter(kind=StoredValueKind.GIFT_CARD, customer=other)
    return {
        "orders": _order_model().objects.filter(customer_id=other.pk).count(),
        **{name: model.objects.filter(customer=other).count() for name, model in IDENTIFIER_MODELS.items()},
        "loyalty_entries": LoyaltyEntry.objects.filter(account__customer=other).count(),
        "loyalty_points": LoyaltyAccount.objects.filter(customer=other).aggregate(
            total=Sum("balance"))["total"] or 0,
        "stored_value_entries": StoredValueEntry.objects.filter(account__in=store_credit).count(),
        "store_credit": {account.currency: account.balance for account in store_credit},
        "gift_cards": gift_cards.count(),
        "notes": 1 if other.notes else 0,
    }


def _counts(moved: dict) -> dict:
    counts = {name: len(moved[name]) for name in ("orders", *IDENTIFIER_MODELS, "gift_cards")}
    counts["loyalty_entries"] = len(moved["loyalty"]["entries"]) if moved["loyalty"] else 0
    counts["stored_value_entries"] = sum(len(part["entries"]) for part in moved["store_credit"])
    return counts
