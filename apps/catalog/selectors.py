"""Catalog reads used by the API and the back office."""

from __future__ import annotations

from apps.catalog.models import ModifierGroup, Product, Variant


def list_catalog_variants(*, skus: list[str] | None = None) -> list[dict]:
    """Active variants with their price and modifier groups, ordered by SKU."""
    variants = Variant.objects.filter(is_active=True, product__is_active=True).select_related("product")
    if skus is not None:
        variants = variants.filter(sku__in=skus)
    variants = list(variants.order_by("sku"))
    groups_by_product = _modifier_groups_by_product({v.product_id for v in variants})
    return [
        {
            "sku": v.sku, "name": v.name, "product": v.product.name,
            "category": v.product.category,
            "price": {"amount": v.price_amount, "currency": v.currency},
            "modifier_groups": [
                _group_document(group, v.currency) for group in groups_by_product.get(v.product_id, [])
            ],
        }
        for v in variants
    ]


def _modifier_groups_by_product(product_ids: set[int]) -> dict[int, list[ModifierGroup]]:
    pairs = list(Product.modifier_groups.through.objects.filter(product_id__in=product_ids)
                 .values_list("product_id", "modifiergroup_id"))
    groups = {g.pk: g for g in ModifierGroup.objects.filter(pk__in={gid for _, gid in pairs})
              .prefetch_related("modifiers")}
    by_product: dict[int, list[ModifierGroup]] = {}
    for product_id, group_id in sorted(pairs, key=lambda pair: (pair[0], groups[pair[1]].code)):
        by_product.setdefault(product_id, []).append(groups[group_id])
    return by_product


def _group_document(group: ModifierGroup, currency: str) -> dict:
    return {
        "code": group.code, "name": group.name, "min": group.min_selected, "max": group.max_selected,
        "modifiers": [
            {"sku": m.sku, "name": m.name, "price_delta": {"amount": m.price_delta, "currency": currency}}
            for m in group.modifiers.all() if m.is_active
        ],
    }
