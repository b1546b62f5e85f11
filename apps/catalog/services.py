"""Catalog writes."""

from __future__ import annotations

from django.db import transaction

from apps.catalog.enums import TaxCategory
from apps.catalog.models import Modifier, ModifierGroup, Product, Variant
from apps.core.errors import ValidationFailed


def upsert_modifier_group(*, code: str, name: str, min_selected: int, max_selected: int,
                          modifiers: list[tuple[str, str, int]]) -> ModifierGroup:
    """Create or update a group and its modifiers (sku, name, price delta)."""
    if min_selected > max_selected:
        raise ValidationFailed("min_selected cannot exceed max_selected.", field="min_selected")
    with transaction.atomic():
        group, _ = ModifierGroup.objects.update_or_create(
            code=code, defaults={"name": name, "min_selected": min_selected, "max_selected": max_selected}
        )
        for sku, modifier_name, price_delta in modifiers:
            Modifier.objects.update_or_create(
                sku=sku, defaults={"group": group, "name": modifier_name, "price_delta": price_delta}
            )
    return group


def upsert_product(*, name: str, category: str, variants: list[dict], currency: str,
                   modifier_group_codes: list[str], tax_category: str = TaxCategory.STANDARD) -> Product:
    """Create or update a product, keyed by its first variant's SKU."""
    if not variants:
        raise ValidationFailed("A product needs at least one variant.", field="variants")
    with transaction.atomic():
        existing = Variant.objects.filter(sku=variants[0]["sku"]).select_related("product").first()
        product = existing.product if existing else Product(name=name)
        product.name, product.category, product.tax_category = name, category, tax_category
        product.save()
        for variant in variants:
            if variant["price"] < 0:
                raise ValidationFailed("Prices cannot be negative.", field="price")
            Variant.objects.update_or_create(
                sku=variant["sku"],
                defaults={"product": product, "name": variant["name"],
                          "price_amount": variant["price"], "currency": currency},
            )
        product.modifier_groups.set(ModifierGroup.objects.filter(code__in=modifier_group_codes))
    return product


def update_variant_fields(*, variant_id: int, actor: str = "", **fields) -> Variant:
    """Change a variant's name or price (a catalog pull from the system that owns them)."""
    from apps.core.services import record_audit

    allowed = {"name", "price_amount"}
    if set(fields) - allowed:
        raise ValidationFailed(f"Only {', '.join(sorted(allowed))} can change here.")
    if fields.get("price_amount", 0) < 0:
        raise ValidationFailed("Prices cannot be negative.", field="price_amount")
    with transaction.atomic():
        Variant.objects.filter(pk=variant_id).update(**fields)
        record_audit(action="variant.updated", object_type="Variant", object_id=variant_id,
                     actor_label=actor, data=fields)
    return Variant.objects.get(pk=variant_id)
