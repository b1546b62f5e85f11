"""Customers in the admin, read-only: every change goes through the services (matching,
merge, ledgers), which keep identifiers unique and balances equal to their ledgers."""

from django.contrib import admin

from apps.customers.models import (
    Customer,
    CustomerEmail,
    CustomerExternalId,
    CustomerMerge,
    CustomerPhone,
    LoyaltyAccount,
    LoyaltyEntry,
    LoyaltyProgram,
    StoredValueAccount,
    StoredValueEntry,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CustomerEmailInline(admin.TabularInline):
    model = CustomerEmail
    extra = 0
    can_delete = False
    readonly_fields = ["email", "created_at"]

    def has_add_permission(self, request, obj=None):
        return False


class CustomerPhoneInline(CustomerEmailInline):
    model = CustomerPhone
    readonly_fields = ["phone", "created_at"]


class CustomerExternalIdInline(CustomerEmailInline):
    model = CustomerExternalId
    readonly_fields = ["platform", "external_id", "created_at"]


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdmin):
    list_display = ["name", "phone", "email", "merged_into", "created_at"]
    list_filter = [("merged_into", admin.EmptyFieldListFilter)]
    search_fields = ["name", "phone", "email", "emails__email", "phones__phone",
                     "external_ids__external_id"]
    inlines = [CustomerEmailInline, CustomerPhoneInline, CustomerExternalIdInline]


@admin.register(CustomerMerge)
class CustomerMergeAdmin(ReadOnlyAdmin):
    list_display = ["pk", "survivor", "other", "actor_user", "actor_label", "created_at", "undone_at"]
    raw_id_fields = ["survivor", "other"]


@admin.register(LoyaltyProgram)
class LoyaltyProgramAdmin(ReadOnlyAdmin):
    list_display = ["name", "points_per_unit", "point_value", "min_redeem_points", "is_active"]


@admin.register(LoyaltyAccount)
class LoyaltyAccountAdmin(ReadOnlyAdmin):
    list_display = ["customer", "balance", "updated_at"]
    raw_id_fields = ["customer"]


@admin.register(LoyaltyEntry)
class LoyaltyEntryAdmin(ReadOnlyAdmin):
    list_display = ["pk", "account", "kind", "points", "order_id", "refund_reference", "created_at"]
    list_filter = ["kind"]
    raw_id_fields = ["account"]


@admin.register(StoredValueAccount)
class StoredValueAccountAdmin(ReadOnlyAdmin):
    list_display = ["kind", "code", "customer", "balance", "currency", "expires_at"]
    list_filter = ["kind", "currency"]
    search_fields = ["code"]
    raw_id_fields = ["customer"]


@admin.register(StoredValueEntry)
class StoredValueEntryAdmin(ReadOnlyAdmin):
    list_display = ["pk", "account", "kind", "amount", "order_id", "refund_reference", "created_at"]
    list_filter = ["kind"]
    raw_id_fields = ["account"]
