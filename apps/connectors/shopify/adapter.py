"""Concord → Shopify: availability out, counts read back (CONNECTORS.md §4.3).

Pushes are `inventoryAdjustQuantities` deltas under compare-and-set (`changeFromQuantity`,
required from API 2026-04) and `@idempotent(key:)` (mandatory from 2026-04). Shopify's
idempotency key belongs to one mutation call, and a push must replay under its own key
whatever other pushes travel with it, so each push is its own aliased mutation field;
many travel in one HTTP request (`p0: inventoryAdjustQuantities(...) @idempotent(...)`),
as many as fit under Shopify's 1000-point cost of a single query.

When the compare fails (CHANGE_FROM_QUANTITY_STALE: a storefront sale or an admin edit
moved the level since we last looked) the attempt certainly did not apply: the level is
re-read and handed back to the engine, which records the next attempt (the same delta
against the fresh value, under a key derived from the push's key and that value) before
it is sent. So every attempt is sent with exactly one set of arguments per key, and a
retry after a lost answer replays instead of applying twice. A delta is never turned
into an absolute write, so the other side's change survives.

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
    StockPush,
    StockPushResult,
)
from apps.connectors.http import PlatformError
from apps.connectors.shopify.client import ShopifyClient

PLATFORM = "shopify"
QUANTITY_NAME = "available"
REASON = "correction"
# Each mutation field costs 10 points plus its selection; a query may cost 1000.
MUTATIONS_PER_CALL = 60
LEVELS_PER_QUERY = 100
STALE = "CHANGE_FROM_QUANTITY_STALE"
KEY_USED_OTHERWISE = "IDEMPOTENCY_KEY_PARAMETER_MISMATCH"

PUSH_FIELDS = """{
    inventoryAdjustmentGroup { changes(quantityNames: ["available"]) { name quantityAfterChange } }
    userErrors { code field message }
  }"""


def shopify_client() -> ShopifyClient:
    return ShopifyClient(settings.SHOPIFY_BASE_URL, access_token=settings.SHOPIFY_ACCESS_TOKEN,
                         api_version=settings.SHOPIFY_API_VERSION)


def gid(kind: str, legacy_id: str | int) -> str:
    return f"gid://shopify/{kind}/{legacy_id}"


def legacy_id(global_id: str) -> str:
    return global_id.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Attempt:
    """One push sent once: the delta against `change_from`, under `key`."""

    push: StockPush
    key: str
    change_from: int | None


@dataclass(frozen=True)
class Outcome:
    attempt: Attempt
    quantity_after: int | None = None
    error_code: str = ""
    error_detail: str = ""


class Adapter(BaseAdapter):
    platform = PLATFORM

    def __init__(self, connection):
        super().__init__(connection)
        self.client = shopify_client()
        self.location_gid = gid("Location", connection.external_location_id)

    def inject_order(self, order: dict, *, reference: str, items: dict[str, ItemRef],
                     modifiers: dict[str, ItemRef], retrying: bool = True) -> InjectResult:
        raise NotImplementedError("Concord does not push orders into Shopify (CONNECTORS.md §4.1)")

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
            # under the same keys (a push that did apply replays).
            for push in moving:
                results.setdefault(push.item.variant_id,
                                   StockPushResult(push.item.variant_id, False, error=error))
        return [results[p.item.variant_id] for p in pushes]

    def _push_with_compare(self, pushes: list[StockPush], results: dict[int, StockPushResult]) -> None:
        """One attempt per push, as the engine recorded it; fills `results` as answers come
        in, so a failure midway keeps what did finish."""
        attempts = self._attempts(pushes)
        stale = []
        for outcome in self._send(attempts):
            result = self._judge(outcome)
            if result is None:
                stale.append(outcome.attempt.push)
            else:
                results[result.variant_id] = result
        if stale:
            shown = self.available_levels([p.item for p in stale])
            for push in stale:
                results[push.item.variant_id] = StockPushResult(
                    push.item.variant_id, False, stale_quantity=shown.get(push.item.variant_id),
                    error=PlatformError(platform=PLATFORM, status=200, code=STALE, retryable=True,
                                        retry_after=0, detail="the level moved; compare again"))

    def _attempts(self, pushes: list[StockPush]) -> list[Attempt]:
        unknown = [p.item for p in pushes if p.expected_quantity is None]
        current = self.available_levels(unknown) if unknown else {}
        return [Attempt(p, p.idempotency_key, p.expected_quantity if p.expected_quantity is not None
                        else current.get(p.item.variant_id)) for p in pushes]

    def _judge(self, outcome: Outcome) -> StockPushResult | None:
        """The push's result, or None when the compare failed."""
        push = outcome.attempt.push
        if not outcome.error_code:
            return StockPushResult(push.item.variant_id, True, outcome.quantity_after)
        if outcome.error_code == STALE:
            return None
        return StockPushResult(push.item.variant_id, False, error=PlatformError(
            platform=PLATFORM, status=200, code=outcome.error_code, detail=outcome.error_detail,
            retryable=outcome.error_code == KEY_USED_OTHERWISE))

    def _send(self, attempts: list[Attempt]) -> Iterator[Outcome]:
        for start in range(0, len(attempts), MUTATIONS_PER_CALL):
            chunk = attempts[start:start + MUTATIONS_PER_CALL]
            query, variables = self._push_mutation(chunk)
            data = self.client.graphql(query, variables)
            yield from (_outcome(attempt, data.get(f"p{index}") or {}) for index, attempt in enumerate(chunk))

    def _push_mutation(self, attempts: list[Attempt]) -> tuple[str, dict]:
        arguments = ", ".join(f"$c{i}: InventoryAdjustQuantitiesInput!" for i in range(len(attempts)))
        fields = "\n".join(
            f"  p{i}: inventoryAdjustQuantities(input: $c{i}) @idempotent(key: {json.dumps(a.key)}) "
            f"{PUSH_FIELDS}" for i, a in enumerate(attempts))
        variables = {f"c{i}": self._change_input(a) for i, a in enumerate(attempts)}
        return f"mutation Push({arguments}) {{\n{fields}\n}}", variables

    def _change_input(self, attempt: Attempt) -> dict:
        item = attempt.push.item
        return {"name": QUANTITY_NAME, "reason": REASON, "changes": [{
            "inventoryItemId": gid("InventoryItem", item.data["inventory_item_id"]),
            "locationId": self.location_gid, "delta": attempt.push.delta,
            # null opts out explicitly (2026-04 requires the field): only when Shopify
            # does not stock the item here, which the write then reports.
            "changeFromQuantity": attempt.change_from,
        }]}


def level_gid(location_id: str, item: ItemRef) -> str:
    return f"gid://shopify/InventoryLevel/{location_id}?inventory_item_id={item.data['inventory_item_id']}"


def _available(level: dict | None) -> int | None:
    if not level:
        return None
    return next((q["quantity"] for q in level.get("quantities", []) if q["name"] == QUANTITY_NAME), None)


def _outcome(attempt: Attempt, payload: dict) -> Outcome:
    errors = payload.get("userErrors") or []
    if errors:
        return Outcome(attempt, error_code=errors[0].get("code") or "user_error",
                       error_detail=errors[0].get("message", ""))
    group = payload.get("inventoryAdjustmentGroup") or {}
    after = next((c["quantityAfterChange"] for c in group.get("changes", []) if c["name"] == QUANTITY_NAME),
                 None)
    return Outcome(attempt, quantity_after=after)
