from django.contrib import admin

from apps.inventory.models import Location, StockLevel, StockMovement


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "timezone", "currency", "is_active"]


@admin.register(StockLevel)
class StockLevelAdmin(admin.ModelAdmin):
    """Read-only: stock changes only through services, so the ledger stays whole."""

    list_display = ["variant", "location", "on_hand", "committed", "safety_stock", "available", "is_86d"]
    list_filter = ["location", "is_86d"]
    search_fields = ["variant__sku", "variant__name"]
    list_select_related = ["variant", "location"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(StockMovement)
class StockMovementAdmin(admin.ModelAdmin):
    list_display = ["created_at", "level", "reason", "on_hand_delta", "committed_delta", "order_id",
                    "reference", "actor", "occurred_at"]
    list_filter = ["reason", "level__location"]
    search_fields = ["level__variant__sku", "reference", "order_id"]
    list_select_related = ["level__variant", "level__location"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
