"""The cash drawers page: per location and business day the cash expected, counted and
over or short, and the form to record a count (HTMX swaps the table and the form; without
JavaScript a count posts and comes back). Store managers read and count their own stores;
finance reads every store and counts none; admin does both everywhere."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from apps.core import roles
from apps.core.errors import DomainError
from apps.inventory.access import permitted_locations, require_at
from apps.inventory.models import Location
from apps.reports import drawer_selectors as selectors
from apps.reports.business_day import location_day
from apps.reports.drawer_forms import DrawerCountForm, DrawerFloatForm
from apps.reports.exceptions import LocationNotPermitted
from apps.reports.files import streaming_file
from apps.reports.request_params import page_range, requested_file_format
from apps.reports.services import record_drawer_count, set_drawer_float
from apps.reports.views import TABLE_ROWS

drawers_required = roles.capability_required(roles.VIEW_CASH_DRAWERS)


@require_http_methods(["GET", "POST"])
@drawers_required
def cash_drawers_page(request):
    params = request.POST if request.method == "POST" else request.GET
    (first, last), error = page_range(params)
    countable = list(permitted_locations(request.user, roles.COUNT_CASH_DRAWERS))
    forms = _blank_forms(request, countable)
    if request.method == "POST" and _handle_post(request, countable, forms):
        if not request.htmx:
            return redirect(f"{request.path}?from={first}&to={last}")
        forms = _blank_forms(request, countable)
    days = _days(request, first, last)
    file_format = requested_file_format(request.GET) if request.method == "GET" else ""
    if file_format and not error:
        return streaming_file(selectors.drawers_table(days), file_format, f"cash-drawers-{first}-{last}")
    context = {**forms, "first": first, "last": last, "error": error, "tab": "cash_drawers",
               "rows": Paginator(days, TABLE_ROWS).get_page(params.get("page")),
               "totals": selectors.drawer_totals(days), "can_count": bool(countable),
               "can_view_reports": roles.can(request.user, roles.VIEW_REPORTS),
               "floats": _floats(countable), "countable_ids": {location.pk for location in countable}}
    template = "reports/cash_drawers.html#drawers" if request.htmx else "reports/cash_drawers.html"
    return render(request, template, context)


def _floats(countable: list[Location]) -> list[tuple[Location, int]]:
    floats = selectors.drawer_floats(location_ids=[location.pk for location in countable])
    return [(location, floats.get(location.pk, 0)) for location in countable]


def _days(request, first, last):
    locations = list(permitted_locations(request.user, roles.VIEW_CASH_DRAWERS))
    return selectors.list_drawer_days(locations=locations, first=first, last=last)


def _blank_forms(request, countable: list[Location]) -> dict:
    return {"count_form": DrawerCountForm(locations=countable, initial=_count_initial(request, countable)),
            "float_form": DrawerFloatForm(locations=countable, prefix="float")}


def _count_initial(request, countable: list[Location]) -> dict:
    """A row's "Count" link names its store and day; otherwise the first store's today."""
    code = request.GET.get("count_at", "")
    location = next((loc for loc in countable if loc.code == code), countable[0] if countable else None)
    if location is None:
        return {}
    day = request.GET.get("count_day") or location_day(timezone.now(), location)
    return {"location": location.code, "business_day": day}


def _handle_post(request, countable: list[Location], forms: dict) -> bool:
    """True once the count or float is recorded; False to show the form's errors."""
    if not countable:
        raise PermissionDenied("Your role does not allow counting cash drawers.")
    if request.POST.get("action") == "float":
        form = forms["float_form"] = DrawerFloatForm(request.POST, locations=countable, prefix="float")
        write = _set_float
    else:
        form = forms["count_form"] = DrawerCountForm(request.POST, locations=countable)
        write = _record_count
    if not form.is_valid():
        return False
    location = _location_to_count(request, form.cleaned_data["location"])
    try:
        write(request, form, location)
    except LocationNotPermitted as refused:
        raise PermissionDenied(refused.detail) from None
    except DomainError as refused:
        form.add_error(refused.field if refused.field in form.fields else None, refused.detail)
        return False
    return True


def _location_to_count(request, code: str) -> Location:
    """The location a form names, once the user may count there (403 for another store,
    whether or not it exists)."""
    location = Location.objects.filter(code=code).first()
    if location is None:
        raise PermissionDenied("This location is not one of yours.")
    require_at(request.user, roles.COUNT_CASH_DRAWERS, location.pk)
    return location


def _record_count(request, form: DrawerCountForm, location: Location) -> None:
    data = form.cleaned_data
    count = record_drawer_count(location_id=location.pk, business_day=data["business_day"],
                                counted=data["counted"], opening_float=data["opening_float"],
                                note=data["note"], user=request.user)
    recount = " (a recount: it replaces the earlier one)" if count.recounts else ""
    messages.success(request, f"Drawer of {location.code} for {count.business_day} recorded{recount}.")


def _set_float(request, form: DrawerFloatForm, location: Location) -> None:
    set_drawer_float(location_id=location.pk, amount=form.cleaned_data["amount"], user=request.user)
    messages.success(request, f"The standard opening float of {location.code} is set.")
