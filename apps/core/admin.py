from django.contrib import admin

from apps.core.models import ApiClient, AuditEntry, ExceptionItem, IdempotencyRecord, OutboxEvent
from apps.core.services import revoke_api_client


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    list_display = ["name", "channel", "role", "key_prefix", "is_active", "created_at", "revoked_at"]
    list_filter = ["channel", "role", "is_active"]
    # Revoking goes through the service (the action below), which audits who did it.
    readonly_fields = ["is_active", "key_prefix", "key_hash", "created_at", "last_used_at", "revoked_at"]
    fields = ["name", "channel", "role", *readonly_fields]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False  # keys are created with `manage.py create_api_key`, which shows the key once

    @admin.action(description="Revoke the selected keys (refused at once, everywhere)")
    def revoke(self, request, queryset):
        revoked = list(queryset.filter(is_active=True).values_list("pk", flat=True))
        for client_id in revoked:
            revoke_api_client(client_id=client_id, actor_user=request.user)
        self.message_user(request, f"Revoked {len(revoked)} key(s).")


@admin.register(ExceptionItem)
class ExceptionItemAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "status", "title", "location_code", "units", "value_amount",
                    "occurrences"]
    list_filter = ["status", "kind", "platform", "location_code"]
    search_fields = ["title", "detail", "dedupe_key"]
    readonly_fields = [f.name for f in ExceptionItem._meta.fields]

    def has_add_permission(self, request):
        return False  # exceptions are opened by the system; people close them


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyAdmin):
    list_display = ["id", "topic", "aggregate_type", "aggregate_id", "created_at", "dispatched_at"]
    list_filter = ["topic"]


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdmin):
    list_display = ["key", "client", "response_status", "created_at"]
    search_fields = ["key"]


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "action", "object_type", "object_id", "actor_user", "actor_client",
                    "actor_label"]
    list_filter = ["action"]
    search_fields = ["object_id", "actor_label"]
