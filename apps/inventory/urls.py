from django.urls import path

from apps.inventory import views

app_name = "inventory"

urlpatterns = [
    path("", views.stock_list, name="stock"),
    path("<str:location_code>/<str:sku>/", views.stock_detail, name="stock-detail"),
]
