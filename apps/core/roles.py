"""Roles are Django groups; these are the ones Concord knows, and what each may do.

A capability is granted either everywhere or, for a store manager, at their own locations
only (the locations are `inventory.StaffMembership` rows; `apps.inventory.access` turns a
user and a capability into the location ids they may touch).
"""

from __future__ import annotations

from enum import Enum

from django.contrib.auth.models import Group

STORE_MANAGER = "Store manager"
CUSTOMER_SERVICE = "Customer service"
FINANCE = "Finance"
ADMIN = "Admin"
ALL_ROLES = [STORE_MANAGER, CUSTOMER_SERVICE, FINANCE, ADMIN]

# The names `create_staff_user --role` takes.
ROLE_BY_SLUG = {"store_manager": STORE_MANAGER, "customer_service": CUSTOMER_SERVICE,
                "finance": FINANCE, "admin": ADMIN}

VIEW_DASHBOARD = "view_dashboard"
VIEW_STOCK = "view_stock"
CHANGE_STOCK = "change_stock"
VIEW_ORDERS = "view_orders"
CHANGE_ORDERS = "change_orders"
WORK_EXCEPTIONS = "work_exceptions"
VIEW_CUSTOMERS = "view_customers"  # a store manager: customers with an order at their locations
MERGE_CUSTOMERS = "merge_customers"  # merge two customer records, and undo a merge
VIEW_REPORTS = "view_reports"  # finance reports and their exports (files, the journal, export jobs)
REFUND_ORDERS = "refund_orders"  # returns and refunds; customer service's above the limit wait
APPROVE_REFUNDS = "approve_refunds"  # approve or reject a refund waiting above the limit
RECONCILE = "reconcile"  # finance's own work: import deposit files, mark a reconciled day reviewed
VIEW_CASH_DRAWERS = "view_cash_drawers"  # drawer counts, expected cash and over/short per day
COUNT_CASH_DRAWERS = "count_cash_drawers"  # record a drawer count (a store's own record)
ADMINISTER = "administer"  # staff users, API keys, buffers, ownership, connections, the audit log


class Reach(Enum):
    NONE = "none"
    OWN_LOCATIONS = "own_locations"
    EVERYWHERE = "everywhere"


# Who may do what. A store manager's grants hold at their own locations only; finance
# reads, and changes only its own records (deposit imports, reviewed days; a drawer count is
# the store's record, so finance reads counts and records none); admin may do
# everything. Refunds follow the API's staff keys: customer service refunds (above
# REFUND_APPROVAL_LIMIT it waits for approval), a store manager approves or rejects those
# waiting at their stores, admin does both.
GRANTS: dict[str, dict[str, Reach]] = {
    STORE_MANAGER: {
        VIEW_DASHBOARD: Reach.OWN_LOCATIONS, VIEW_STOCK: Reach.OWN_LOCATIONS,
        CHANGE_STOCK: Reach.OWN_LOCATIONS, VIEW_ORDERS: Reach.OWN_LOCATIONS,
        CHANGE_ORDERS: Reach.OWN_LOCATIONS, WORK_EXCEPTIONS: Reach.OWN_LOCATIONS,
        VIEW_CUSTOMERS: Reach.OWN_LOCATIONS, APPROVE_REFUNDS: Reach.OWN_LOCATIONS,
        VIEW_CASH_DRAWERS: Reach.OWN_LOCATIONS, COUNT_CASH_DRAWERS: Reach.OWN_LOCATIONS,
    },
    CUSTOMER_SERVICE: {
        VIEW_DASHBOARD: Reach.EVERYWHERE, VIEW_STOCK: Reach.EVERYWHERE,
        VIEW_ORDERS: Reach.EVERYWHERE, CHANGE_ORDERS: Reach.EVERYWHERE,
        WORK_EXCEPTIONS: Reach.EVERYWHERE, VIEW_CUSTOMERS: Reach.EVERYWHERE,
        MERGE_CUSTOMERS: Reach.EVERYWHERE, REFUND_ORDERS: Reach.EVERYWHERE,
    },
    FINANCE: {
        VIEW_DASHBOARD: Reach.EVERYWHERE, VIEW_STOCK: Reach.EVERYWHERE,
        VIEW_ORDERS: Reach.EVERYWHERE, VIEW_CUSTOMERS: Reach.EVERYWHERE,
        VIEW_REPORTS: Reach.EVERYWHERE, RECONCILE: Reach.EVERYWHERE, VIEW_CASH_DRAWERS: Reach.EVERYWHERE,
    },
    ADMIN: {
        VIEW_DASHBOARD: Reach.EVERYWHERE, VIEW_STOCK: Reach.EVERYWHERE,
        CHANGE_STOCK: Reach.EVERYWHERE, VIEW_ORDERS: Reach.EVERYWHERE,
        CHANGE_ORDERS: Reach.EVERYWHERE, WORK_EXCEPTIONS: Reach.EVERYWHERE,
        ADMINISTER: Reach.EVERYWHERE, VIEW_CUSTOMERS: Reach.EVERYWHERE, VIEW_REPORTS: Reach.EVERYWHERE,
        MERGE_CUSTOMERS: Reach.EVERYWHERE, REFUND_ORDERS: Reach.EVERYWHERE,
        APPROVE_REFUNDS: Reach.EVERYWHERE, RECONCILE: Reach.EVERYWHERE,
        VIEW_CASH_DRAWERS: Reach.EVERYWHERE, COUNT_CASH_DRAWERS: Reach.EVERYWHERE,
    },
}
_RANK = {Reach.NONE: 0, Reach.OWN_LOCATIONS: 1, Reach.EVERYWHERE: 2}


def ensure_roles() -> None:
    for name in ALL_ROLES:
        Group.objects.get_or_create(name=name)


def roles_of(user) -> set[str]:
    """The user's roles; a superuser counts as admin. Cached on the user for the request."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return set()
    if not hasattr(user, "_concord_roles"):
        roles = set(user.groups.filter(name__in=ALL_ROLES).values_list("name", flat=True))
        if user.is_superuser:
            roles.add(ADMIN)
        user._concord_roles = roles
    return user._concord_roles


def reach(user, capability: str) -> Reach:
    """How far the user's widest role grants `capability`."""
    best = Reach.NONE
    for role in roles_of(user):
        granted = GRANTS[role].get(capability, Reach.NONE)
        if _RANK[granted] > _RANK[best]:
            best = granted
    return best


def can(user, capability: str) -> bool:
    return reach(user, capability) is not Reach.NONE


def capability_required(capability: str):
    """A view for signed-in staff whose role grants `capability` (anywhere): anonymous
    users go to the sign-in page, others without it get 403. Location scope is checked
    by the view itself (see apps.inventory.access)."""
    from functools import wraps

    from django.contrib.auth.views import redirect_to_login
    from django.core.exceptions import PermissionDenied

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not can(request.user, capability):
                raise PermissionDenied(f"Your role does not allow {capability.replace('_', ' ')}.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
