from django.urls import path

from apps.reports import drawer_views, reconciliation_views, views

app_name = "reports"

urlpatterns = [
    path("reports/channels/", views.channel_report_page, name="channels"),
    path("reports/liabilities/", views.liabilities_page, name="liabilities"),
    path("reports/journal/", views.journal_file, name="journal"),
    path("reports/reconciliation/", reconciliation_views.reconciliation_page, name="reconciliation"),
    path("reports/reconciliation/run/", reconciliation_views.reconcile_range, name="reconcile"),
    path("reports/reconciliation/deposits/", reconciliation_views.import_deposits, name="import-deposits"),
    path("reports/reconciliation/<int:day_id>/", reconciliation_views.reconciliation_day_page,
         name="reconciliation-day"),
    path("reports/reconciliation/<int:day_id>/review/", reconciliation_views.review_day,
         name="reconciliation-review"),
    path("cash-drawers/", drawer_views.cash_drawers_page, name="cash-drawers"),
    path("exports/", views.export_list, name="exports"),
    path("exports/progress/", views.export_progress, name="export-progress"),
    path("exports/<int:job_id>/download/", views.export_download, name="export-download"),
    path("exports/<int:job_id>/restart/", views.export_restart, name="export-restart"),
]
