from django.contrib.auth import views as auth_views
from django.urls import path

from apps.backoffice import views

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
]
