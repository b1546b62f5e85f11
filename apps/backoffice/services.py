"""Writes of the back office itself: staff accounts and where they work."""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from apps.core.errors import ValidationFailed
from apps.core.roles import ALL_ROLES, ROLE_BY_SLUG, STORE_MANAGER, ensure_roles
from apps.core.services import record_audit
from apps.inventory.models import Location, StaffMembership


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def create_staff_user(*, username: str, role: str, location_codes: list[str] | tuple = (),
                      password: str | None = None, actor_label: str = "", actor_user=None) -> tuple:
    """A member of staff with one role (and, for a store manager, their locations).

    Returns the user and the password it was given (generated when none is passed)."""
    username = username.strip()
    if not username:
        raise ValidationFailed("A staff user needs a username.", field="username")
    if role not in ROLE_BY_SLUG:
        raise ValidationFailed(f"Unknown role {role!r}; choose one of {', '.join(ROLE_BY_SLUG)}.",
                               field="role")
    group_name = ROLE_BY_SLUG[role]
    locations = _locations(location_codes)
    if group_name == STORE_MANAGER and not locations:
        raise ValidationFailed("A store manager needs at least one location.", field="locations")
    users = get_user_model().objects
    if users.filter(username=username).exists():
        raise ValidationFailed(f"A user named {username!r} already exists.", field="username")
    password = password or generate_password()
    ensure_roles()
    with transaction.atomic():
        user = users.create_user(username=username, password=password)
        user.groups.add(Group.objects.get(name=group_name))
        StaffMembership.objects.bulk_create(
            [StaffMembership(user=user, location=location) for location in locations])
        record_audit(action="staff_user.created", obj=user, actor_user=actor_user, actor_label=actor_label,
                     data={"role": role, "locations": [loc.code for loc in locations]})
    return user, password


def _locations(codes) -> list[Location]:
    codes = sorted({code.strip().upper() for code in codes if code.strip()})
    found = {loc.code: loc for loc in Location.objects.filter(code__in=codes)}
    unknown = [code for code in codes if code not in found]
    if unknown:
        raise ValidationFailed(f"Unknown location {', '.join(unknown)}.", field="locations")
    return [found[code] for code in codes]


def update_staff_user(*, user_id: int, role: str, location_codes: list[str] | tuple = (),
                      is_active: bool = True, actor_user=None) -> object:
    """Give a member of staff another role, other locations, or take their access away."""
    if role not in ROLE_BY_SLUG:
        raise ValidationFailed(f"Unknown role {role!r}.", field="role")
    locations = _locations(location_codes)
    if ROLE_BY_SLUG[role] == STORE_MANAGER and not locations:
        raise ValidationFailed("A store manager needs at least one location.", field="locations")
    if actor_user is not None and actor_user.pk == user_id and not is_active:
        raise ValidationFailed("You cannot take away your own access.", field="is_active")
    ensure_roles()
    with transaction.atomic():
        user = get_user_model().objects.select_for_update().get(pk=user_id)
        user.groups.remove(*Group.objects.filter(name__in=ALL_ROLES))
        user.groups.add(Group.objects.get(name=ROLE_BY_SLUG[role]))
        StaffMembership.objects.filter(user=user).exclude(location__in=locations).delete()
        StaffMembership.objects.bulk_create([StaffMembership(user=user, location=location)
                                             for location in locations], ignore_conflicts=True)
        if user.is_active != is_active:
            user.is_active = is_active
            user.save(update_fields=["is_active"])
        record_audit(action="staff_user.updated", obj=user, actor_user=actor_user,
                     actor_label=getattr(actor_user, "username", ""),
                     data={"role": role, "locations": [loc.code for loc in locations],
                           "is_active": is_active})
    return user
