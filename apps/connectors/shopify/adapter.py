"""Concord → Shopify: availability out, counts read back (CONNECTORS.md §4.3).

Pushes are `inventoryAdjustQuantities` deltas under compare-and-set (`changeFromQuantity`,
required from API 2026-04) and `@idempotent(key:)` (mandatory from 2026-04). A mutation
call costs 10 points whatever it carries, and Shopify restores 100 a second, so the
pushes of one pass travel as the changes of one call (up to 250) under one key. The
engine records that key with each push before sending, and a retry after a lost answer
re-sends exactly those pushes under it, so the call replays instead of applying twice.

Shopify applies a call whole or not at all. When a compare fails (CHANGE_FROM_QUANTITY_STALE:
a storefront sale or an admin edit moved a level since we last looked), or one change is
refused, nothing applied: the levels are re-read and handed back to the engine, which
records the next attempt (the same deltas against the fresh values, under a new key)
before sending it. A delta is never turned into an absolute write, so the other side's
change survives.

Web orders are not pushed into Shopify (CONNECTORS.md §4.1): Shopify connections have
`receives_orders=False`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

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
)
from apps.connectors.http import PlatformError
from apps.connectors.shopify.client import ShopifyClient
from apps.core.money import decimal_string

PLATFORM = "shopify"
QUANTITY_NAME = "available"
REASON = "correction"
# Each mutation field costs 10 points plus its selection; a query may cost 1000.
MUTATIONS_PER_CALL = 60
LEVELS_PER_QUERY = 100
STALE = "CHANGE_FROM_QUANTITY_STALE"
KEY_USED_OTHERWISE = "IDEMPOTENCY_KEY_PARAMETER_MISMATCH"

PUSH_FIELDS = "{ inventoryAdjustmentGroup { id } userErrors { code field message } }"


def shopify_client() -> ShopifyClient:
    return ShopifyClient(settings.SHOPIFY_BASE_URL, access_token=settings.SHOPIFY_ACCESS_TOKEN,
                         api_version=settings.SHOPIFY_API_VERSION)


def gid(kind: str, legacy_id: str | int) -> str:
    return f"gid://shopify/{kind}/{legacy_id}"


def legacy_id(global_id: str) -> str:
    return global_id.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Attempt:
    """The pushes recorded under one key, sent once as one call: each its delta against
    its compare value."""

    key: str
    pushes: list[StockPush]
    change_from: dict[int, int | None]  # variant id -> changeFromQuantity


@dataclass(frozen=True)
class Outcome:
    attempt: Attempt
    errors: list[dict]


class Adapter(BaseAdapter):
    platform = PLATFORM
    pushes_share_a_key = True
    # [unverified] a cancelled order's units go back to Shopify's available (the emulator,
    # as the admin's "Restock items" default).
    restocks_on_void = True

    def __init__(self, connection):
        super().__init__(connection)
        self.client = shopify_client()
        self.location_gid = gid("Location", connection.external_location_id)

    def inject_order(self, order: dict, *, reference: str, items: dict[str, ItemRef],
                     modifiers: dict[str, ItemRef], retrying: bool = True) -> InjectResult:
        raise NotImplementedError("Concord does not push orders into Shopify (CONNECTORS.md §4.1)")

    # -- refunds -------------------------------------------------------------------------------

    def refund_payment(self, request: RefundRequest, *, retrying: bool = True) -> RefundResult:
        """`POST orders/{id}/refunds.json` of money alone (Concord restocks and pushes the
        count itself, so Shopify must not restock too). REST takes no idempotency key: before
        a retry the order's refunds are read, and one whose note carries our marker is the
        first attempt's, so a retry never refunds twice."""
        if retrying:
            earlier = next((r for r in self.client.order_refunds(request.order_external_id)
                            if request.marker in (r.get("note") or "")), None)
            if earlier is not None:
                return RefundResult(str(earlier["id"]), refund_state(earlier), already=True)
        refund = self.client.create_refund(int(request.order_external_id), {
            "note": refund_note(request), "notify": False,
            "transactions": [{"parent_id": int(request.payment_reference), "kind": "refund",
                              "amount": decimal_string(request.amount, request.currency)}],
        })
        return RefundResult(str(refund["id"]), refund_state(refund))

    # -- reads ---------------------------------------------------------------------------------

    def read_stock(self, items: list[ItemRef]) -> dict[int, PlatformCount]:
        levels = self.available_levels(items)
        return {item.variant_id: PlatformCount(quantity=levels.get(item.variant_id)) for item in items}

    def available_levels(self, items: list[ItemRef]) -> dict[int, int | None]:
        """`available` at this location per variant id (None: not stocked here)."""
        levels: dict[int, int | None] = {}
        for start in range(0, len(items), LEVELS_PER_QUERY):
            chunk = items[start:start + LEVELS_PER_QUERY]
            data = self.client.graphql(self._levels_query(chunk))
            for index, item in enumerate(chunk):
                levels[item.variant_id] = _available(data.get(f"l{index}"))
        return levels

    def _levels_query(self, items: list[ItemRef]) -> str:
        location = legacy_id(self.location_gid)
        fields = "\n".join(
            f'  l{index}: inventoryLevel(id: {json.dumps(level_gid(location, item))}) '
            '{ quantities(names: ["available"]) { name quantity } }'
            for index, item in enumerate(items))
        return f"query Levels {{\n{fields}\n}}"

    # -- pushes --------------------------------------------------------------------------------

    def push_stock(self, pushes: list[StockPush]) -> list[StockPushResult]:
        results: dict[int, StockPushResult] = {}
        for push in pushes:
            if push.delta == 0:
                # Shopify has no 86 flag: an 86 reaches it as a count of zero, so a push that
                # only moves the flag has nothing to send.
                results[push.item.variant_id] = StockPushResult(push.item.variant_id, True,
                                                                push.expected_quantity)
        moving = [p for p in pushes if p.delta != 0]
        try:
            self._push_with_compare(moving, results)
        except PlatformError as error:
            # Throttled, down or refused: what did not finish waits for the engine's retry
            # under the same keys (a call that did apply replays).
            for push in moving:
                results.setdefault(push.item.variant_id,
                                   StockPushResult(push.item.variant_id, False, error=error))
        return [results[p.item.variant_id] for p in pushes]

    def _push_with_compare(self, pushes: list[StockPush], results: dict[int, StockPushResult]) -> None:
        """One call per key, as the engine recorded it; fills `results` as answers come in,
        so a failure midway keeps what did finish."""
        not_applied = []
        for outcome in self._send(self._attempts(pushes)):
            not_applied += self._judge(outcome, results)
        if not_applied:
            shown = self.available_levels([p.item for p in not_applied])
            for push in not_applied:
                results[push.item.variant_id] = StockPushResult(
                    push.item.variant_id, False, stale_quantity=shown.get(push.item.variant_id),
                    error=PlatformError(platform=PLATFORM, status=200, code=STALE, retryable=True,
                                        retry_after=0, detail="the call did not apply; compare again"))

    def _attempts(self, pushes: list[StockPush]) -> list[Attempt]:
        unknown = [p.item for p in pushes if p.expected_quantity is None]
        current = self.available_levels(unknown) if unknown else {}
        by_key: dict[str, list[StockPush]] = {}
        for push in pushes:
            by_key.setdefault(push.idempotency_key, []).append(push)
        return [Attempt(key, members, {p.item.variant_id: _compare_value(p, current) for p in members})
                for key, members in by_key.items()]

    def _judge(self, outcome: Outcome, results: dict[int, StockPushResult]) -> list[StockPush]:
        """Fills `results` from one call's answer; returns the pushes that did not apply
        and go again under a new key. Shopify applies a call whole or not at all: one
        stale compare, or one refused change, and none of it applied."""
        attempt = outcome.attempt
        if not outcome.errors:
            for push in attempt.pushes:
                before = attempt.change_from[push.item.variant_id]
                # The compare held, so the level was exactly `before`.
                after = None if before is None else before + push.delta
                results[push.item.variant_id] = StockPushResult(push.item.variant_id, True, after)
            return []
        refused = {}
        for error in outcome.errors:
            index = _change_index(error, len(attempt.pushes))
            if index is None or error.get("code") == KEY_USED_OTHERWISE:
                for push in attempt.pushes:  # about the whole call
                    results[push.item.variant_id] = _refused(push, error)
                return []
            if error.get("code") != STALE:
                refused[index] = error
        for index, error in refused.items():
            push = attempt.pushes[index]
            results[push.item.variant_id] = _refused(push, error)
        return [push for index, push in enumerate(attempt.pushes) if index not in refused]

    def _send(self, attempts: list[Attempt]) -> Iterator[Outcome]:
        for start in range(0, len(attempts), MUTATIONS_PER_CALL):
            chunk = attempts[start:start + MUTATIONS_PER_CALL]
            query, variables = self._push_mutation(chunk)
            data = self.client.graphql(query, variables)
            for index, attempt in enumerate(chunk):
                yield Outcome(attempt, errors=(data.get(f"p{index}") or {}).get("userErrors") or [])

    def _push_mutation(self, attempts: list[Attempt]) -> tuple[str, dict]:
        arguments = ", ".join(f"$c{i}: InventoryAdjustQuantitiesInput!" for i in range(len(attempts)))
        fields = "\n".join(
            f"  p{i}: inventoryAdjustQuantities(input: $c{i}) @idempotent(key: {json.dumps(a.key)}) "
            f"{PUSH_FIELDS}" for i, a in enumerate(attempts))
        variables = {f"c{i}": self._changes_input(a) for i, a in enumerate(attempts)}
        return f"mutation Push({arguments}) {{\n{fields}\n}}", variables

    def _changes_input(self, attempt: Attempt) -> dict:
        return {"name": QUANTITY_NAME, "reason": REASON, "changes": [{
            "inventoryItemId": gid("InventoryItem", push.item.data["inventory_item_id"]),
            "locationId": self.location_gid, "delta": push.delta,
            # null opts out explicitly (2026-04 requires the field): only when Shopify
            # does not stock the item here, which the write then reports.
            "changeFromQuantity": attempt.change_from[push.item.variant_id],
        } for push in attempt.pushes]}


def refund_note(request: RefundRequest) -> str:
    return f"{request.reason} [{request.marker}]".strip()


def refund_state(refund: dict) -> str:
    """A refund's outcome from its money transactions' statuses (success, pending, failure, error)."""
    statuses = {t.get("status") for t in refund.get("transactions") or [] if t.get("kind") == "refund"}
    if statuses & {"failure", "error"}:
        return "failed"
    if "pending" in statuses:
        return "pending"
    return "completed"


def _compare_value(push: StockPush, current: dict[int, int | None]) -> int | None:
    if push.expected_quantity is not None:
        return push.expected_quantity
    return current.get(push.item.variant_id)


def _change_index(error: dict, size: int) -> int | None:
    """Which change a userError is about (`field: ["input", "changes", "3", ...]`)."""
    field = error.get("field") or []
    if len(field) >= 3 and field[1] == "changes" and str(field[2]).isdigit() and int(field[2]) < size:
        return int(field[2])
    return None


def _refused(push: StockPush, error: dict) -> StockPushResult:
    code = error.get("code") or "user_error"
    return StockPushResult(push.item.variant_id, False, error=PlatformError(
        platform=PLATFORM, status=200, code=code, detail=error.get("message", ""),
        retryable=code == KEY_USED_OTHERWISE))


def level_gid(location_id: str, item: ItemRef) -> str:
    return f"gid://shopify/InventoryLevel/{location_id}?inventory_item_id={item.data['inventory_item_id']}"


def _available(level: dict | None) -> int | None:
    if not level:
        return None
    return next((q["quantity"] for q in level.get("quantities", []) if q["name"] == QUANTITY_NAME), None)
