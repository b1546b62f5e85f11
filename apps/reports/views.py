"""Finance pages: the channel report, the liabilities, the daily journal and export jobs.

Finance and admin read and export (roles.VIEW_REPORTS); no other role has reports (a store
manager's figures are on the dashboard), so every other member of staff gets 403. A page
with `&format=csv|xlsx` streams the same figures as a file."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.core import roles
from apps.core.errors import Conflict, NotFound, ValidationFailed
from apps.inventory.access import permitted_location_ids
from apps.reports import export_jobs
from apps.reports.files import streaming_file
from apps.reports.journal import journal_table
from apps.reports.liabilities import LOYALTY_MOVEMENTS, STORED_VALUE_MOVEMENTS, liabilities
from apps.reports.periods import report_range
from apps.reports.request_params import page_range, requested_file_format, stores_latest_day
from apps.reports.selectors import channel_report, list_store_days_now
from apps.reports.tables import channel_table, liabilities_table

# The page's table shows this many lines at a time (a year is ~3,000); the totals, the
# chart and the files always cover the whole range.
TABLE_ROWS = 50
reports_required = roles.capability_required(roles.VIEW_REPORTS)


@require_GET
@reports_required
def channel_report_page(request):
    location_ids = permitted_location_ids(request.user, roles.VIEW_REPORTS)
    store_days = list_store_days_now(location_ids)
    (first, last), error = page_range(request.GET, today=stores_latest_day(store_days))
    report = channel_report(first=first, last=last, location_ids=location_ids)
    file_format = requested_file_format(request.GET)
    if file_format and not error:
        return streaming_file(channel_table(report), file_format, f"channel-report-{first}-{last}")
    return render(request, "reports/channels.html", {
        "report": report, "first": first, "last": last, "error": error, "tab": "channels",
        "store_days": store_days, "not_started": first > (stores_latest_day(store_days) or first),
        "rows": Paginator(report.rows, TABLE_ROWS).get_page(request.GET.get("page")),
        "currency": report.currencies[0] if report.currencies else "USD",
        "changes": {column: report.change(column)
                    for column in ("gross_sales", "orders", "refunds", "net_sales")},
        "chart": _channel_chart(report)})


def _channel_chart(report) -> dict:
    """Net sales per business day, one series per channel (all locations together)."""
    days = sorted({row.day for row in report.rows})
    channels = sorted({row.channel for row in report.rows})
    net = {(row.day, row.channel): 0 for row in report.rows}
    for row in report.rows:
        net[(row.day, row.channel)] += row.figures.gross_sales - row.figures.refunds
    return {"labels": [day.isoformat() for day in days], "exponent": 2,
            "series": [{"label": channel, "values": [net.get((day, channel), 0) for day in days]}
                       for channel in channels]}


@require_GET
@reports_required
def liabilities_page(request):
    (first, last), error = page_range(request.GET)
    report = liabilities(first=first, last=last)
    file_format = requested_file_format(request.GET)
    if file_format and not error:
        return streaming_file(liabilities_table(report), file_format, f"liabilities-{first}-{last}")
    chart = {"labels": [day.isoformat() for day in report.days], "exponent": 2,
             "series": [{"label": line.label, "values": [line.value(balance) for balance in line.daily]}
                        for line in report.lines]}
    for line in report.lines:
        labels = dict(LOYALTY_MOVEMENTS if line.points else STORED_VALUE_MOVEMENTS)
        line.shown_movements = [(labels.get(kind, kind), amount) for kind, amount in line.movements.items()
                                if amount]
    return render(request, "reports/liabilities.html", {
        "report": report, "first": first, "last": last, "error": error, "tab": "liabilities",
        "stored_value_movements": STORED_VALUE_MOVEMENTS, "loyalty_movements": LOYALTY_MOVEMENTS,
        "chart": chart})


@require_GET
@reports_required
def journal_file(request):
    """The daily journal as CSV (always a file; long ranges also run as export jobs)."""
    try:
        first, last = report_range(request.GET, required=True)
    except ValidationFailed as error:
        messages.error(request, str(error))
        return redirect("reports:channels")
    return streaming_file(journal_table(first=first, last=last), "csv", f"journal-{first}-{last}")


@require_http_methods(["GET", "POST"])
@reports_required
def export_list(request):
    if request.method == "POST":
        try:
            export_jobs.start_export(owner=request.user, kind=request.POST.get("kind", ""),
                                     file_format=request.POST.get("format", ""),
                                     params=request.POST)
        except ValidationFailed as error:
            messages.error(request, str(error))
        else:
            messages.success(request, "Export queued; its progress shows below, here or later.")
        return redirect("reports:exports")
    (first, last), _ = page_range({}, today=stores_latest_day(list_store_days_now()))
    return render(request, "reports/exports.html", {**_jobs(request), "kinds": export_jobs.KIND_LABELS,
                                                    "tab": "exports", "first": first, "last": last})


@require_GET
@reports_required
def export_progress(request):
    """The jobs' progress (polled while one runs): the job rows hold it, so leaving the
    page and coming back finds it where it is."""
    return render(request, "reports/exports.html#jobs", _jobs(request))


@require_POST
@reports_required
def export_restart(request, job_id: int):
    """Start a failed or stalled export of the user's again, as a new job."""
    try:
        again = export_jobs.restart_export(owner=request.user, job_id=job_id)
    except NotFound as error:
        raise Http404(str(error)) from None
    except Conflict as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Export #{job_id} started again as #{again.pk}; its progress shows below.")
    return redirect("reports:exports")


def _jobs(request) -> dict:
    jobs = export_jobs.jobs_of(owner=request.user)
    for job in jobs:
        job.label = export_jobs.KIND_LABELS.get(job.kind, job.kind)
    return {"jobs": jobs, "running": any(job.is_running for job in jobs)}


@require_GET
@reports_required
def export_download(request, job_id: int):
    job = get_object_or_404(export_jobs.jobs_of(owner=request.user, limit=None), pk=job_id)
    path = export_jobs.file_of(job)
    if path is None:
        raise Http404("This export has no file (yet).")
    return FileResponse(path.open("rb"), as_attachment=True, filename=job.file_name)
