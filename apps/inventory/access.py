"""Which locations a member of staff may see or change: the location half of the role checks."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

from apps.core.roles import Reach, reach
from apps.inventory.models import Location, StaffMembership


def permitted_location_ids(user, capability: str) -> set[int] | None:
    """The ids of the locations where `user` has `capability`; None means every location."""
    granted = reach(user, capability)
    if granted is Reach.EVERYWHERE:
        return None
    if granted is Reach.NONE:
        return set()
    return set(StaffMembership.objects.filter(user=user).values_list("location_id", flat=True))


def may_at(user, capability: str, location_id: int) -> bool:
    ids = permitted_location_ids(user, capability)
    return ids is None or location_id in ids


def require_at(user, capability: str, location_id: int) -> None:
    """403 unless `user` has `capability` at this location (never a hint of what is there)."""
    if not may_at(user, capability, location_id):
        raise PermissionDenied("This location is not one of yours.")


def within_reach(queryset, user, capability: str, field: str = "location_id"):
    """`queryset` narrowed to the rows of locations where `user` has `capability`."""
    ids = permitted_location_ids(user, capability)
    return queryset if ids is None else queryset.filter(**{f"{field}__in": ids})


def permitted_locations(user, capability: str):
    return within_reach(Location.objects.filter(is_active=True), user, capability, field="id")


def staff_location_codes(user) -> list[str]:
    return list(StaffMembership.objects.filter(user=user).values_list("location__code", flat=True))
