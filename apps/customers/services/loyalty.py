"""Loyalty: an append-only ledger of points per customer and a balance that never goes
below zero. A balance changes by one conditional UPDATE (row count checked), with a
CHECK constraint behind it; each entry is unique per (kind, source), so a repeated call
(a webhook delivered twice, a retried task) changes nothing."""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Sum

from apps.core import money
from apps.core.errors import ValidationFailed
from apps.customers.enums import LoyaltyEntryKind
from apps.customers.exceptions import InsufficientBalance
from apps.customers.locks import lock_loyalty_account
from apps.customers.models import LoyaltyAccount, LoyaltyEntry, LoyaltyProgram


def get_loyalty_program() -> LoyaltyProgram:
    """The active program; the first call creates it from settings (LOYALTY_*)."""
    program = LoyaltyProgram.objects.filter(is_active=True).first()
    if program is not None:
        return program
    LoyaltyProgram.objects.bulk_create([LoyaltyProgram(
        points_per_unit=getattr(settings, "LOYALTY_POINTS_PER_UNIT", 1),
        point_value=getattr(settings, "LOYALTY_POINT_VALUE", 1),
        min_redeem_points=getattr(settings, "LOYALTY_MIN_REDEEM_POINTS", 0),
    )], ignore_conflicts=True)  # one active program: a racing first call keeps the winner's
    return LoyaltyProgram.objects.get(is_active=True)


def ensure_loyalty_account(*, customer_id: int) -> LoyaltyAccount:
    LoyaltyAccount.objects.bulk_create([LoyaltyAccount(customer_id=customer_id)], ignore_conflicts=True)
    return LoyaltyAccount.objects.get(customer_id=customer_id)


def earn_points(*, customer_id: int, order_id: int, amount: int, currency: str,
                actor: str = "") -> LoyaltyEntry | None:
    """Points for a paid order, once per order. None when the amount earns nothing."""
    program = get_loyalty_program()
    points = money.points_earned(amount, currency, program.points_per_unit)
    if points == 0:
        return None
    account = ensure_loyalty_account(customer_id=customer_id)
    return _append(account, kind=LoyaltyEntryKind.EARN, points=points, order_id=order_id,
                   source_reference=f"order:{order_id}", actor=actor)


def redeem_points(*, customer_id: int, points: int, order_id: int | None = None,
                  reference: str = "", actor: str = "") -> LoyaltyEntry:
    """Points spent as a tender. Refused with 409 `insufficient_balance` beyond the balance,
    even when two redemptions race: the UPDATE takes the points only where they are."""
    program = get_loyalty_program()
    if points <= 0:
        raise ValidationFailed("Redeem a positive number of points.", field="points")
    if points < program.min_redeem_points:
        raise ValidationFailed(f"At least {program.min_redeem_points} points must be redeemed.",
                               field="points", extra={"code": "below_minimum_redemption"})
    account = ensure_loyalty_account(customer_id=customer_id)
    source = reference or (f"order:{order_id}" if order_id else "")
    return _append(account, kind=LoyaltyEntryKind.REDEEM, points=-points, order_id=order_id,
                   source_reference=source, actor=actor)


def reverse_points(*, customer_id: int, order_id: int, refund_reference: str, refunded_amount: int,
                   order_total: int, actor: str = "") -> LoyaltyEntry | None:
    """Take back the refund's share of the points the order earned (money.pro_rata_share),
    never more than remain earned on the order, and never below a zero balance: points
    already spent stay spent, and the entry says how many were due."""
    account = ensure_loyalty_account(customer_id=customer_id)
    with transaction.atomic():
        account = lock_loyalty_account(account_id=account.pk)
        earned = _points_on_order(account, order_id, LoyaltyEntryKind.EARN)
        reversed_before = -_points_on_order(account, order_id, LoyaltyEntryKind.REVERSE)
        due = min(money.pro_rata_share(earned, refunded_amount, order_total) if order_total else 0,
                  earned - reversed_before)
        taken = min(due, account.balance)
        if taken <= 0:
            return None
        note = "" if taken == due else f"{due} points were due; the balance held {taken}."
        return _append(account, kind=LoyaltyEntryKind.REVERSE, points=-taken, order_id=order_id,
                       refund_reference=refund_reference,
                       source_reference=f"refund:{refund_reference}", note=note, actor=actor)


def return_points(*, customer_id: int, order_id: int, refund_reference: str, points: int,
                  actor: str = "") -> LoyaltyEntry | None:
    """Give back redeemed points a refund returns, never more than the order redeemed."""
    account = ensure_loyalty_account(customer_id=customer_id)
    with transaction.atomic():
        account = lock_loyalty_account(account_id=account.pk)
        redeemed = -_points_on_order(account, order_id, LoyaltyEntryKind.REDEEM)
        returned = _points_on_order(account, order_id, LoyaltyEntryKind.RETURN)
        given = min(points, redeemed - returned)
        if given <= 0:
            return None
        return _append(account, kind=LoyaltyEntryKind.RETURN, points=given, order_id=order_id,
                       refund_reference=refund_reference,
                       source_reference=f"refund:{refund_reference}", actor=actor)


def adjust_points(*, customer_id: int, points: int, reason: str, reference: str = "",
                  actor: str = "") -> LoyaltyEntry:
    if points == 0 or not reason.strip():
        raise ValidationFailed("An adjustment needs points and a reason.", field="points")
    account = ensure_loyalty_account(customer_id=customer_id)
    return _append(account, kind=LoyaltyEntryKind.ADJUST, points=points, source_reference=reference,
                   note=reason[:255], actor=actor)


def _points_on_order(account: LoyaltyAccount, order_id: int, kind: str) -> int:
    return LoyaltyEntry.objects.filter(account=account, order_id=order_id, kind=kind).aggregate(
        total=Sum("points"))["total"] or 0


def _append(account: LoyaltyAccount, *, kind: str, points: int, source_reference: str = "",
            order_id: int | None = None, refund_reference: str = "", note: str = "",
            actor: str = "") -> LoyaltyEntry:
    """The entry and the balance change, together. The entry goes first so a duplicate
    source is found by the unique index before the balance moves."""
    try:
        with transaction.atomic():
            entry = LoyaltyEntry.objects.create(
                account=account, kind=kind, points=points, order_id=order_id,
                refund_reference=refund_reference, source_reference=source_reference,
                note=note, actor=actor)
            _change_balance(account.pk, points)
            return entry
    except IntegrityError:
        if not source_reference:
            raise
        existing = LoyaltyEntry.objects.filter(kind=kind, source_reference=source_reference).first()
        if existing is None:
            raise
        return existing


def _change_balance(account_id: int, points: int) -> None:
    updated = LoyaltyAccount.objects.filter(pk=account_id, balance__gte=-points).update(
        balance=F("balance") + points)
    if updated != 1:
        available = LoyaltyAccount.objects.filter(pk=account_id).values_list("balance", flat=True).first()
        raise InsufficientBalance(requested=-points, available=available or 0, unit="points",
                                  field="points")
