"""Concord → Toast: web and phone orders into the restaurant, availability onto its menu.

Orders (CONNECTORS.md, "Decisions"): Toast has no idempotency header and sets `source`
itself, so our reference `concord:<channel>:<order id>` is the order's `externalId` (the
check and each selection get ids derived from it), the channel shows on the ticket as the
check's `tabName` and a dining option per fulfillment type, and every attempt looks the
order up by externalId before posting; a duplicate externalId also means "already done".

Stock: Toast has no compare-and-set, so a push re-reads the count and writes
`count + delta` (see `apps.connectors.pos_common`).
"""

from __future__ import annotations

from datetime import datetime

import phonenumbers
from django.conf import settings
from django.utils import timezone

from apps.connectors.adapters import (
    BaseAdapter,
    InjectResult,
    ItemRef,
    PlatformCount,
    StockPush,
    StockPushResult,
    VoidResult,
)
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
from apps.connectors.toast.client import ToastClient, toast_datetime

PLATFORM = "toast"
IN_STOCK, QUANTITY, OUT_OF_STOCK = "IN_STOCK", "QUANTITY", "OUT_OF_STOCK"

# Dining options Concord's orders use, by fulfillment type: the name first (set up once
# per restaurant, so the kitchen sees "Concord Pickup"), else any option of that behavior.
DINING_OPTIONS = {
    "pickup": ("Concord Pickup", "TAKE_OUT"),
    "delivery": ("Concord Delivery", "DELIVERY"),
    "shipping": ("Concord Delivery", "DELIVERY"),
    "dine_in": ("Dine In", "DINE_IN"),
    "in_store": ("Dine In", "DINE_IN"),
}
DINING_OPTIONS_SETTING = "dining_options"
VOIDABLE_PAYMENT_TYPE = "OTHER"

# Toast requires all four customer fields on take-out and delivery orders. A phone or web
# order without them still has to reach the kitchen, so these stand in (the tab name
# carries the channel and order number for the counter).
PLACEHOLDER_FIRST_NAME = "Concord"
PLACEHOLDER_LAST_NAME = "Guest"
PLACEHOLDER_EMAIL = "no-email@concord.invalid"
PLACEHOLDER_PHONE = "0000000000"
MAX_EMAIL_LENGTH = 53

def toast_client(restaurant_guid: str) -> ToastClient:
    """Kept for the process: Toast asks for a token to be reused (a new login no more than
    twice an hour)."""
    account = (settings.TOAST_BASE_URL, settings.TOAST_CLIENT_ID, settings.TOAST_CLIENT_SECRET,
               restaurant_guid)
    return kept_client(PLATFORM, account, lambda: ToastClient(
        settings.TOAST_BASE_URL, client_id=settings.TOAST_CLIENT_ID,
        client_secret=settings.TOAST_CLIENT_SECRET, restaurant_guid=restaurant_guid))


def stock_count(entry: dict) -> int | None:
    """Toast's count for one MenuItemInventory: None when it keeps none (IN_STOCK), 0
    when it shows the item out of stock (86'd or sold out: Toast reports no count then)."""
    if entry.get("status") == QUANTITY:
        return whole_units(entry.get("quantity"))
    if entry.get("status") == OUT_OF_STOCK:
        return 0
    return None


def platform_count(entry: dict) -> PlatformCount:
    return PlatformCount(quantity=stock_count(entry), available=entry.get("status") != OUT_OF_STOCK)


def _failed(push: StockPush, code: str, detail: str, *, retryable: bool = False) -> StockPushResult:
    return StockPushResult(push.item.variant_id, ok=False, error=PlatformError(
        platform=PLATFORM, status=None, code=code, detail=detail, retryable=retryable))


class Adapter(BaseAdapter):
    platform = PLATFORM
    # Ordering a QUANTITY item decrements its count at Toast (CONNECTORS.md §1.4).
    decrements_stock = True
    # [unverified] a void gives a QUANTITY item its count back (the emulator's
    # `restock_on_void`, the mirror of ordering it).
    restocks_on_void = True

    @property
    def client(self) -> ToastClient:
        return toast_client(self.connection.external_location_id)

    # ------------------------------------------------------------------ orders

    def inject_order(self, order: dict, *, reference: str, items: dict[str, ItemRef],
                     modifiers: dict[str, ItemRef], retrying: bool = True) -> InjectResult:
        # A POST can take 30 s and succeed after we gave up: before any retry the order is
        # looked up by its externalId (a duplicate externalId also means it is there).
        made = self.client.find_order_by_external_id(reference) if retrying else None
        if made is None:
            body = self.order_body(order, reference=reference, items=items, modifiers=modifiers)
            try:
                made = self.client.create_order(body)
            except PlatformError as error:
                if not self.client.is_duplicate_external_id(error):
                    raise
                made = self._already_created(reference, error)
        return InjectResult(made["guid"], decrements_stock=self.decrements_stock)

    def void_order(self, external_id: str, *, reference: str) -> VoidResult:
        """`POST /orders/v2/orders/{guid}/void`, only for an order whose payments are all of
        type OTHER (or that has none): a card or cash payment taken at the restaurant is
        voided or refunded there, by staff. Voiding twice answers the voided order."""
        order = self.client.get_order(external_id)
        if order.get("voided"):
            return VoidResult(voided=True, already=True)
        taken = sorted({p.get("type") or "?" for check in order.get("checks") or []
                        for p in check.get("payments") or [] if p.get("type") != VOIDABLE_PAYMENT_TYPE})
        if taken:
            return VoidResult(voided=False, manual=(
                f"Toast order {external_id} has {', '.join(taken)} payments: void the check at "
                "the register (Toast's API voids only orders paid with OTHER payment types)."))
        self.client.void_order(external_id)
        return VoidResult(voided=True)

    def _already_created(self, reference: str, error: PlatformError) -> dict:
        """A duplicate externalId: an earlier attempt made the order; answer with it."""
        found = self.client.find_order_by_external_id(reference)
        if found is None:
            raise PlatformError(platform=PLATFORM, status=error.status, code="duplicate_external_id",
                                detail=f"Toast says {reference} is taken but does not find it yet",
                                retryable=True)
        return found

    def order_body(self, order: dict, *, reference: str, items: dict[str, ItemRef],
                   modifiers: dict[str, ItemRef]) -> dict:
        fulfillment = order["fulfillment"]
        check = {
            "externalId": f"{reference}:check",
            "tabName": tab_name(order),
            "customer": toast_customer(order["contact"]),
            "selections": [
                _selection(line, f"{reference}:line{number}", items, modifiers)
                for number, line in enumerate(order["lines"], start=1)
            ],
        }
        body = {"externalId": reference, "diningOption": {"guid": self.dining_option(fulfillment["type"])},
                "checks": [check]}
        if fulfillment["type"] in ("delivery", "shipping"):
            body["deliveryInfo"] = delivery_info(fulfillment.get("address") or {})
        promised = _promised_date(fulfillment.get("at"))
        if promised:
            body["promisedDate"] = promised
        return body

    def dining_option(self, fulfillment_type: str) -> str:
        """The dining option GUID for a fulfillment type, looked up once per restaurant and
        kept in the connection's settings (a person may also set them there)."""
        known = (self.connection.settings or {}).get(DINING_OPTIONS_SETTING) or {}
        if fulfillment_type not in known:
            known = {**choose_dining_options(self.client.list_dining_options()), **known}
            merge_connection_settings(self.connection, {DINING_OPTIONS_SETTING: known})
        if not known.get(fulfillment_type):
            raise PlatformError(platform=PLATFORM, status=None, code="no_dining_option",
                                detail=f"no Toast dining option fits {fulfillment_type!r} orders")
        return known[fulfillment_type]

    # ------------------------------------------------------------------ stock

    def read_stock(self, items: list[ItemRef]) -> dict[int, PlatformCount]:
        entries = self._inventory([ref.external_id for ref in items])
        return {ref.variant_id: platform_count(entries[ref.external_id])
                for ref in items if ref.external_id in entries}

    def push_stock(self, pushes: list[StockPush]) -> list[StockPushResult]:
        if not pushes:
            return []
        entries = self._inventory([push.item.external_id for push in pushes])
        results: dict[int, StockPushResult] = {}
        updates: dict[str, tuple[StockPush, dict]] = {}
        for push in pushes:
            entry = entries.get(push.item.external_id)
            if entry is None:
                results[push.item.variant_id] = _failed(
                    push, "item_not_found", f"Toast has no menu item {push.item.external_id}")
                continue
            outcome = self._plan_write(push, entry)
            if isinstance(outcome, StockPushResult):
                results[push.item.variant_id] = outcome
            else:
                updates[push.item.external_id] = (push, outcome)
        if updates:
            results.update(self._write(updates))
        return [results[push.item.variant_id] for push in pushes]

    def _plan_write(self, push: StockPush, entry: dict) -> dict | StockPushResult:
        """The MenuItemInventory to write for one push, or its result when none is needed."""
        current = stock_count(entry)
        if push.is_86d:
            return self._remembered(push, current, 0, {"status": OUT_OF_STOCK})
        if current is not None and resent_write_landed(push, current):
            return StockPushResult(push.item.variant_id, ok=True, platform_quantity=current)
        if entry["status"] == OUT_OF_STOCK and not push.flag_changed and (push.expected_quantity or 0) > 0:
            # Toast went out of stock since Concord last saw a count there, and Concord has
            # not yet heard why (staff 86'd it, or its own sales emptied it). Writing a count
            # now could undo a staff 86; its stock event settles it before the retry.
            return _failed(push, "platform_out_of_stock", "Toast shows the item out of stock; "
                           "waiting for its stock event", retryable=True)
        wanted = count_to_write(push, current)
        if wanted > 0:
            return self._remembered(push, current, wanted, {"status": QUANTITY, "quantity": wanted})
        return self._remembered(push, current, 0, {"status": OUT_OF_STOCK})

    def _remembered(self, push: StockPush, before: int | None, wrote: int, entry: dict) -> dict:
        remember_write(platform=PLATFORM, link=self.connection, push=push, before=before, wrote=wrote)
        return {"guid": push.item.external_id, **entry}

    def _write(self, updates: dict[str, tuple[StockPush, dict]]) -> dict[int, StockPushResult]:
        answered = {entry.get("guid"): entry for entry in
                    self.client.update_inventory([entry for _, entry in updates.values()])}
        results = {}
        for guid, (push, _) in updates.items():
            entry = answered.get(guid)
            if entry is None or entry.get("itemGuidValidity") == "INVALID":
                results[push.item.variant_id] = _failed(push, "item_not_found",
                                                        f"Toast has no menu item {guid}")
            else:
                results[push.item.variant_id] = StockPushResult(
                    push.item.variant_id, ok=True, platform_quantity=stock_count(entry))
        return results

    def _inventory(self, guids: list[str]) -> dict[str, dict]:
        found = self.client.search_inventory(guids=sorted(set(guids)))
        return {entry["guid"]: entry for entry in found
                if entry.get("guid") and entry.get("itemGuidValidity") != "INVALID"}


# ---------------------------------------------------------------------- order parts


def _selection(line: dict, external_id: str, items: dict[str, ItemRef],
               modifiers: dict[str, ItemRef]) -> dict:
    item = items[line["sku"]]
    return {
        "externalId": external_id,
        "item": {"guid": item.external_id},
        "itemGroup": {"guid": item.data.get("itemGroupGuid")},
        "quantity": line["quantity"],
        "modifiers": [_modifier(m, f"{external_id}:mod{n}", modifiers)
                      for n, m in enumerate(line["modifiers"], start=1)],
    }


def _modifier(modifier: dict, external_id: str, modifiers: dict[str, ItemRef]) -> dict:
    ref = modifiers.get(modifier["sku"])
    if ref is None:
        raise PlatformError(platform=PLATFORM, status=None, code="unmapped_modifier",
                            detail=f"{modifier['sku']} is not mapped at toast; pull its catalog")
    return {"externalId": external_id, "item": {"guid": ref.external_id},
            "optionGroup": {"guid": ref.data.get("optionGroupGuid")}, "quantity": modifier["quantity"]}


def tab_name(order: dict) -> str:
    return counter_label(order)[:255]


def toast_customer(customer: dict) -> dict:
    first, _, last = (customer.get("name") or "").strip().partition(" ")
    email = (customer.get("email") or "").strip()
    if not email.isascii() or len(email) > MAX_EMAIL_LENGTH or "@" not in email:
        email = PLACEHOLDER_EMAIL
    return {"firstName": first or PLACEHOLDER_FIRST_NAME, "lastName": last.strip() or PLACEHOLDER_LAST_NAME,
            "email": email, **_phone(customer.get("phone") or "")}


def _phone(e164: str) -> dict:
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return {"phone": PLACEHOLDER_PHONE}
    return {"phone": str(parsed.national_number), "phoneCountryCode": str(parsed.country_code)}


def delivery_info(address: dict) -> dict:
    """Concord's free-form address as Toast's deliveryInfo (address1, city, state, zipCode)."""

    def first(*names: str) -> str:
        return next((str(address[n]) for n in names if address.get(n)), "")

    return {"address1": first("address1", "line1", "street"), "address2": first("address2", "line2"),
            "city": first("city", "locality"), "state": first("state", "region", "province"),
            "zipCode": first("zipCode", "zip", "postal_code", "postcode"), "notes": first("notes", "note")}


def _promised_date(at: str | None) -> str | None:
    """A scheduled pickup or delivery time (only a future one means anything to Toast)."""
    if not at:
        return None
    moment = datetime.fromisoformat(at)
    return toast_datetime(moment) if moment > timezone.now() else None


def choose_dining_options(options: list[dict]) -> dict[str, str]:
    chosen = {}
    for fulfillment_type, (name, behavior) in DINING_OPTIONS.items():
        named = [o for o in options if (o.get("name") or "").lower() == name.lower()]
        behaving = [o for o in options if o.get("behavior") == behavior]
        match = (named or behaving or [None])[0]
        if match is not None:
            chosen[fulfillment_type] = match["guid"]
    return chosen
