"""Concord → Square: web and phone orders into the store's register, availability out.

Facts behind the choices (CONNECTORS.md §2):
- Every write carries an `idempotency_key` derived from our ids: the same key and body
  replay the first answer, the same key with another body is IDEMPOTENCY_KEY_REUSED.
- An order's channel is visible at the register as `source.name` ("Concord phone",
  "Concord web"); Square's own sales carry its app's name, so the webhooks can tell
  our injected orders from the register's.
- Square takes the units of an order it holds off its own count (the emulator does so
  when the order is created), so `inject_order` reports `decrements_stock=True`.
- Stock goes out as ADJUSTMENT deltas, one `batch-create` call per push under the push's
  own key: a batch under one key would be replayed only if the engine re-sent exactly the
  same set of pushes, and a push re-sent in another set would apply twice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation

from django.conf import settings

from apps.connectors.adapters import (
    BaseAdapter,
    InjectResult,
    ItemRef,
    PlatformCount,
    RefundRequest,
    RefundResult,
    StockPush,
    StockPushResult,
    VoidResult,
)
from apps.connectors.http import PlatformError
from apps.connectors.square.client import SquareClient

PLATFORM = "square"
SOURCE_PREFIX = "Concord"
REFERENCE_ID_MAX = 40
TICKET_NAME_MAX = 30
PICKUP_NOTE_MAX = 500
COUNTS_PAGE_IDS = 1000  # BatchRetrieveInventoryCounts takes up to 1000 results a page
CATALOG_IDS_PER_CALL = 100  # [unverified] Square documents no limit for BatchRetrieveCatalogObjects
# A decrease leaves IN_STOCK as SOLD: the units went to a sale on another channel (or a
# correction). WASTE would show up in the store's loss reports as shrinkage that never
# happened, which is worse than Square's inventory history calling it a sale.
DECREASE_TO_STATE = "SOLD"
KEY_ALREADY_USED = "IDEMPOTENCY_KEY_REUSED"
REFUND_REASON_MAX = 192  # SQ-SPEC RefundPaymentRequest.reason
# PaymentRefund.status (CONNECTORS.md §2.6) as a refund part's outcome.
REFUND_STATES = {"PENDING": "pending", "COMPLETED": "completed", "REJECTED": "failed", "FAILED": "failed"}


def square_client() -> SquareClient:
    return SquareClient(settings.SQUARE_BASE_URL, access_token=settings.SQUARE_ACCESS_TOKEN,
                        square_version=settings.SQUARE_VERSION)


def source_name(channel: str) -> str:
    return f"{SOURCE_PREFIX} {channel}"


def is_from_concord(order: dict) -> bool:
    return ((order.get("source") or {}).get("name") or "").startswith(SOURCE_PREFIX)


def whole_count(quantity: str | None) -> int | None:
    """Square's decimal-string count as whole units, rounded down (never claim a part unit)."""
    return _whole(quantity, ROUND_FLOOR)


def whole_sold(quantity: str | None) -> int | None:
    """A sold quantity as whole units, rounded up (never under-count a sale)."""
    return _whole(quantity, ROUND_CEILING)


def _whole(quantity: str | None, rounding: str) -> int | None:
    try:
        return int(Decimal(str(quantity)).to_integral_value(rounding))
    except (InvalidOperation, ValueError):
        return None


def money(amount: int, currency: str) -> dict:
    return {"amount": amount, "currency": currency}


def rfc3339_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Adapter(BaseAdapter):
    platform = PLATFORM
    decrements_stock = True
    # [unverified] a canceled order's units go back to Square's count (the emulator's guess,
    # the mirror of taking them when the order is created).
    restocks_on_void = True

    def __init__(self, connection):
        super().__init__(connection)
        self.client = square_client()
        self.location_id = connection.external_location_id

    # -- orders --------------------------------------------------------------------------------

    def inject_order(self, order: dict, *, reference: str, items: dict[str, ItemRef],
                     modifiers: dict[str, ItemRef], retrying: bool = True) -> InjectResult:
        body = order_body(order, location_id=self.location_id, reference=reference, items=items,
                          modifiers=modifiers)
        # The key is our reference and the body is built from the order alone, so a retry
        # after an unanswered call replays the first order instead of making a second.
        created = self.client.create_order(idempotency_key=reference, order=body)
        return InjectResult(external_id=created["id"], decrements_stock=self.decrements_stock)

    def void_order(self, external_id: str, *, reference: str) -> VoidResult:
        """UpdateOrder to CANCELED (its fulfillments with it), at the version just read, under
        a key derived from our reference so a retry replays. Square cannot update a
        COMPLETED order: that one was paid at the register, and staff refund it there."""
        order = self.client.retrieve_order(external_id)
        if order.get("state") == "CANCELED":
            return VoidResult(voided=True, already=True)
        if order.get("state") == "COMPLETED":
            return VoidResult(voided=False, manual=(
                f"Square completed order {external_id} (paid at the register): refund it "
                "there, or take the goods back as a return."))
        sparse = {"location_id": self.location_id, "version": order["version"], "state": "CANCELED"}
        fulfillments = [{"uid": f["uid"], "state": "CANCELED"} for f in order.get("fulfillments") or []
                        if f.get("uid")]
        if fulfillments:
            sparse["fulfillments"] = fulfillments
        self.client.update_order(external_id, idempotency_key=f"{reference}:void", order=sparse)
        return VoidResult(voided=True)

    # -- refunds -------------------------------------------------------------------------------

    def refund_payment(self, request: RefundRequest, *, retrying: bool = True) -> RefundResult:
        """RefundPayment under a key derived from our part: a retry (the same key and body)
        replays the first refund. It starts PENDING; `refund.updated` reports COMPLETED."""
        refund = self.client.refund_payment(
            idempotency_key=request.idempotency_key, payment_id=request.payment_reference,
            amount=request.amount, currency=request.currency, reason=refund_reason(request))
        return RefundResult(refund_id=refund["id"], status=refund_state(refund),
                            detail=refund.get("status", ""))

    # -- stock ---------------------------------------------------------------------------------

    def read_stock(self, items: list[ItemRef]) -> dict[int, PlatformCount]:
        by_external = {item.external_id: item for item in items}
        counts = self._in_stock_counts(list(by_external))
        sold_out = self._sold_out(list(by_external))
        result = {}
        for external_id, item in by_external.items():
            quantity = counts.get(external_id, 0)
            result[item.variant_id] = PlatformCount(
                quantity=quantity, available=not is_manual_86(sold_out.get(external_id, False), quantity))
        return result

    def push_stock(self, pushes: list[StockPush]) -> list[StockPushResult]:
        results = []
        for index, push in enumerate(pushes):
            try:
                results.append(self._push_one(push))
            except PlatformError as error:
                if not error.retryable:
                    results.append(StockPushResult(push.item.variant_id, False, error=error))
                    continue
                # Square is down or throttling: the rest wait for the engine's retry.
                results += [StockPushResult(p.item.variant_id, False, error=error) for p in pushes[index:]]
                break
        return results

    def _push_one(self, push: StockPush) -> StockPushResult:
        if push.delta == 0:
            # Only the 86 flag moved. Square's flag is the catalog's sold_out override, which
            # Concord does not write: an 86 reaches Square as a count of zero.
            return StockPushResult(push.item.variant_id, True, self._count_of(push.item))
        change = adjustment(push, location_id=self.location_id, occurred_at=rfc3339_now())
        try:
            counts = self.client.batch_change_inventory(idempotency_key=push.idempotency_key,
                                                        changes=[change])
        except PlatformError as error:
            if error.code != KEY_ALREADY_USED:
                raise
            # Keys are unique per push intent and only a successful call uses one up, so an
            # earlier attempt (its answer lost) applied this very push; `occurred_at` is the
            # only part of the body that differs on a retry.
            counts = []
        after = {c["catalog_object_id"]: whole_count(c.get("quantity")) for c in counts
                 if c.get("location_id") == self.location_id and c.get("state") == "IN_STOCK"}
        quantity = after.get(push.item.external_id)
        if quantity is None:
            quantity = self._count_of(push.item)
        return StockPushResult(push.item.variant_id, True, quantity)

    def _count_of(self, item: ItemRef) -> int:
        return self._in_stock_counts([item.external_id]).get(item.external_id, 0)

    def _in_stock_counts(self, variation_ids: list[str]) -> dict[str, int]:
        counts: dict[str, int] = {}
        for start in range(0, len(variation_ids), COUNTS_PAGE_IDS):
            chunk = variation_ids[start:start + COUNTS_PAGE_IDS]
            cursor = None
            while True:
                page = self.client.batch_retrieve_counts(catalog_object_ids=chunk,
                                                         location_ids=[self.location_id], cursor=cursor)
                for count in page.get("counts", []):
                    if count.get("state") == "IN_STOCK":
                        counts[count["catalog_object_id"]] = whole_count(count.get("quantity")) or 0
                cursor = page.get("cursor")
                if not cursor:
                    break
        return counts

    def _sold_out(self, variation_ids: list[str]) -> dict[str, bool]:
        flags = {}
        for start in range(0, len(variation_ids), CATALOG_IDS_PER_CALL):
            objects = self.client.batch_retrieve_catalog_objects(
                variation_ids[start:start + CATALOG_IDS_PER_CALL])
            flags.update({obj["id"]: sold_out_at(obj, self.location_id) for obj in objects
                          if obj.get("type") == "ITEM_VARIATION"})
        return flags


def refund_reason(request: RefundRequest) -> str:
    """The reason staff read in Square, ending with the marker that names our part."""
    suffix = f" [{request.marker}]"
    return f"{request.reason[:REFUND_REASON_MAX - len(suffix)]}{suffix}".strip()


def refund_state(refund: dict) -> str:
    return REFUND_STATES.get(refund.get("status") or "", "pending")


def is_manual_86(sold_out: bool, quantity: int | None) -> bool:
    """Square marks a tracked variation sold out by itself when its count reaches zero, so
    `sold_out` reads as the store's 86 only while units are still counted."""
    return sold_out and (quantity or 0) > 0


def sold_out_at(variation: dict, location_id: str) -> bool:
    overrides = (variation.get("item_variation_data") or {}).get("location_overrides") or []
    return any(o.get("location_id") == location_id and o.get("sold_out") for o in overrides)


def adjustment(push: StockPush, *, location_id: str, occurred_at: str) -> dict:
    increase = push.delta > 0
    return {"type": "ADJUSTMENT", "adjustment": {
        "reference_id": push.idempotency_key,
        "catalog_object_id": push.item.external_id, "location_id": location_id,
        "from_state": "NONE" if increase else "IN_STOCK",
        "to_state": "IN_STOCK" if increase else DECREASE_TO_STATE,
        "quantity": str(abs(push.delta)), "occurred_at": occurred_at,
    }}


# -- the order body ---------------------------------------------------------------------------


def order_body(order: dict, *, location_id: str, reference: str, items: dict[str, ItemRef],
               modifiers: dict[str, ItemRef]) -> dict:
    currency = order["total"]["currency"]
    body = {
        "location_id": location_id,
        "reference_id": reference[:REFERENCE_ID_MAX],
        "source": {"name": source_name(order["channel"])},
        "ticket_name": ticket_name(order),
        "metadata": {"concord_reference": reference},
        "line_items": [line_item(line, items, modifiers, currency) for line in order["lines"]],
    }
    taxes = order_taxes(order)
    if taxes:
        body["taxes"] = taxes
    fulfillment = fulfillment_of(order)
    if fulfillment:
        body["fulfillments"] = [fulfillment]
    return body


def ticket_name(order: dict) -> str:
    """What the kitchen sees: the channel and who to call out."""
    name = order["contact"]["name"] or f"#{order['id']}"
    return f"{order['channel'].title()}: {name}"[:TICKET_NAME_MAX]


def line_item(line: dict, items: dict[str, ItemRef], modifiers: dict[str, ItemRef], currency: str) -> dict:
    # Concord quoted the customer its own price: the base is the line's unit price less
    # the modifiers Square prices itself, so the register's total matches the quote.
    modifier_total = sum(m["price_delta"]["amount"] * m["quantity"] for m in line["modifiers"])
    body = {
        "catalog_object_id": items[line["sku"]].external_id,
        "quantity": str(line["quantity"]),
        "base_price_money": money(line["unit_price"]["amount"] - modifier_total, currency),
    }
    if line["note"]:
        body["note"] = line["note"]
    if line["modifiers"]:
        body["modifiers"] = [line_modifier(m, modifiers, currency) for m in line["modifiers"]]
    if line.get("tax_rate_bps"):
        body["applied_taxes"] = [{"tax_uid": tax_uid(line["tax_rate_bps"])}]
    return body


def order_taxes(order: dict) -> list[dict]:
    """Concord's sales tax as Square line-item taxes, one per rate the lines were sold at,
    so the register taxes each line as Concord did (half up per line) and shows the total
    the customer was quoted. Discounts are not sent (the emulator refuses them)."""
    rates = sorted({line["tax_rate_bps"] for line in order["lines"] if line.get("tax_rate_bps")})
    return [{"uid": tax_uid(rate), "name": "Sales tax", "type": "ADDITIVE", "scope": "LINE_ITEM",
             "percentage": str(Decimal(rate).scaleb(-2))} for rate in rates]


def tax_uid(rate_bps: int) -> str:
    return f"concord-tax-{rate_bps}"


def line_modifier(modifier: dict, modifiers: dict[str, ItemRef], currency: str) -> dict:
    mapped = modifiers.get(modifier["sku"])
    if mapped is not None:
        return {"catalog_object_id": mapped.external_id, "quantity": str(modifier["quantity"])}
    # Not in Square's catalog: an ad-hoc modifier still shows on the ticket, priced by us.
    return {"name": modifier["name"], "quantity": str(modifier["quantity"]),
            "base_price_money": money(modifier["price_delta"]["amount"], currency)}


def fulfillment_of(order: dict) -> dict | None:
    kind = order["fulfillment"]["type"]
    if kind == "pickup":
        return pickup(order)
    if kind == "delivery":
        return delivery(order)
    return None


def pickup(order: dict) -> dict:
    at = order["fulfillment"]["at"]
    details = {"recipient": recipient(order["contact"]), "schedule_type": "SCHEDULED" if at else "ASAP",
               # ASAP: the time it was placed, so a retried body is the same body.
               "pickup_at": at or order["placed_at"]}
    if order["note"]:
        details["note"] = order["note"][:PICKUP_NOTE_MAX]
    return {"type": "PICKUP", "state": "PROPOSED", "pickup_details": details}


def delivery(order: dict) -> dict:
    details = {"recipient": recipient(order["contact"]),
               "schedule_type": "SCHEDULED" if order["fulfillment"]["at"] else "ASAP",
               "deliver_at": order["fulfillment"]["at"] or order["placed_at"]}
    if order["note"]:
        details["note"] = order["note"][:PICKUP_NOTE_MAX]
    return {"type": "DELIVERY", "state": "PROPOSED", "delivery_details": details}


def recipient(customer: dict) -> dict:
    fields = (("display_name", customer["name"]), ("phone_number", customer["phone"]),
              ("email_address", customer["email"]))
    return {key: value for key, value in fields if value}
