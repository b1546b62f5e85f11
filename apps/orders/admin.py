from django.contrib import admin

from apps.orders.models import Order, OrderLine, Payment


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    can_delete = False
    readonly_fields = ["line_number", "sku", "name", "quantity", "unit_price", "modifiers", "line_total",
                       "discount_amount", "net_amount", "tax_amount", "refunded_quantity", "note"]
    exclude = ["variant"]

    def has_add_permission(self, request, obj=None):
        return False


class PaymentInline(admin.TabularInline):
    model = Payment
    extra = 0
    can_delete = False
    readonly_fields = ["tender_type", "status", "amount", "tip_amount", "processing_fee_amount", "currency",
                       "points", "stored_value_account", "platform", "reference"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    """Read-only: orders change state through the order services (API, back office)."""

    list_display = ["id", "placed_at", "channel", "source_name", "location", "status", "total_amount",
                    "customer_name"]
    list_filter = ["channel", "status", "location", "fulfillment_type"]
    search_fields = ["id", "external_id", "customer_name", "customer_phone", "customer_email"]
    date_hierarchy = "placed_at"
    list_select_related = ["location"]
    inlines = [OrderLineInline, PaymentInline]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Order._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
