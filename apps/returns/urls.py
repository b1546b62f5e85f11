from django.urls import path

from apps.returns import views

app_name = "returns"

# Under /orders/<order_id>/refunds/ (config/urls.py): the order page's refund partials.
urlpatterns = [
    path("", views.refund_list, name="list"),
    path("new/", views.refund_form, name="form"),
]
