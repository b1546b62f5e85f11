"""Row locks on stock levels, always taken in primary-key order so writers cannot deadlock."""

from apps.inventory.models import StockLevel


def lock_stock_levels(level_ids):
    return StockLevel.objects.filter(pk__in=level_ids).order_by("pk").select_for_update(of=("self",))


def lock_stock_level(*, location_id: int, variant_id: int) -> StockLevel:
    return StockLevel.objects.select_for_update(of=("self",)).get(location_id=location_id,
                                                                  variant_id=variant_id)
