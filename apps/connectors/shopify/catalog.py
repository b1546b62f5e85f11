"""Shopify's catalog for the catalog pull: product variants, matched to ours by SKU.

One catalog serves every Shopify location, so it is read once. Each mapping keeps the
variant's inventory item id (`data["inventory_item_id"]`), which stock reads and pushes
address and `inventory_levels/update` webhooks name instead of the variant.
"""

from __future__ import annotations

from collections.abc import Iterator

from apps.connectors.http import PlatformError
from apps.connectors.models import PlatformConnection
from apps.connectors.services.catalog_sync import CatalogItem
from apps.connectors.shopify.adapter import PLATFORM, legacy_id, shopify_client
from apps.core.money import from_decimal

CATALOG_PER_LOCATION = False
PAGE_SIZE = 100
SINGLE_VARIANT_TITLE = "Default Title"

VARIANTS_QUERY = """
query Variants($first: Int!, $after: String) {
  shop { currencyCode }
  productVariants(first: $first, after: $after) {
    nodes { legacyResourceId sku price title inventoryItem { legacyResourceId } product { title } }
    pageInfo { hasNextPage endCursor }
  }
}"""

# The listing read by `catalog_size`, handed to `iter_catalog` so a pull reads it once and
# reports progress against an exact total.
_listed: dict[int, list[CatalogItem]] = {}


def catalog_size(link: PlatformConnection) -> int:
    check_location(link)
    _listed[link.pk] = list(read_catalog())
    return len(_listed[link.pk])


def iter_catalog(link: PlatformConnection) -> Iterator[CatalogItem]:
    items = _listed.pop(link.pk, None)
    if items is None:
        check_location(link)
        items = read_catalog()
    yield from items


def check_location(link: PlatformConnection) -> None:
    """A connection naming a location the store does not have would push into nothing."""
    known = {legacy_id(location["id"]) for location in shopify_client().locations(first=250)}
    if link.external_location_id not in known:
        raise PlatformError(platform=PLATFORM, status=None, code="unknown_location",
                            detail=f"Shopify has no location {link.external_location_id} "
                                   f"(connection for {link.location.code}); known: {sorted(known)}")


def read_catalog() -> Iterator[CatalogItem]:
    client = shopify_client()
    after = None
    while True:
        data = client.graphql(VARIANTS_QUERY, {"first": PAGE_SIZE, "after": after})
        currency = data["shop"]["currencyCode"]
        page = data["productVariants"]
        yield from (catalog_item(variant, currency) for variant in page["nodes"])
        if not page["pageInfo"]["hasNextPage"]:
            return
        after = page["pageInfo"]["endCursor"]


def catalog_item(variant: dict, currency: str) -> CatalogItem:
    return CatalogItem(
        external_id=variant["legacyResourceId"], sku=variant.get("sku") or "",
        name=variant_name(variant["product"]["title"], variant["title"]),
        price=from_decimal(variant["price"], currency),
        data={"inventory_item_id": variant["inventoryItem"]["legacyResourceId"]},
    )


def variant_name(product_title: str, variant_title: str) -> str:
    """Our variant names read "Horchata, small"; Shopify titles a lone variant "Default Title"."""
    if not variant_title or variant_title == SINGLE_VARIANT_TITLE:
        return product_title
    return f"{product_title}, {variant_title}"
