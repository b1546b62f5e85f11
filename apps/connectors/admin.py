from django.contrib import admin

from apps.connectors.models import (
    ChannelBuffer,
    Delivery,
    ExternalMapping,
    InboundEvent,
    OwnershipRule,
    PlatformConnection,
    StockSyncState,
    SyncJob,
)


@admin.register(PlatformConnection)
class PlatformConnectionAdmin(admin.ModelAdmin):
    list_display = ["platform", "location", "external_location_id", "is_enabled", "receives_orders",
                    "pushes_stock"]
    list_filter = ["platform", "is_enabled"]


@admin.register(ChannelBuffer)
class ChannelBufferAdmin(admin.ModelAdmin):
    list_display = ["platform", "location", "units"]


@admin.register(OwnershipRule)
class OwnershipRuleAdmin(admin.ModelAdmin):
    list_display = ["domain", "location", "owner"]


@admin.register(ExternalMapping)
class ExternalMappingAdmin(admin.ModelAdmin):
    list_display = ["platform", "kind", "external_id", "variant", "modifier", "location", "updated_at"]
    list_filter = ["platform", "kind", "location"]
    search_fields = ["external_id", "variant__sku", "modifier__sku"]
    raw_id_fields = ["variant", "modifier"]


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(InboundEvent)
class InboundEventAdmin(ReadOnly):
    list_display = ["id", "platform", "topic", "event_id", "status", "attempts", "deliveries", "received_at",
                    "occurred_at"]
    list_filter = ["platform", "status", "topic"]
    search_fields = ["event_id"]
    exclude = ["body"]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnly):
    list_display = ["id", "platform", "kind", "subject_key", "status", "attempts", "next_attempt_at",
                    "external_ref", "last_error"]
    list_filter = ["platform", "kind", "status"]
    search_fields = ["subject_key", "external_ref"]


@admin.register(StockSyncState)
class StockSyncStateAdmin(ReadOnly):
    list_display = ["platform", "location", "variant", "pushed_available", "platform_quantity",
                    "pending_delta", "pushes", "updated_at"]
    list_filter = ["platform", "location"]
    search_fields = ["variant__sku"]


@admin.register(SyncJob)
class SyncJobAdmin(ReadOnly):
    list_display = ["id", "platform", "kind", "status", "done", "total", "created_at", "finished_at"]
