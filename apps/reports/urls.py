from django.urls import path

from apps.reports import views

app_name = "reports"

urlpatterns = [
    path("reports/channels/", views.channel_report_page, name="channels"),
    path("reports/liabilities/", views.liabilities_page, name="liabilities"),
    path("reports/journal/", views.journal_file, name="journal"),
    path("exports/", views.export_list, name="exports"),
    path("exports/progress/", views.export_progress, name="export-progress"),
    path("exports/<int:job_id>/download/", views.export_download, name="export-download"),
]
