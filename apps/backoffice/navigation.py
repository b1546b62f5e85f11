"""The back office's navigation: the pages a signed-in member of staff's role opens."""

from __future__ import annotations

from django.urls import reverse

from apps.core import roles

PAGES = [
    ("Dashboard", "backoffice:dashboard", roles.VIEW_DASHBOARD),
    ("Orders", "orders:list", roles.VIEW_ORDERS),
    ("Customers", "customers:list", roles.VIEW_CUSTOMERS),
    ("Stock", "inventory:stock", roles.VIEW_STOCK),
    ("Exceptions", "backoffice:exceptions", roles.WORK_EXCEPTIONS),
    ("Reports", "reports:channels", roles.VIEW_REPORTS),
    ("Cash drawers", "reports:cash-drawers", roles.VIEW_CASH_DRAWERS),
    ("Admin", "backoffice:manage-users", roles.ADMINISTER),
]
# A section with several pages (its tabs) stays lit on each of them: the admin's, and the
# reports' (the exports are one of their tabs, under /exports/).
SECTIONS = {"/manage/": ("/manage/",), "/reports/": ("/reports/", "/exports/")}


def navigation(request) -> dict:
    """Context processor: `nav_items` and `role_label` for the base layout."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    items = []
    for label, url_name, capability in PAGES:
        if not roles.can(user, capability):
            continue
        url = reverse(url_name)
        section = next((pages for prefix, pages in SECTIONS.items() if url.startswith(prefix)), (url,))
        active = request.path == url if url == "/" else request.path.startswith(section)
        items.append({"label": label, "url": url, "active": active})
    return {"nav_items": items, "role_label": ", ".join(sorted(roles.roles_of(user))) or "no role"}
