"""The reconciliation page: the days of a range (sold, processor, paid out, what explains
the difference, what does not), a day's lines, marking a day reviewed, recomputing the
range and importing a deposit file. Finance and admin; reading needs VIEW_REPORTS, the
writes RECONCILE (finance's own records only)."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Max, Min
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from apps.core import roles
from apps.reports import reconciliation_selectors as selectors
from apps.reports.enums import DepositPlatform, ReconciliationClass, ReconciliationStatus
from apps.reports.files import streaming_file
from apps.reports.models import ReconciliationDay
from apps.reports.reconciliation import mark_day_reviewed, reconcile_days
from apps.reports.request_params import page_range, requested_file_format, stores_latest_day
from apps.reports.selectors import list_store_days_now
from apps.reports.services import import_deposit_file

reports_required = roles.capability_required(roles.VIEW_REPORTS)
reconcile_required = roles.capability_required(roles.RECONCILE)
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
# A day's lines a page at a time: the unexplained first (a busy day with its processor not
# read yet has hundreds of lines, one per payment).
DAY_LINES = 50


@require_GET
@reports_required
def reconciliation_page(request):
    (first, last), error = page_range(request.GET, today=stores_latest_day(list_store_days_now()))
    file_format = requested_file_format(request.GET)
    if file_format and not error:
        return streaming_file(selectors.reconciliation_table(first_day=first, last_day=last), file_format,
                              f"reconciliation-{first}-{last}")
    days = list(selectors.list_reconciliation_days(first_day=first, last_day=last))
    explained = selectors.explained_by_class(days)
    classes = dict(ReconciliationClass.choices)
    return render(request, "reports/reconciliation.html", {
        "first": first, "last": last, "error": error, "tab": "reconciliation",
        "rows": [(day, [(classes.get(name, name), amount) for name, amount in
                        sorted(explained.get(day.pk, {}).items())]) for day in days],
        "totals": selectors.totals(days), "classes": classes,
        "platforms": DepositPlatform.choices, "can_reconcile": roles.can(request.user, roles.RECONCILE)})


@require_GET
@reports_required
def reconciliation_day_page(request, day_id: int):
    try:
        day = selectors.get_reconciliation_day(day_id=day_id)
    except ReconciliationDay.DoesNotExist:
        raise Http404("No such reconciliation day.") from None
    lines = Paginator(selectors.list_reconciliation_lines(day_id=day.pk), DAY_LINES).get_page(
        request.GET.get("page"))
    return render(request, "reports/reconciliation_day.html", {
        "day": day, "lines": lines, "tab": "reconciliation",
        "first": day.business_day, "last": day.business_day,
        "can_reconcile": roles.can(request.user, roles.RECONCILE)})


@require_POST
@reconcile_required
def reconcile_range(request):
    (first, last), error = page_range(request.POST)
    if error:
        messages.error(request, error)
    else:
        days = reconcile_days(first_day=first, last_day=last)
        unexplained = sum(1 for day in days if day.status != ReconciliationStatus.RECONCILED)
        messages.success(request, f"Reconciled {len(days)} day(s) of stores and processors; "
                                  f"{unexplained} with differences to look at.")
    return redirect(f"{reverse('reports:reconciliation')}?from={first}&to={last}")


@require_POST
@reconcile_required
def review_day(request, day_id: int):
    if not ReconciliationDay.objects.filter(pk=day_id).exists():
        raise Http404("No such reconciliation day.")
    day = mark_day_reviewed(day_id=day_id, user=request.user, note=request.POST.get("note", "")[:1000])
    messages.success(request, f"{day.business_day} {day.platform} marked reviewed.")
    return redirect("reports:reconciliation-day", day_id=day_id)


@require_POST
@reconcile_required
def import_deposits(request):
    platform = request.POST.get("platform", "")
    upload = request.FILES.get("file")
    if platform not in DepositPlatform.values:
        messages.error(request, "Choose what the file is: Toast, Clover or a bank statement.")
    elif upload is None:
        messages.error(request, "Choose a file to import.")
    elif upload.size > MAX_UPLOAD_BYTES:
        messages.error(request, f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
    else:
        result = import_deposit_file(platform=platform, name=upload.name[:255], content=upload.read(),
                                     user=request.user)
        for problem in result.problems[:50]:
            messages.error(request, str(problem))
        if result.problems:
            messages.error(request, f"{upload.name}: {result.message}")
        else:
            # A new import's message names its file; "already imported" names the earlier one.
            messages.success(request, result.message if result.created
                             else f"{upload.name}: {result.message}")
            first, last = _days_of(result.deposit_import)
            if first:
                reconcile_days(first_day=first, last_day=last)
                return redirect(f"{reverse('reports:reconciliation')}?from={first}&to={last}")
    return redirect("reports:reconciliation")


def _days_of(deposit_import):
    span = deposit_import.deposit_rows.aggregate(first=Min("business_day"), last=Max("business_day"),
                                                 first_date=Min("date"), last_date=Max("date"))
    return (span["first"] or span["first_date"]), (span["last"] or span["last_date"])

