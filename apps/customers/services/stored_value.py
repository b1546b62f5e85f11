"""Stored value: gift cards and store credit on one kind of ledger. A balance changes by
one conditional UPDATE (row count checked), backed by a CHECK constraint, so no card is
spent past its balance even when spends race; each entry is unique per (kind, source)."""

from __future__ import annotations

import secrets
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.core.errors import NotFound, ValidationFailed
from apps.core.money import MoneyError, exponent_of
from apps.customers.enums import StoredValueEntryKind, StoredValueKind
from apps.customers.exceptions import InsufficientBalance, StoredValueExpired
from apps.customers.locks import lock_stored_value_account
from apps.customers.models import StoredValueAccount, StoredValueEntry

# No 0/O or 1/I: a code is read aloud at a register and typed by hand.
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 16
# A balance is a bigint column: a load beyond it could never be stored.
MAX_BALANCE = 2**63 - 1


def normalize_gift_card_code(raw: str) -> str:
    return "".join(ch for ch in (raw or "").upper() if ch.isalnum())


def issue_gift_card(*, amount: int, currency: str, customer_id: int | None = None,
                    expires_at: datetime | None = None, source_reference: str = "",
                    actor: str = "") -> StoredValueAccount:
    """A new card with a generated code, loaded with `amount`. With a `source_reference`
    (a sale's line, an API idempotency key) a repeated call returns the same card."""
    _require_amount(amount, currency)
    if source_reference:
        existing = _entry_for(StoredValueEntryKind.ISSUE, source_reference)
        if existing is not None:
            return existing.account
    try:
        with transaction.atomic():
            card = StoredValueAccount.objects.create(
                kind=StoredValueKind.GIFT_CARD, code=_new_code(), customer_id=customer_id,
                currency=currency, expires_at=expires_at)
            _append(card, kind=StoredValueEntryKind.ISSUE, amount=amount,
                    source_reference=source_reference, actor=actor)
        card.refresh_from_db(fields=["balance", "updated_at"])
        return card
    except IntegrityError:
        existing = _entry_for(StoredValueEntryKind.ISSUE, source_reference) if source_reference else None
        if existing is None:
            raise
        return existing.account


def ensure_store_credit_account(*, customer_id: int, currency: str) -> StoredValueAccount:
    StoredValueAccount.objects.bulk_create([StoredValueAccount(
        kind=StoredValueKind.STORE_CREDIT, customer_id=customer_id, currency=currency)],
        ignore_conflicts=True)
    return StoredValueAccount.objects.get(kind=StoredValueKind.STORE_CREDIT, customer_id=customer_id,
                                          currency=currency)


def issue_store_credit(*, customer_id: int, amount: int, currency: str, source_reference: str = "",
                       actor: str = "") -> StoredValueEntry:
    _require_amount(amount, currency)
    account = ensure_store_credit_account(customer_id=customer_id, currency=currency)
    return _append(account, kind=StoredValueEntryKind.ISSUE, amount=amount,
                   source_reference=source_reference, actor=actor)


def redeem_stored_value(*, account_id: int, amount: int, order_id: int | None = None,
                        source_reference: str = "", actor: str = "") -> StoredValueEntry:
    """Spend `amount` as a tender: 409 `insufficient_balance` beyond the balance, 409
    `stored_value_expired` after expiry. One UPDATE decides, so racing spends cannot
    both take the same money."""
    if amount <= 0:
        raise ValidationFailed("Redeem a positive amount.", field="amount")
    account = _get_account(account_id)
    return _append(account, kind=StoredValueEntryKind.REDEEM, amount=-amount, order_id=order_id,
                   source_reference=source_reference, actor=actor)


def refund_to_stored_value(*, account_id: int, amount: int, refund_reference: str,
                           order_id: int | None = None, actor: str = "") -> StoredValueEntry:
    """Money a refund puts back on a card or store credit, once per refund reference."""
    if amount <= 0:
        raise ValidationFailed("Refund a positive amount.", field="amount")
    if not refund_reference:
        raise ValidationFailed("A refund to stored value names its refund.", field="refund_reference")
    account = _get_account(account_id)
    return _append(account, kind=StoredValueEntryKind.REFUND, amount=amount, order_id=order_id,
                   refund_reference=refund_reference, source_reference=f"refund:{refund_reference}",
                   actor=actor)


def expire_stored_value(*, account_id: int, actor: str = "") -> StoredValueEntry | None:
    """Write off what is left on an account past its expiry (once). None when nothing
    expires: no expiry date, not yet due, or an empty balance."""
    with transaction.atomic():
        account = lock_stored_value_account(account_id=account_id)
        if account.expires_at is None or account.expires_at > timezone.now() or account.balance == 0:
            return None
        return _append(account, kind=StoredValueEntryKind.EXPIRE, amount=-account.balance,
                       source_reference=f"expire:{account.pk}:{account.expires_at.isoformat()}",
                       actor=actor, allow_expired=True)


def _append(account: StoredValueAccount, *, kind: str, amount: int, source_reference: str = "",
            order_id: int | None = None, refund_reference: str = "", note: str = "",
            actor: str = "", allow_expired: bool = False) -> StoredValueEntry:
    try:
        with transaction.atomic():
            entry = StoredValueEntry.objects.create(
                account=account, kind=kind, amount=amount, order_id=order_id,
                refund_reference=refund_reference, source_reference=source_reference,
                note=note, actor=actor)
            _change_balance(account, amount, allow_expired=allow_expired)
            return entry
    except IntegrityError:
        existing = _entry_for(kind, source_reference) if source_reference else None
        if existing is None:
            raise
        return existing


def _change_balance(account: StoredValueAccount, amount: int, *, allow_expired: bool) -> None:
    rows = StoredValueAccount.objects.filter(pk=account.pk, balance__gte=-amount)
    if amount < 0 and not allow_expired:
        rows = rows.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
    if rows.update(balance=F("balance") + amount, updated_at=timezone.now()) == 1:
        return
    current = StoredValueAccount.objects.get(pk=account.pk)
    if current.expires_at is not None and current.expires_at <= timezone.now():
        raise StoredValueExpired(f"This {current.get_kind_display().lower()} expired on "
                                 f"{current.expires_at:%Y-%m-%d}.")
    raise InsufficientBalance(requested=-amount, available=current.balance, unit=current.currency,
                              field="amount")


def _get_account(account_id: int) -> StoredValueAccount:
    try:
        return StoredValueAccount.objects.get(pk=account_id)
    except StoredValueAccount.DoesNotExist:
        raise NotFound(f"No stored-value account #{account_id}.") from None


def _entry_for(kind: str, source_reference: str) -> StoredValueEntry | None:
    return (StoredValueEntry.objects.select_related("account")
            .filter(kind=kind, source_reference=source_reference).first())


def _require_amount(amount: int, currency: str) -> None:
    try:
        exponent_of(currency)
    except MoneyError:
        raise ValidationFailed(f"Unsupported currency {currency!r}.", field="currency") from None
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValidationFailed("Load a positive amount in minor units.", field="amount")
    if amount > MAX_BALANCE:
        raise ValidationFailed(f"A balance holds at most {MAX_BALANCE} minor units.", field="amount",
                               extra={"code": "max_value"})


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
