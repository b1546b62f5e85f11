"""Every stock change: one conditional UPDATE or a locked read-modify-write, plus a ledger row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.core import topics
from apps.core.errors import ValidationFailed
from apps.core.services import record_audit, write_outbox
from apps.inventory.enums import MovementReason
from apps.inventory.exceptions import StockShortage
from apps.inventory.locks import lock_stock_level, lock_stock_levels
from apps.inventory.models import StockLevel, StockMovement


@dataclass(frozen=True)
class StockRequest:
    """`quantity` units of the variant whose level at the order's location is `level_id`."""

    level_id: int
    quantity: int


@dataclass(frozen=True)
class Shortfall:
    level_id: int
    requested: int
    available_before: int

    @property
    def units_short(self) -> int:
        return self.requested - max(0, min(self.requested, self.available_before))


def _merged(requests: list[StockRequest]) -> list[StockRequest]:
    """One request per level, in level-id order: the lock order every writer shares."""
    totals: dict[int, int] = {}
    for request in requests:
        totals[request.level_id] = totals.get(request.level_id, 0) + request.quantity
    return [StockRequest(level_id, quantity) for level_id, quantity in sorted(totals.items())]


def _movements(requests, *, reason, on_hand_sign, committed_sign, order_id, reference, actor,
               occurred_at):
    return [
        StockMovement(
            level_id=r.level_id, reason=reason, on_hand_delta=on_hand_sign * r.quantity,
            committed_delta=committed_sign * r.quantity, order_id=order_id,
            reference=reference, actor=actor, occurred_at=occurred_at,
        )
        for r in requests
    ]


def reserve_stock(*, requests: list[StockRequest], order_id: int, actor: str = "",
                  occurred_at: datetime | None = None) -> None:
    """Commit stock for a refusable order: all lines or none. Call inside the order's
    transaction, as its last statements; raises StockShortage on the first short line."""
    merged = _merged(requests)
    StockMovement.objects.bulk_create(_movements(
        merged, reason=MovementReason.RESERVATION, on_hand_sign=0, committed_sign=1,
        order_id=order_id, reference="", actor=actor, occurred_at=occurred_at or timezone.now(),
    ))
    for request in merged:
        updated = StockLevel.objects.filter(
            pk=request.level_id, is_86d=False,
            on_hand__gte=F("committed") + F("safety_stock") + request.quantity,
        ).update(committed=F("committed") + request.quantity)
        if updated != 1:
            raise StockShortage(request.level_id)


def record_stock_facts(*, requests: list[StockRequest], reserved: bool, order_id: int,
                       actor: str = "", reference: str = "",
                       occurred_at: datetime | None = None) -> list[Shortfall]:
    """Stock for a sale that already happened: never refused. A register sale leaves on
    hand at once (`reserved=False`); a paid web order is committed until fulfilled. Returns
    the lines that took more than was available (the oversold units)."""
    merged = _merged(requests)
    quantities = {r.level_id: r.quantity for r in merged}
    shortfalls = []
    for level in lock_stock_levels(quantities):
        quantity = quantities[level.pk]
        if level.available < quantity:
            shortfalls.append(Shortfall(level.pk, quantity, level.available))
        if reserved:
            level.committed += quantity
        else:
            level.on_hand -= quantity
        level.save(update_fields=["on_hand", "committed", "updated_at"])
    StockMovement.objects.bulk_create(_movements(
        merged, reason=MovementReason.RESERVATION if reserved else MovementReason.SALE,
        on_hand_sign=0 if reserved else -1, committed_sign=1 if reserved else 0,
        order_id=order_id, reference=reference, actor=actor,
        occurred_at=occurred_at or timezone.now(),
    ))
    return shortfalls


def settle_reserved_stock(*, requests: list[StockRequest], order_id: int, fulfilled: bool,
                          actor: str = "") -> None:
    """Turn a reservation into a sale (fulfilled) or give it back (canceled)."""
    merged = _merged(requests)
    for request in merged:
        changes = {"committed": F("committed") - request.quantity}
        if fulfilled:
            changes["on_hand"] = F("on_hand") - request.quantity
        StockLevel.objects.filter(pk=request.level_id).update(**changes)
    StockMovement.objects.bulk_create(_movements(
        merged, reason=MovementReason.FULFILLMENT if fulfilled else MovementReason.RELEASE,
        on_hand_sign=-1 if fulfilled else 0, committed_sign=-1, order_id=order_id,
        reference="", actor=actor, occurred_at=timezone.now(),
    ))


def return_sold_stock(*, requests: list[StockRequest], order_id: int, reference: str,
                      actor: str = "") -> None:
    """Units of a sale that no longer happened (a register sale voided at its POS) are on
    hand again. The ledger calls it a return, with `reference` saying it was a void: the
    goods never left, so no new reason is needed to explain where they are."""
    merged = _merged(requests)
    for request in merged:
        StockLevel.objects.filter(pk=request.level_id).update(on_hand=F("on_hand") + request.quantity)
    StockMovement.objects.bulk_create(_movements(
        merged, reason=MovementReason.RETURN, on_hand_sign=1, committed_sign=0, order_id=order_id,
        reference=reference, actor=actor, occurred_at=timezone.now(),
    ))


def ensure_stock_level(*, location_id: int, variant_id: int) -> StockLevel:
    level, _ = StockLevel.objects.get_or_create(location_id=location_id, variant_id=variant_id)
    return level


def adjust_stock(*, location_id: int, variant_id: int, delta: int | None = None,
                 counted: int | None = None, reason: str = MovementReason.ADJUSTMENT,
                 reference: str = "", actor: str = "", user=None) -> StockLevel:
    """Change on hand by `delta`, or set it to a physical `counted` quantity."""
    if (delta is None) == (counted is None):
        raise ValidationFailed("Give either a delta or a counted quantity.", field="delta")
    if counted is not None and counted < 0:
        raise ValidationFailed("A counted quantity cannot be negative.", field="counted")
    with transaction.atomic():
        ensure_stock_level(location_id=location_id, variant_id=variant_id)
        level = lock_stock_level(location_id=location_id, variant_id=variant_id)
        change = delta if counted is None else counted - level.on_hand
        _change_on_hand(level, change=change, reason=reason, reference=reference, actor=actor,
                        user=user)
    return level


def apply_platform_count(*, location_id: int, variant_id: int, available: int, buffer: int = 0,
                         reference: str = "", actor: str = "") -> StockLevel:
    """A platform that owns stock at the location counts `available` units there. On hand
    becomes that plus what the platform does not show (committed, safety stock, its buffer),
    read under the row lock: a reservation committing meanwhile is counted, not lost."""
    with transaction.atomic():
        ensure_stock_level(location_id=location_id, variant_id=variant_id)
        level = lock_stock_level(location_id=location_id, variant_id=variant_id)
        counted = max(0, available + level.committed + level.safety_stock + buffer)
        _change_on_hand(level, change=counted - level.on_hand, reason=MovementReason.COUNT,
                        reference=reference, actor=actor, user=None)
    return level


def _change_on_hand(level: StockLevel, *, change: int, reason: str, reference: str, actor: str,
                    user) -> None:
    """On hand moves by `change` on a locked level: the ledger row, the outbox row, the audit."""
    if change == 0:
        return
    level.on_hand += change
    level.save(update_fields=["on_hand", "updated_at"])
    StockMovement.objects.create(
        level=level, reason=reason, on_hand_delta=change, reference=reference, actor=actor,
        occurred_at=timezone.now(),
    )
    _announce_stock_change(level, cause=reason)
    record_audit(action="stock.adjusted", obj=level, actor_user=user, actor_label=actor,
                 data={"change": change, "reason": reason, "reference": reference})


def set_item_86d(*, location_id: int, variant_id: int, is_86d: bool, actor: str = "",
                 user=None) -> StockLevel:
    """Mark a variant unavailable at one location (or available again)."""
    with transaction.atomic():
        ensure_stock_level(location_id=location_id, variant_id=variant_id)
        changed = StockLevel.objects.filter(
            location_id=location_id, variant_id=variant_id
        ).exclude(is_86d=is_86d).update(is_86d=is_86d, updated_at=timezone.now())
        level = StockLevel.objects.get(location_id=location_id, variant_id=variant_id)
        if changed:
            _announce_stock_change(level, cause="86d" if is_86d else "un86d")
            record_audit(action="stock.86d" if is_86d else "stock.un86d", obj=level,
                         actor_user=user, actor_label=actor)
    return level


def set_safety_stock(*, location_id: int, variant_id: int, safety_stock: int, actor: str = "",
                     user=None) -> StockLevel:
    if safety_stock < 0:
        raise ValidationFailed("Safety stock cannot be negative.", field="safety_stock")
    with transaction.atomic():
        ensure_stock_level(location_id=location_id, variant_id=variant_id)
        StockLevel.objects.filter(location_id=location_id, variant_id=variant_id).update(
            safety_stock=safety_stock, updated_at=timezone.now()
        )
        level = StockLevel.objects.get(location_id=location_id, variant_id=variant_id)
        _announce_stock_change(level, cause="safety_stock")
        record_audit(action="stock.safety_stock", obj=level, actor_user=user, actor_label=actor,
                     data={"safety_stock": safety_stock})
    return level


def _announce_stock_change(level: StockLevel, *, cause: str) -> None:
    payload: topics.StockChangedPayload = {"location_id": level.location_id, "variant_id": level.variant_id,
                                           "cause": cause}
    write_outbox(topic=topics.STOCK_CHANGED, aggregate_type="StockLevel", aggregate_id=level.pk,
                 payload=payload)


def upsert_location(*, code: str, name: str, timezone_name: str, currency: str = "USD",
                    tax_rate_bps: int | None = None, tax_exempt_categories: list[str] | None = None,
                    business_day_starts_at: int | None = None):
    """Create or update a location; tax settings and the business day's start hour change
    only when given."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from apps.inventory.models import Location

    try:
        ZoneInfo(timezone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(f"Unknown time zone {timezone_name!r}.", field="timezone") from None
    if tax_rate_bps is not None and not 0 <= tax_rate_bps <= 10000:
        raise ValidationFailed("A tax rate is 0 to 10000 basis points.", field="tax_rate_bps")
    if business_day_starts_at is not None and not 0 <= business_day_starts_at <= 23:
        raise ValidationFailed("A business day starts at an hour from 0 to 23.",
                               field="business_day_starts_at")
    defaults = {"name": name, "timezone": timezone_name, "currency": currency}
    if business_day_starts_at is not None:
        defaults["business_day_starts_at"] = business_day_starts_at
    if tax_rate_bps is not None:
        defaults["tax_rate_bps"] = tax_rate_bps
    if tax_exempt_categories is not None:
        defaults["tax_exempt_categories"] = sorted(set(tax_exempt_categories))
    location, _ = Location.objects.update_or_create(code=code, defaults=defaults)
    return location


def transfer_stock(*, from_location_id: int, to_location_id: int, variant_id: int, quantity: int,
                   reference: str = "", actor: str = "", user=None) -> tuple[StockLevel, StockLevel]:
    """Move units from one store to another: out of one level, into the other, one ledger
    row each, in one transaction. Only available units leave (never committed ones)."""
    from apps.inventory.exceptions import InsufficientStock

    if from_location_id == to_location_id:
        raise ValidationFailed("Choose another location to transfer to.", field="to_location")
    if quantity <= 0:
        raise ValidationFailed("Transfer at least one unit.", field="quantity")
    with transaction.atomic():
        source = ensure_stock_level(location_id=from_location_id, variant_id=variant_id)
        target = ensure_stock_level(location_id=to_location_id, variant_id=variant_id)
        levels = {level.pk: level for level in lock_stock_levels([source.pk, target.pk])}
        source, target = levels[source.pk], levels[target.pk]
        if source.available < quantity:
            raise InsufficientStock(f"Only {max(0, source.available)} available to transfer.",
                                    field="quantity", extra={"available": max(0, source.available)})
        now = timezone.now()
        for level, reason, change in ((source, MovementReason.TRANSFER_OUT, -quantity),
                                      (target, MovementReason.TRANSFER_IN, quantity)):
            level.on_hand += change
            level.save(update_fields=["on_hand", "updated_at"])
            StockMovement.objects.create(level=level, reason=reason, on_hand_delta=change,
                                         reference=reference, actor=actor, occurred_at=now)
            _announce_stock_change(level, cause=reason)
        record_audit(action="stock.transferred", obj=source, actor_user=user, actor_label=actor,
                     data={"to_level": target.pk, "quantity": quantity, "reference": reference})
    return source, target


def restock_returned_units(*, location_id: int, quantities: dict[int, int], order_id: int, reference: str,
                           actor: str = "") -> None:
    """Returned units (variant id -> quantity) back on hand at the location that took the
    return, whatever location sold them: a ledger row each and a `stock.changed` so every
    platform hears of the new count."""
    levels = {variant_id: ensure_stock_level(location_id=location_id, variant_id=variant_id)
              for variant_id in sorted(quantities)}
    return_sold_stock(requests=[StockRequest(levels[v].pk, q) for v, q in quantities.items() if q > 0],
                      order_id=order_id, reference=reference, actor=actor)
    for level in sorted(levels.values(), key=lambda lv: lv.pk):
        _announce_stock_change(level, cause="return")
