from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from apps.backoffice import views as backoffice_views
from apps.backoffice.urls import auth_urls
from apps.connectors import views as connector_views
from apps.core.errors import json_error_view
from apps.customers.api import (
    CustomerDetailApi,
    CustomerListApi,
    CustomerMergeApi,
    CustomerMergeUndoApi,
    GiftCardDetailApi,
    GiftCardIssueApi,
)
from apps.inventory.api import AvailabilityApi, CatalogApi, LocationListApi
from apps.orders.api import (
    OrderCancelApi,
    OrderCreateApi,
    OrderDetailApi,
    OrderFulfillApi,
    OrderReadyApi,
)
from apps.reports.api import ChannelReportApi
from apps.returns.api import OrderExchangesApi, OrderRefundsApi, RefundDetailApi

api_v1 = [
    path("api/v1/orders", OrderCreateApi.as_view(), name="api-orders"),
    path("api/v1/orders/<int:order_id>", OrderDetailApi.as_view(), name="api-order"),
    path("api/v1/orders/<int:order_id>/ready", OrderReadyApi.as_view(), name="api-order-ready"),
    path("api/v1/orders/<int:order_id>/fulfill", OrderFulfillApi.as_view(), name="api-order-fulfill"),
    path("api/v1/orders/<int:order_id>/cancel", OrderCancelApi.as_view(), name="api-order-cancel"),
    path("api/v1/orders/<int:order_id>/refunds", OrderRefundsApi.as_view(), name="api-order-refunds"),
    path("api/v1/orders/<int:order_id>/exchanges", OrderExchangesApi.as_view(), name="api-order-exchanges"),
    path("api/v1/refunds/<int:refund_id>", RefundDetailApi.as_view(), name="api-refund"),
    path("api/v1/locations", LocationListApi.as_view(), name="api-locations"),
    path("api/v1/catalog", CatalogApi.as_view(), name="api-catalog"),
    path("api/v1/availability", AvailabilityApi.as_view(), name="api-availability"),
    path("api/v1/customers", CustomerListApi.as_view(), name="api-customers"),
    path("api/v1/customers/<int:customer_id>", CustomerDetailApi.as_view(), name="api-customer"),
    path("api/v1/customers/<int:customer_id>/merge", CustomerMergeApi.as_view(), name="api-customer-merge"),
    path("api/v1/customer-merges/<int:merge_id>/undo", CustomerMergeUndoApi.as_view(),
         name="api-customer-merge-undo"),
    path("api/v1/gift-cards", GiftCardIssueApi.as_view(), name="api-gift-cards"),
    path("api/v1/gift-cards/<str:code>", GiftCardDetailApi.as_view(), name="api-gift-card"),
    path("api/v1/reports/channels", ChannelReportApi.as_view(), name="api-reports-channels"),
]

urlpatterns = [
    *api_v1,
    path("api/schema/", SpectacularAPIView.as_view(permission_classes=[], authentication_classes=[]),
         name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema", permission_classes=[],
                                                     authentication_classes=[]), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema", permission_classes=[],
                                                    authentication_classes=[]), name="api-redoc"),
    path("webhooks/<str:platform>/", connector_views.webhook, name="webhook"),
    path("metrics", connector_views.metrics, name="metrics"),
    path("healthz", connector_views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    *auth_urls,
    path("stock/", include("apps.inventory.urls")),
    path("orders/<int:order_id>/timeline/", backoffice_views.order_timeline, name="order-timeline"),
    path("orders/<int:order_id>/refunds/", include("apps.returns.urls")),
    path("orders/", include("apps.orders.urls")),
    path("customers/", include("apps.customers.urls")),
    path("", include("apps.reports.urls")),
    path("", include("apps.backoffice.urls")),
]

handler404 = "apps.backoffice.views.not_found"
handler500 = json_error_view(500, "server_error", "An unexpected error occurred.")
