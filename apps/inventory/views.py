"""Stock pages: levels by location, one item's level with its changes and its history."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from apps.core import roles
from apps.core.errors import DomainError
from apps.inventory import services
from apps.inventory.access import may_at, permitted_location_ids, permitted_locations, require_at
from apps.inventory.forms import StockChangeForm, TransferForm
from apps.inventory.models import AVAILABLE, Location, StockLevel, StockMovement

PAGE_SIZE = 50
STATES = [("", "Any"), ("available", "Available"), ("low", "Low (under 5)"), ("out", "Out of stock"),
          ("86d", "86'd")]


@roles.capability_required(roles.VIEW_STOCK)
def stock_list(request):
    """Stock levels at the locations the user reaches, searched and filtered, paginated."""
    levels = (StockLevel.objects.filter(location__in=permitted_locations(request.user, roles.VIEW_STOCK))
              .select_related("location", "variant").annotate(free=AVAILABLE))
    search = request.GET.get("q", "").strip()
    if search:
        levels = levels.filter(Q(variant__sku__icontains=search) | Q(variant__name__icontains=search))
    location = request.GET.get("location", "")
    if location:
        levels = levels.filter(location__code=location)
    levels = _in_state(levels, request.GET.get("state", ""))
    page = Paginator(levels.order_by("location__code", "variant__sku"), PAGE_SIZE).get_page(
        request.GET.get("page"))
    return render(request, "inventory/stock_list.html", {
        "page": page, "search": search, "location": location, "state": request.GET.get("state", ""),
        "locations": permitted_locations(request.user, roles.VIEW_STOCK), "states": STATES,
    })


def _in_state(levels, state: str):
    return {
        "available": levels.filter(free__gt=0, is_86d=False),
        "low": levels.filter(free__gt=0, free__lt=5, is_86d=False),
        "out": levels.filter(free__lte=0),
        "86d": levels.filter(is_86d=True),
    }.get(state, levels)


def _level_at(request, location_code: str, sku: str) -> StockLevel:
    """The level, once the user is known to reach its location (403 before any 404, so a
    store manager learns nothing about another store)."""
    location = Location.objects.filter(code=location_code).first()
    if location is None:
        if permitted_location_ids(request.user, roles.VIEW_STOCK) is not None:
            raise PermissionDenied("This location is not one of yours.")
        raise Http404("No such location.")
    require_at(request.user, roles.VIEW_STOCK, location.pk)
    level = (StockLevel.objects.select_related("location", "variant")
             .filter(location=location, variant__sku=sku).first())
    if level is None:
        raise Http404("This item is not stocked here.")
    return level


@require_http_methods(["GET", "POST"])
@roles.capability_required(roles.VIEW_STOCK)
def stock_detail(request, location_code: str, sku: str):
    """One item at one store: its level, the changes a manager makes, its movement history."""
    level = _level_at(request, location_code, sku)
    forms = {"change_form": StockChangeForm(),
             "transfer_form": TransferForm(destinations=_destinations(request, level))}
    if request.method == "POST":
        require_at(request.user, roles.CHANGE_STOCK, level.location_id)
        done = _handle_post(request, level, forms)
        if done is not None:
            return done
    # The numbers a refused change may have raced with; not the location and variant,
    # which refresh_from_db() would otherwise read again.
    level.refresh_from_db(fields=["on_hand", "committed", "safety_stock", "is_86d", "updated_at"])
    movements = Paginator(StockMovement.objects.filter(level=level).order_by("-id"), PAGE_SIZE).get_page(
        request.GET.get("page"))
    return render(request, "inventory/stock_detail.html", {
        "level": level, "location": level.location, "movements": movements, **forms,
        "can_change": may_at(request.user, roles.CHANGE_STOCK, level.location_id),
    })


def _handle_post(request, level: StockLevel, forms: dict):
    """A redirect once the change is made; None to show the page again with the form's errors."""
    action = request.POST.get("action", "")
    if action == "change":
        form = forms["change_form"] = StockChangeForm(request.POST)
        write = _change
    elif action == "transfer":
        form = forms["transfer_form"] = TransferForm(request.POST, destinations=_destinations(request, level))
        write = _transfer
    elif action in ("86", "un86"):
        services.set_item_86d(location_id=level.location_id, variant_id=level.variant_id,
                              is_86d=action == "86", actor=request.user.username, user=request.user)
        state = "86’d" if action == "86" else "back on sale"
        messages.success(request, f"{level.variant.sku} is {state} at {level.location.code}; "
                                  "every channel hears it.")
        return redirect(request.path)
    else:
        return HttpResponseBadRequest("Unknown action.")
    if form.is_valid() and _apply(request, form, write, level):
        return redirect(request.path)
    return None


def _destinations(request, level: StockLevel):
    return permitted_locations(request.user, roles.CHANGE_STOCK).exclude(pk=level.location_id)


def _apply(request, form, write, level: StockLevel) -> bool:
    """Run a service for a valid form; a domain error shows next to its field."""
    try:
        write(request, form, level)
    except DomainError as error:
        field = error.field if error.field in form.fields else None
        form.add_error(field, error.detail)
        return False
    return True


def _change(request, form: StockChangeForm, level: StockLevel) -> None:
    services.adjust_stock(location_id=level.location_id, variant_id=level.variant_id,
                          reference=form.cleaned_data["note"], actor=request.user.username,
                          user=request.user, **form.service_arguments())
    messages.success(request, f"Stock of {level.variant.sku} at {level.location.code} updated.")


def _transfer(request, form: TransferForm, level: StockLevel) -> None:
    target = Location.objects.get(code=form.cleaned_data["to_location"])
    require_at(request.user, roles.CHANGE_STOCK, target.pk)
    quantity, note = form.cleaned_data["quantity"], form.cleaned_data["note"]
    route = f"{level.location.code} → {target.code}"
    services.transfer_stock(from_location_id=level.location_id, to_location_id=target.pk,
                            variant_id=level.variant_id, quantity=quantity,
                            reference=f"{route}: {note}" if note else route,
                            actor=request.user.username, user=request.user)
    messages.success(request, f"Sent {quantity} × {level.variant.sku} {route}.")
