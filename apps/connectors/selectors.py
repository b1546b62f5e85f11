"""Reads the connectors share: connections, buffers, ownership, mappings, targets."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Q

from apps.connectors.adapters import ItemRef
from apps.connectors.enums import CONCORD, DeliveryKind, DeliveryStatus, Domain, Platform
from apps.connectors.injection_rule import undispatched_rows_owed_to
from apps.connectors.models import ChannelBuffer, Delivery, ExternalMapping, OwnershipRule, PlatformConnection
from apps.core.cache import ttl_memo
from apps.orders.selectors import units_by_variant

if TYPE_CHECKING:
    from apps.inventory.models import StockLevel



def active_connections():
    """Enabled connections of platforms whose settings are present: a platform without
    settings is off (its status says which are missing), and no work is queued for it."""
    from apps.connectors.config import is_configured

    platforms = [p for p in Platform.values if is_configured(p)]
    connections = PlatformConnection.objects.filter(is_enabled=True, platform__in=platforms)
    return connections.select_related("location")


def enabled_connections(*, location_id: int | None = None, platform: str | None = None):
    connections = active_connections()
    if location_id is not None:
        connections = connections.filter(location_id=location_id)
    if platform is not None:
        connections = connections.filter(platform=platform)
    return connections


def connection_by_external_id(*, platform: str, external_location_id: str) -> PlatformConnection | None:
    return _connection_by_external_id(platform, external_location_id)


# Read for every inbound event and changed only by an operator: a few seconds stale is fine.
@ttl_memo(5)
def _connection_by_external_id(platform: str, external_location_id: str) -> PlatformConnection | None:
    return enabled_connections(platform=platform).filter(external_location_id=external_location_id).first()


def owner_of(*, domain: str, location_id: int | None) -> str:
    """The system that owns `domain` at a location: its own rule, else the default, else Concord."""
    rules = _ownership_rules(domain)
    if location_id in rules:
        return rules[location_id]
    return rules.get(None, CONCORD)


@ttl_memo(5)
def _ownership_rules(domain: str) -> dict:
    return {rule.location_id: rule.owner for rule in OwnershipRule.objects.filter(domain=domain)}


def stock_owner(location_id: int) -> str:
    return owner_of(domain=Domain.STOCK, location_id=location_id)


def buffer_units(*, platform: str, location_id: int) -> int:
    buffer = ChannelBuffer.objects.filter(platform=platform, location_id=location_id).first()
    return buffer.units if buffer else 0


def push_target(level: StockLevel | None, buffer: int, on_the_way: int = 0) -> int:
    """What a platform should show: available-to-sell less its buffer, never below zero.
    Units of orders `on_the_way` to it are still on its count until they land."""
    if level is None or level.is_86d:
        return 0
    return max(0, level.available + on_the_way - buffer)


def units_awaiting_injection(*, link: PlatformConnection, variant_ids=None) -> dict[int, int]:
    """Units on orders still on their way to this POS. It takes them off its own count
    when the order lands; until then its count still holds them, and a push must not
    take them off first (the landing would take them off a second time). On their way:
    a delivery pending or in flight, or an order owed to it (`injection_rule`) whose
    outbox row is not fanned out yet;
    one statement reads both, so an order moving from one to the other is seen once."""
    if not link.receives_orders:
        return {}
    on_the_way = Delivery.objects.filter(
        platform=link.platform, location_id=link.location_id, kind=DeliveryKind.INJECT_ORDER,
        status__in=[DeliveryStatus.PENDING, DeliveryStatus.IN_FLIGHT]).values("order_id")
    not_routed_yet = undispatched_rows_owed_to(link).values("aggregate_id")
    return units_by_variant(order_ids=Q(order_id__in=on_the_way) | Q(order_id__in=not_routed_yet),
                            variant_ids=variant_ids)


def item_refs(*, platform: str, location_id: int, variant_ids) -> dict[int, ItemRef]:
    """Variant id -> the platform's id for it at this location (location-specific first)."""
    refs: dict[int, ItemRef] = {}
    mappings = (ExternalMapping.objects
                .filter(platform=platform, kind=ExternalMapping.KIND_VARIANT, variant_id__in=variant_ids)
                .select_related("variant").order_by("location_id"))
    for mapping in mappings:
        if mapping.location_id not in (None, location_id):
            continue
        if mapping.variant_id in refs and mapping.location_id is None:
            continue  # a location-specific mapping wins over the shared one
        refs[mapping.variant_id] = ItemRef(mapping.variant_id, mapping.variant.sku, mapping.external_id,
                                           mapping.data)
    return refs


def modifier_refs(*, platform: str, location_id: int, skus) -> dict[str, ItemRef]:
    refs: dict[str, ItemRef] = {}
    mappings = (ExternalMapping.objects
                .filter(platform=platform, kind=ExternalMapping.KIND_MODIFIER, modifier__sku__in=skus)
                .select_related("modifier"))
    for mapping in mappings:
        if mapping.location_id in (None, location_id):
            refs[mapping.modifier.sku] = ItemRef(mapping.modifier_id, mapping.modifier.sku,
                                                 mapping.external_id, mapping.data)
    return refs


def variant_for_external_id(*, platform: str, external_id: str, location_id: int | None):
    mapping = (ExternalMapping.objects
               .filter(platform=platform, kind=ExternalMapping.KIND_VARIANT, external_id=external_id,
                       location_id__in=[location_id] if location_id else [None])
               .select_related("variant").first())
    if mapping is None and location_id:
        mapping = (ExternalMapping.objects
                   .filter(platform=platform, kind=ExternalMapping.KIND_VARIANT, external_id=external_id,
                           location__isnull=True).select_related("variant").first())
    return mapping.variant if mapping else None


def list_order_deliveries(order_id: int) -> list[Delivery]:
    """Every call owed to a platform for this order (sending it to a POS), with its attempts."""
    return list(Delivery.objects.filter(order_id=order_id).order_by("id"))


def tickets_awaiting_pickup(*, placed_before, limit: int = 100) -> list[tuple[str, str]]:
    """Web and phone orders that reached a POS and are still open in Concord, oldest first,
    as (platform, the order's id there): the tickets a store closes when they are picked up."""
    from apps.orders.enums import OrderStatus
    from apps.orders.models import Order

    still_open = Order.objects.filter(status__in=[OrderStatus.ACCEPTED, OrderStatus.READY],
                                      placed_at__lt=placed_before).values("pk")
    return list(Delivery.objects.filter(kind=DeliveryKind.INJECT_ORDER, status=DeliveryStatus.DONE,
                                        order_id__in=still_open).exclude(external_ref="")
                .order_by("order_id").values_list("platform", "external_ref")[:limit])
