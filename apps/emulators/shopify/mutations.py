"""`inventorySetQuantities` and `inventoryAdjustQuantities`, with Shopify's checks.

Behaviour per shopify.dev (mutation pages, InventorySetQuantitiesUserErrorCode and the
2026-01/2026-04 "concurrency protection" changelogs):
- every input is validated first; any userError means nothing changes (the payload's
  `inventoryAdjustmentGroup` is null);
- compare-and-set: before 2026-04 `compareQuantity` must match unless
  `ignoreCompareQuantity: true` (missing -> COMPARE_QUANTITY_REQUIRED, mismatch ->
  COMPARE_QUANTITY_STALE); from 2026-01 a given `changeFromQuantity` must match
  (CHANGE_FROM_QUANTITY_STALE); from 2026-04 every quantity/change must carry it, `null`
  opting out;
- `@idempotent(key:)`: the same key replays the first result without applying it again;
  the same key with other arguments -> IDEMPOTENCY_KEY_PARAMETER_MISMATCH; mandatory from
  2026-04.
How Shopify words the run-time errors for a missing directive or a missing
`changeFromQuantity` was not captured: they are top-level errors here [unverified].
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from graphql import GraphQLError, get_directive_values

from .nodes import Nodes
from .schema import era
from .store import MAX_QUANTITY, gid, graphql_time, now, parse_gid

if TYPE_CHECKING:
    from .emulator import ShopifyEmulator

REASONS = ("correction", "cycle_count_available", "damaged", "movement_created", "movement_updated",
           "movement_received", "movement_canceled", "other", "promotion", "quality_control",
           "received", "reservation_created", "reservation_deleted", "reservation_updated",
           "restock", "safety_stock", "shrinkage")
QUANTITY_NAMES = ("available", "on_hand")
MAX_QUANTITIES = 250


class Mutations:
    def __init__(self, emulator: ShopifyEmulator, version: str):
        self.emulator = emulator
        self.store = emulator.store
        self.era = era(version)

    # -- entry points --------------------------------------------------------------------------

    def inventorySetQuantities(self, info, input: dict) -> dict:
        return self._idempotent(info, "inventorySetQuantities", input,
                                lambda: self._set_quantities(input))

    def inventoryAdjustQuantities(self, info, input: dict) -> dict:
        return self._idempotent(info, "inventoryAdjustQuantities", input,
                                lambda: self._adjust_quantities(input))

    def _idempotent(self, info, name: str, arguments: dict, run) -> dict:
        key = _idempotency_key(info)
        if key is None:
            if self.era == "2026-04":
                raise GraphQLError(f"The @idempotent directive is required for {name} as of 2026-04.",
                                   extensions={"code": "BAD_REQUEST"})
            return run()
        fingerprint = json.dumps([name, arguments], sort_keys=True, default=str)
        stored = self.store.idempotent_results.get(key)
        if stored is not None:
            if stored[0] != fingerprint:
                return _failed([_error("IDEMPOTENCY_KEY_PARAMETER_MISMATCH", ["idempotent", "key"],
                                       "The same idempotency key cannot be used with different "
                                       "operation parameters.")])
            return stored[1]
        payload = run()
        self.store.idempotent_results[key] = (fingerprint, payload)
        return payload

    # -- inventorySetQuantities -------------------------------------------------------------------

    def _set_quantities(self, data: dict) -> dict:
        quantities = data["quantities"]
        _check_size(quantities)
        errors = self._common_errors(data, set_mutation=True)
        targets = []
        seen = set()
        for index, entry in enumerate(quantities):
            path = ["input", "quantities", str(index)]
            level = self._level(entry, path, errors)
            if level is None:
                continue
            if (level.location_id, level.item_id) in seen:
                errors.append(_error("NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR", path,
                                     "The combination of inventoryItemId and locationId must be unique."))
                continue
            seen.add((level.location_id, level.item_id))
            if entry["quantity"] < 0:
                errors.append(_error("INVALID_QUANTITY_NEGATIVE", [*path, "quantity"],
                                     "The quantity can't be negative."))
            elif entry["quantity"] > MAX_QUANTITY:
                errors.append(_error("INVALID_QUANTITY_TOO_HIGH", [*path, "quantity"],
                                     "The total quantity can't be higher than 1,000,000,000."))
            current = level.quantity(data["name"]) if data["name"] in QUANTITY_NAMES else 0
            errors.extend(self._set_cas_errors(data, entry, path, current))
            targets.append((level, entry["quantity"] - current))
        if errors:
            return _failed(errors)
        return self._apply(data, [(level, delta) for level, delta in targets])

    def _set_cas_errors(self, data: dict, entry: dict, path: list[str], current: int) -> list[dict]:
        if self.era != "legacy":
            if self.era == "2026-04" and "changeFromQuantity" not in entry:
                raise GraphQLError("Each quantity must include changeFromQuantity as of 2026-04 "
                                   "(pass null to opt out of the check).",
                                   extensions={"code": "BAD_REQUEST"})
            if "changeFromQuantity" in entry:
                return _change_from_errors(entry, path, current)
        if data.get("ignoreCompareQuantity"):
            return []
        if entry.get("compareQuantity") is None:
            return [_error("COMPARE_QUANTITY_REQUIRED", [*path, "compareQuantity"],
                           "The compareQuantity argument must be given to each quantity or ignored "
                           "using ignoreCompareQuantity.")]
        if entry["compareQuantity"] != current:
            return [_error("COMPARE_QUANTITY_STALE", [*path, "compareQuantity"],
                           "The compareQuantity value does not match persisted value.")]
        return []

    # -- inventoryAdjustQuantities ----------------------------------------------------------------

    def _adjust_quantities(self, data: dict) -> dict:
        changes = data["changes"]
        _check_size(changes)
        errors = self._common_errors(data, set_mutation=False)
        targets = []
        for index, entry in enumerate(changes):
            path = ["input", "changes", str(index)]
            level = self._level(entry, path, errors)
            if level is None:
                continue
            current = level.quantity(data["name"]) if data["name"] in QUANTITY_NAMES else 0
            if self.era == "2026-04" and "changeFromQuantity" not in entry:
                raise GraphQLError("Each change must include changeFromQuantity as of 2026-04 "
                                   "(pass null to opt out of the check).",
                                   extensions={"code": "BAD_REQUEST"})
            if self.era != "legacy" and "changeFromQuantity" in entry:
                errors.extend(_change_from_errors(entry, path, current))
            if abs(current + entry["delta"]) > MAX_QUANTITY:
                errors.append(_error("INVALID_QUANTITY_TOO_HIGH", [*path, "delta"],
                                     "The total quantity can't be higher than 1,000,000,000."))
            targets.append((level, entry["delta"]))
        if data["name"] == "on_hand" and any(not c.get("ledgerDocumentUri") for c in changes):
            errors.append(_error("INVALID_LEDGER_DOCUMENT", ["input", "changes"],
                                 "A ledger document URI is required for quantity names other than "
                                 "available."))
        if errors:
            return _failed(errors)
        return self._apply(data, targets)

    # -- shared --------------------------------------------------------------------------------

    def _common_errors(self, data: dict, *, set_mutation: bool) -> list[dict]:
        errors = []
        if data["name"] not in QUANTITY_NAMES:
            code = "INVALID_NAME" if set_mutation else "INVALID_QUANTITY_NAME"
            errors.append(_error(code, ["input", "name"],
                                 "The quantity name must be either 'available' or 'on_hand'."))
        if data["reason"] not in REASONS:
            errors.append(_error("INVALID_REASON", ["input", "reason"], "The specified reason is invalid."))
        uri = data.get("referenceDocumentUri")
        if uri is not None and (not uri or uri.startswith("gid://shopify/")):
            errors.append(_error("INVALID_REFERENCE_DOCUMENT", ["input", "referenceDocumentUri"],
                                 "The specified reference document is invalid."))
        return errors

    def _level(self, entry: dict, path: list[str], errors: list[dict]):
        item_id = parse_gid(entry["inventoryItemId"], "InventoryItem")
        location_id = parse_gid(entry["locationId"], "Location")
        if item_id not in self.store.variant_by_item:
            errors.append(_error("INVALID_INVENTORY_ITEM", [*path, "inventoryItemId"],
                                 "The specified inventory item could not be found."))
            return None
        if location_id not in self.store.locations:
            errors.append(_error("INVALID_LOCATION", [*path, "locationId"],
                                 "The specified location could not be found."))
            return None
        level = self.store.levels.get((location_id, item_id))
        if level is None:
            errors.append(_error("ITEM_NOT_STOCKED_AT_LOCATION", [*path, "inventoryItemId"],
                                 "The specified inventory item is not stocked at the location."))
        return level

    def _apply(self, data: dict, targets: list) -> dict:
        changes = []
        moved = []
        for level, delta in targets:
            made = self.store.change(level, data["name"], delta)
            changes.extend(made)
            if made:
                moved.append(level)
        self.emulator.send_level_updates(moved)
        group_id = self.store.ids.next()
        return {
            "inventoryAdjustmentGroup": {
                "id": gid("InventoryAdjustmentGroup", group_id), "createdAt": graphql_time(now()),
                "reason": data["reason"], "referenceDocumentUri": data.get("referenceDocumentUri"),
                "changes": lambda info, inventoryItemIds=None, locationIds=None, quantityNames=None:
                    self._changes(changes, inventoryItemIds, locationIds, quantityNames),
            },
            "userErrors": [],
        }

    def _changes(self, changes: list[dict], item_ids, location_ids, names) -> list[dict]:
        nodes = Nodes(self.store, self.emulator.shop_domain)
        selected = []
        for change in changes:
            if names is not None and change["name"] not in names:
                continue
            if item_ids is not None and gid("InventoryItem", change["item_id"]) not in item_ids:
                continue
            if location_ids is not None and gid("Location", change["location_id"]) not in location_ids:
                continue
            selected.append({
                "name": change["name"], "delta": change["delta"],
                "quantityAfterChange": change["quantityAfterChange"], "ledgerDocumentUri": None,
                "item": nodes.item(change["item_id"]), "location": nodes.location(change["location_id"]),
            })
        return selected


def _idempotency_key(info) -> str | None:
    directive = info.schema.get_directive("idempotent")
    values = get_directive_values(directive, info.field_nodes[0], info.variable_values)
    return values["key"] if values else None


def _check_size(entries: list) -> None:
    if len(entries) > MAX_QUANTITIES:
        raise GraphQLError(f"The input array size of {len(entries)} is greater than the maximum "
                           f"allowed of {MAX_QUANTITIES}.", extensions={"code": "MAX_INPUT_SIZE_EXCEEDED"})


def _change_from_errors(entry: dict, path: list[str], current: int) -> list[dict]:
    expected = entry.get("changeFromQuantity")
    if expected is not None and expected != current:
        return [_error("CHANGE_FROM_QUANTITY_STALE", [*path, "changeFromQuantity"],
                       "The changeFromQuantity value does not match persisted value.")]
    return []


def _error(code: str, field: list[str], message: str) -> dict:
    return {"code": code, "field": field, "message": message}


def _failed(errors: list[dict]) -> dict[str, Any]:
    return {"inventoryAdjustmentGroup": None, "userErrors": errors}
