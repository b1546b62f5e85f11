from django.urls import path

from apps.customers import views

app_name = "customers"

urlpatterns = [
    path("", views.customer_list, name="list"),
    path("<int:customer_id>/", views.customer_detail, name="detail"),
    path("<int:customer_id>/merge/", views.customer_merge, name="merge"),
    path("merges/<int:merge_id>/", views.merge_result, name="merge-result"),
    path("merges/<int:merge_id>/undo/", views.merge_undo, name="merge-undo"),
]
