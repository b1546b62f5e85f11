"""Cash drawer writes: a count of a location's drawer at the close of a business day, and
the opening float its counts default to. Re-exported by `apps.reports.services`.

A count is the store's own record: a store manager counts their own stores' drawers, admin
any; finance reads the counts and records none (roles.COUNT_CASH_DRAWERS). One count per
location and business day: a recount replaces it, and the audit trail keeps what it
replaced."""

from __future__ import annotations

from datetime import date

from django.db import transaction
from django.utils import timezone

from apps.core import roles
from apps.core.services import record_audit
from apps.inventory.access import may_at
from apps.inventory.models import Location
from apps.reports.business_day import location_day
from apps.reports.drawer_selectors import drawer_float_of, expected_cash, over_short
from apps.reports.exceptions import FutureBusinessDay, LocationNotPermitted, NegativeAmount, UnknownLocation
from apps.reports.locks import lock_drawer_counts_of_location
from apps.reports.models import CashDrawerCount, CashDrawerFloat

MAX_NOTE = 1000


def record_drawer_count(*, location_id: int, business_day: date, counted: int, user,
                        opening_float: int | None = None, note: str = "") -> CashDrawerCount:
    """Record what `user` counted in the drawer of `location_id` for `business_day` (the
    float defaults to the location's). A recount replaces the day's count."""
    location = _location_to_count(user, location_id)
    if opening_float is None:
        opening_float = drawer_float_of(location.pk)
    _check_count(location, business_day=business_day, counted=counted, opening_float=opening_float)
    values = {"currency": location.currency, "counted": counted, "opening_float": opening_float,
              "counted_by": user, "counted_at": timezone.now(), "note": note.strip()[:MAX_NOTE]}
    with transaction.atomic():
        lock_drawer_counts_of_location(location.pk)
        count = CashDrawerCount.objects.filter(location=location, business_day=business_day).first()
        replaced = _as_audited(count) if count else None
        if count is None:
            count = CashDrawerCount.objects.create(location=location, business_day=business_day, **values)
        else:
            for name, value in values.items():
                setattr(count, name, value)
            count.recounts += 1
            count.save(update_fields=[*values, "recounts"])
        expected = expected_cash(location=location, first=business_day, last=business_day)
        expected = expected.get(business_day, 0)
        record_audit(action="cash_drawer.recounted" if replaced else "cash_drawer.counted", obj=count,
                     actor_user=user, data={**_as_audited(count), "location": location.code,
                                            "expected": expected, "over_short": over_short(count, expected),
                                            **({"replaced": replaced} if replaced else {})})
    return count


def set_drawer_float(*, location_id: int, amount: int, user) -> CashDrawerFloat:
    """The opening float the counts of `location_id` default to from now on (audited)."""
    location = _location_to_count(user, location_id)
    if amount < 0:
        raise NegativeAmount("The opening float cannot be negative.", field="amount")
    with transaction.atomic():
        previous = drawer_float_of(location.pk)
        drawer_float, _ = CashDrawerFloat.objects.update_or_create(location=location,
                                                                   defaults={"amount": amount})
        record_audit(action="cash_drawer.float_set", obj=drawer_float, actor_user=user,
                     data={"location": location.code, "amount": amount, "previous": previous})
    return drawer_float


def _location_to_count(user, location_id: int) -> Location:
    """The location, once `user` is known to count drawers there (403 before any 404, so a
    store manager learns nothing of another store)."""
    if not may_at(user, roles.COUNT_CASH_DRAWERS, location_id):
        raise LocationNotPermitted("You may not count the drawers of this location.", field="location")
    location = Location.objects.filter(pk=location_id).first()
    if location is None:
        raise UnknownLocation("No such location.", field="location")
    return location


def _check_count(location: Location, *, business_day: date, counted: int, opening_float: int) -> None:
    if counted < 0:
        raise NegativeAmount("The counted cash cannot be negative.", field="counted")
    if opening_float < 0:
        raise NegativeAmount("The opening float cannot be negative.", field="opening_float")
    today = location_day(timezone.now(), location)
    if business_day > today:
        raise FutureBusinessDay(f"{business_day} has not started at {location.code} yet (today there is "
                                f"{today}).", field="business_day")


def _as_audited(count: CashDrawerCount) -> dict:
    return {"business_day": count.business_day.isoformat(), "counted": count.counted,
            "opening_float": count.opening_float, "counted_by": count.counted_by_id,
            "counted_at": count.counted_at.isoformat(), "note": count.note}
