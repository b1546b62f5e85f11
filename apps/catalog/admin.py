from django.contrib import admin

from apps.catalog.models import Modifier, ModifierGroup, Product, Variant


class VariantInline(admin.TabularInline):
    model = Variant
    extra = 0


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "category", "is_active"]
    list_filter = ["category", "is_active"]
    search_fields = ["name", "variants__sku"]
    filter_horizontal = ["modifier_groups"]
    inlines = [VariantInline]


@admin.register(Variant)
class VariantAdmin(admin.ModelAdmin):
    list_display = ["sku", "name", "price_amount", "currency", "is_active"]
    search_fields = ["sku", "name"]
    list_filter = ["is_active", "product__category"]


class ModifierInline(admin.TabularInline):
    model = Modifier
    extra = 0


@admin.register(ModifierGroup)
class ModifierGroupAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "min_selected", "max_selected"]
    inlines = [ModifierInline]
