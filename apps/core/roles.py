"""Roles are Django groups; these are the ones Concord knows."""

from django.contrib.auth.models import Group

STORE_MANAGER = "Store manager"
CUSTOMER_SERVICE = "Customer service"
FINANCE = "Finance"
ADMIN = "Admin"
ALL_ROLES = [STORE_MANAGER, CUSTOMER_SERVICE, FINANCE, ADMIN]


def ensure_roles() -> None:
    for name in ALL_ROLES:
        Group.objects.get_or_create(name=name)
