from django.contrib.auth import views as auth_views
from django.urls import path

from apps.backoffice import admin_pages, views

app_name = "backoffice"

# Sign-in and sign-out keep Django's own names ("login", "logout"): see config/urls.py.
auth_urls = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("exceptions/", views.exception_list, name="exceptions"),
    path("exceptions/<int:exception_id>/", views.exception_detail, name="exception"),
    path("manage/users/", admin_pages.staff_users, name="manage-users"),
    path("manage/users/<int:user_id>/", admin_pages.staff_user, name="manage-user"),
    path("manage/api-keys/", admin_pages.api_keys, name="manage-keys"),
    path("manage/api-keys/<int:client_id>/revoke/", admin_pages.revoke_api_key, name="manage-key-revoke"),
    path("manage/sync/", admin_pages.sync_settings, name="manage-sync"),
    path("manage/sync/jobs/", admin_pages.sync_jobs, name="manage-sync-jobs"),
    path("manage/audit/", admin_pages.audit_log, name="manage-audit"),
]
