"""The admin's pages: staff users and roles, API keys, buffers and ownership, connections
and long jobs, the audit log. Only the admin role opens them; every write is a service."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_q.tasks import async_task

from apps.backoffice import selectors, services
from apps.backoffice.forms import (
    ApiKeyForm,
    BufferForm,
    CatalogPullForm,
    EditStaffUserForm,
    NewStaffUserForm,
    OwnershipForm,
    StockResyncForm,
)
from apps.connectors.config import is_configured
from apps.connectors.enums import JobStatus
from apps.connectors.services.catalog_sync import start_catalog_pull
from apps.connectors.services.operator import set_channel_buffer, set_owner
from apps.connectors.services.stock_resync import start_stock_resync
from apps.core import roles
from apps.core.errors import DomainError
from apps.core.models import ApiClient
from apps.core.services import create_api_client, revoke_api_client
from apps.inventory.models import Location

administer = roles.capability_required(roles.ADMINISTER)


def _locations():
    return Location.objects.filter(is_active=True).order_by("code")


def _run(form, write) -> bool:
    """Call a service for a valid form; a domain error shows next to its field."""
    if not form.is_valid():
        return False
    try:
        write(form.cleaned_data)
    except DomainError as error:
        form.add_error(error.field if error.field in form.fields else None, error.detail)
        return False
    return True


# ---------------------------------------------------------------- staff users


@require_http_methods(["GET", "POST"])
@administer
def staff_users(request):
    form = NewStaffUserForm(request.POST or None, locations=_locations())
    created = None

    def create(data):
        nonlocal created
        created = services.create_staff_user(
            username=data["username"], role=data["role"], location_codes=data["locations"],
            password=data["password"] or None, actor_user=request.user, actor_label=request.user.username)

    if request.method == "POST" and _run(form, create):
        user, password = created
        messages.success(request, f"{user.username} can sign in now.")
        form = NewStaffUserForm(locations=_locations())
        # A generated password is shown on this answer only: it is never stored in clear.
        generated = not request.POST.get("password")
        created = {"username": user.username, "password": password if generated else ""}
    return render(request, "backoffice/manage/users.html", {
        "users": selectors.list_staff_users(), "form": form, "created": created, "tab": "users"})


@require_http_methods(["GET", "POST"])
@administer
def staff_user(request, user_id: int):
    user = get_object_or_404(get_user_model(), pk=user_id)
    current_role = next((slug for slug, name in roles.ROLE_BY_SLUG.items() if name in roles.roles_of(user)),
                        "")
    initial = {"role": current_role, "is_active": user.is_active,
               "locations": [m.location.code for m in user.staff_memberships.select_related("location")]}
    form = EditStaffUserForm(request.POST or None, initial=initial, locations=_locations())
    if request.method == "POST" and _run(form, lambda data: services.update_staff_user(
            user_id=user.pk, role=data["role"], location_codes=data["locations"],
            is_active=data["is_active"], actor_user=request.user)):
        messages.success(request, f"{user.username} updated.")
        return redirect("backoffice:manage-users")
    return render(request, "backoffice/manage/user.html", {"staff": user, "form": form, "tab": "users"})


# ---------------------------------------------------------------- API keys


@require_http_methods(["GET", "POST"])
@administer
def api_keys(request):
    form = ApiKeyForm(request.POST or None)
    new_key = None

    def create(data):
        nonlocal new_key
        client, new_key = create_api_client(name=data["name"], channel=data["channel"], role=data["role"],
                                            actor_label=request.user.username)
        messages.success(request, f"Key for {client.name} created. Copy it now: it is not shown again.")

    if request.method == "POST" and _run(form, create):
        form = ApiKeyForm()
    return render(request, "backoffice/manage/api_keys.html", {
        "clients": ApiClient.objects.order_by("-is_active", "name"), "form": form, "new_key": new_key,
        "tab": "keys"})


@require_POST
@administer
def revoke_api_key(request, client_id: int):
    try:
        client = revoke_api_client(client_id=client_id, actor_user=request.user,
                                   actor_label=request.user.username)
    except DomainError as error:
        messages.error(request, error.detail)
    else:
        messages.success(request, f"The key of {client.name} is revoked.")
    return redirect("backoffice:manage-keys")


# ---------------------------------------------------------------- sync: connections, buffers, owners, jobs


@require_http_methods(["GET", "POST"])
@administer
def sync_settings(request):
    locations = list(_locations())
    forms = {"buffer_form": BufferForm(locations=locations), "owner_form": OwnershipForm(locations=locations),
             "pull_form": CatalogPullForm(), "resync_form": StockResyncForm()}
    action = request.POST.get("form", "")
    if action == "buffer":
        forms["buffer_form"] = BufferForm(request.POST, locations=locations)
        if _run(forms["buffer_form"], lambda data: set_channel_buffer(
                platform=data["platform"], location_id=_location_id(data["location"]), units=data["units"],
                user=request.user)):
            messages.success(request, "Buffer saved; the platform gets the new availability now.")
            return redirect("backoffice:manage-sync")
    elif action == "owner":
        forms["owner_form"] = OwnershipForm(request.POST, locations=locations)
        if _run(forms["owner_form"], lambda data: set_owner(
                domain=data["domain"], owner=data["owner"], user=request.user,
                location_id=_location_id(data["location"]) if data["location"] else None)):
            messages.success(request, "Ownership saved.")
            return redirect("backoffice:manage-sync")
    elif action == "pull":
        forms["pull_form"] = CatalogPullForm(request.POST)
        if _run(forms["pull_form"], lambda data: _start_catalog_pull(data["platform"])):
            messages.success(request, "Catalog pull queued; its progress shows below, here or later.")
            return redirect("backoffice:manage-sync")
    elif action == "resync":
        forms["resync_form"] = StockResyncForm(request.POST)
        if _run(forms["resync_form"], lambda data: _start_stock_resync(data["platform"])):
            messages.success(request, "Stock resync queued; its progress shows below, here or later.")
            return redirect("backoffice:manage-sync")
    return render(request, "backoffice/manage/sync.html", {
        **forms, "connections": selectors.connection_health(), "locations": locations,
        **selectors.buffers_and_owners(locations), **_jobs(), "tab": "sync"})


def _start_stock_resync(platform: str) -> None:
    job = start_stock_resync(platform=platform)
    async_task("apps.connectors.tasks.stock_resync_task", job.pk)


def _location_id(code: str) -> int:
    return Location.objects.values_list("pk", flat=True).get(code=code)


def _start_catalog_pull(platform: str) -> None:
    from apps.core.errors import ValidationFailed

    if not is_configured(platform):
        raise ValidationFailed(f"{platform} is off: its settings are missing.", field="platform")
    job = start_catalog_pull(platform=platform)
    async_task("apps.connectors.tasks.catalog_pull_task", job.pk)


@require_GET
@administer
def sync_jobs(request):
    """The long jobs' progress (polled while one runs): the job rows hold it, so leaving the
    page and coming back finds it where it is."""
    return render(request, "backoffice/manage/sync.html#jobs", _jobs())


def _jobs() -> dict:
    jobs = selectors.recent_sync_jobs()
    return {"jobs": jobs, "running": any(job.status in (JobStatus.QUEUED, JobStatus.RUNNING) for job in jobs)}


# ---------------------------------------------------------------- the audit log


@require_GET
@administer
def audit_log(request):
    filters = {"action": request.GET.get("action", "").strip(), "actor": request.GET.get("actor", "").strip(),
               "object_ref": request.GET.get("object", "").strip()}
    page = Paginator(selectors.audit_log(**filters), 50).get_page(request.GET.get("page"))
    return render(request, "backoffice/manage/audit.html", {"page": page, **filters, "tab": "audit"})
