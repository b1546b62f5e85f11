"""Concord → Clover: web and phone orders into the merchant, availability onto its items.

Orders (CONNECTORS.md, "Decisions"): Clover has no idempotency key for orders, so the
order is made in one atomic call with our reference `concord:<channel>:<order id>` as
its `title` (and the channel and customer in its `note`), and every attempt looks the
title up first. The order type names the fulfillment ("Concord Pickup").

Stock changes only through `item_stocks`, which has no compare-and-set: a push re-reads
the count and writes `count + delta` (see `apps.connectors.pos_common`); an 86 is the
item's `available` flag.
"""

from __future__ import annotations

from django.conf import settings

from apps.connectors.adapters import (
    BaseAdapter,
    InjectResult,
    ItemRef,
    PlatformCount,
    StockPush,
    StockPushResult,
    VoidResult,
)
from apps.connectors.clover.client import CloverClient
from apps.connectors.config import kept_client
from apps.connectors.http import PlatformError
from apps.connectors.pos_common import (
    count_to_write,
    counter_label,
    merge_connection_settings,
    remember_write,
    resent_write_landed,
    whole_units,
)

PLATFORM = "clover"
ORDER_TYPES = {"pickup": "Concord Pickup", "delivery": "Concord Delivery", "shipping": "Concord Delivery",
               "dine_in": "Dine In", "in_store": "Dine In"}
ORDER_TYPES_SETTING = "order_types"
MANY_ITEMS = 1000  # reading more counts than this (10 calls by id) lists every item, 1,000 a page

def clover_client(merchant_id: str) -> CloverClient:
    account = (settings.CLOVER_BASE_URL, settings.CLOVER_ACCESS_TOKEN, merchant_id)
    return kept_client(PLATFORM, account, lambda: CloverClient(
        settings.CLOVER_BASE_URL, access_token=settings.CLOVER_ACCESS_TOKEN, merchant_id=merchant_id))


def is_sold_out(item: dict) -> bool:
    """Clover marks an `autoManage` item unavailable when its stock reaches 0: that is a
    count, not an 86 (CONNECTORS.md §3.3)."""
    quantity = (item.get("itemStock") or {}).get("quantity")
    return bool(item.get("autoManage")) and quantity is not None and quantity <= 0


def platform_count(item: dict) -> PlatformCount:
    stock = item.get("itemStock")
    available = bool(item.get("available", True)) or is_sold_out(item)
    return PlatformCount(quantity=whole_units(stock.get("quantity")) if stock else None, available=available)


class Adapter(BaseAdapter):
    platform = PLATFORM
    # [unverified] whether an order made through the API takes stock at Clover; the
    # emulator's atomic orders do, as register sales do.
    decrements_stock = True
    # [unverified] whether deleting an order gives its items back to stock (the emulator's
    # `restock_on_delete`, the mirror of taking them).
    restocks_on_void = True

    @property
    def client(self) -> CloverClient:
        return clover_client(self.connection.external_location_id)

    # ------------------------------------------------------------------ orders

    def inject_order(self, order: dict, *, reference: str, items: dict[str, ItemRef],
                     modifiers: dict[str, ItemRef], retrying: bool = True) -> InjectResult:
        # Clover has no idempotency key: before any retry, our reference in the title is
        # looked up, so an attempt whose answer was lost is found, not made again.
        existing = self.client.find_orders_by_title(reference) if retrying else []
        made = existing[0] if existing else self.client.create_atomic_order(
            self.order_cart(order, reference=reference, items=items, modifiers=modifiers))
        return InjectResult(made["id"], decrements_stock=self.decrements_stock)

    def void_order(self, external_id: str, *, reference: str) -> VoidResult:
        """An open order is deleted (Clover's API has no void of an order); one already gone
        was deleted before. A paid order's payment is voided or refunded at the device."""
        try:
            order = self.client.get_order(external_id)
        except PlatformError as error:
            if error.status != 404:
                raise
            return VoidResult(voided=True, already=True)
        if order.get("state") == "locked" or order.get("paymentState") not in (None, "OPEN"):
            return VoidResult(voided=False, manual=(
                f"Clover order {external_id} is paid: void or refund its payment on the Clover "
                "device, then delete the order there."))
        self.client.delete_order(external_id)
        return VoidResult(voided=True)

    def order_cart(self, order: dict, *, reference: str, items: dict[str, ItemRef],
                   modifiers: dict[str, ItemRef]) -> dict:
        return {
            "title": reference, "note": order_note(order, reference),
            "orderType": {"id": self.order_type(order["fulfillment"]["type"])},
            # One line item per unit, as the register rings them (whether `unitQty` counts
            # units or thousandths is unverified).
            "lineItems": [line_item for line in order["lines"]
                          for line_item in _line_items(line, items, modifiers)],
        }

    def order_type(self, fulfillment_type: str) -> str:
        """The order type id for a fulfillment type, looked up once per merchant and kept in
        the connection's settings (a person may also set them there)."""
        known = (self.connection.settings or {}).get(ORDER_TYPES_SETTING) or {}
        if fulfillment_type not in known:
            by_label = {t.get("label"): t["id"] for t in self.client.list_order_types()}
            found = {kind: by_label[label] for kind, label in ORDER_TYPES.items() if label in by_label}
            known = {**found, **known}
            merge_connection_settings(self.connection, {ORDER_TYPES_SETTING: known})
        if not known.get(fulfillment_type):
            raise PlatformError(platform=PLATFORM, status=None, code="no_order_type",
                                detail=f"no Clover order type named {ORDER_TYPES.get(fulfillment_type)!r}")
        return known[fulfillment_type]

    # ------------------------------------------------------------------ stock

    def read_stock(self, items: list[ItemRef]) -> dict[int, PlatformCount]:
        """By id, 100 to a call; past MANY_ITEMS, listing every item takes fewer calls."""
        wanted = {ref.external_id: ref.variant_id for ref in items}
        if len(items) > MANY_ITEMS:
            found = self.client.iter_items(expand=("itemStock",))
        else:
            found = self.client.get_items(list(wanted), expand=("itemStock",))
        return {wanted[item["id"]]: platform_count(item) for item in found if item["id"] in wanted}

    def push_stock(self, pushes: list[StockPush]) -> list[StockPushResult]:
        """One item at a time; after a failure that speaks for the whole account (a 429, a
        network error) the rest are not tried and carry that error."""
        results, stopped = [], None
        for push in pushes:
            if stopped is not None:
                results.append(StockPushResult(push.item.variant_id, ok=False, error=stopped))
                continue
            try:
                results.append(self._push_one(push))
            except PlatformError as error:
                results.append(StockPushResult(push.item.variant_id, ok=False, error=error))
                if error.retryable:
                    stopped = error
        return results

    def _push_one(self, push: StockPush) -> StockPushResult:
        item = self._item(push.item.external_id)
        stock = item.get("itemStock")
        current = whole_units(stock["quantity"]) if stock else None
        if current is not None and resent_write_landed(push, current):
            quantity = current
        else:
            wanted = count_to_write(push, current)
            remember_write(platform=PLATFORM, link=self.connection, push=push, before=current, wrote=wanted)
            quantity = whole_units(self.client.set_item_stock(item["id"], wanted)["quantity"])
        # The flag goes after the count, which with autoManage makes an item with stock
        # available again. An item unavailable at Clover without having run out is an 86
        # Concord has not heard of yet (its webhook is on the way): it stays unavailable.
        kept_86 = not (push.flag_changed or item.get("available", True) or is_sold_out(item))
        if push.is_86d or push.flag_changed or kept_86:
            self.client.update_item(item["id"], {"available": not (push.is_86d or kept_86)})
        return StockPushResult(push.item.variant_id, ok=True, platform_quantity=quantity)

    def _item(self, item_id: str) -> dict:
        try:
            return self.client.get_item(item_id, expand=("itemStock",))
        except PlatformError as error:
            if error.status == 404:
                raise PlatformError(platform=PLATFORM, status=404, code="item_not_found",
                                    detail=f"Clover has no item {item_id}") from None
            raise


def _line_items(line: dict, items: dict[str, ItemRef], modifiers: dict[str, ItemRef]) -> list[dict]:
    modifications = []
    for modifier in line["modifiers"]:
        ref = modifiers.get(modifier["sku"])
        if ref is None:
            raise PlatformError(platform=PLATFORM, status=None, code="unmapped_modifier",
                                detail=f"{modifier['sku']} is not mapped at clover; pull its catalog")
        modifications += [{"modifier": {"id": ref.external_id}}] * modifier["quantity"]
    line_item = {"item": {"id": items[line["sku"]].external_id}, "modifications": modifications}
    if line.get("note"):
        line_item["note"] = line["note"]
    return [dict(line_item) for _ in range(line["quantity"])]


def order_note(order: dict, reference: str) -> str:
    """What the counter sees: who and what for, the customer's phone, when (and the
    reference again, for whoever searches notes rather than titles)."""
    fulfillment = order["fulfillment"]
    parts = (counter_label(order), order["contact"]["phone"],
             f"{fulfillment['type']} {fulfillment.get('at') or 'asap'}", reference)
    return " · ".join(part for part in parts if part)
