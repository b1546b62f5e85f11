"""Square inventory as the emulator keeps it: one IN_STOCK count per variation and location.

Semantics follow SQ-SPEC `BatchChangeInventory`, `InventoryPhysicalCount`,
`InventoryAdjustment`, `InventoryTransfer`, `InventoryCount`:
- changes are applied by their client-supplied `occurred_at`, not by arrival: a physical
  count sets the count as of its `occurred_at`, and every adjustment that occurred later
  still applies on top; anything that occurred before the newest physical count has no
  effect (that count already saw it). So an older count never overwrites a newer one.
- a physical count's `occurred_at` may be at most 24 hours old and not in the future
  [verified: SDK docs for InventoryPhysicalCount.occurred_at]; the error code is a guess.
- `ignore_unchanged_counts` (default true) skips physical counts equal to the current one.
- a sale is an adjustment IN_STOCK -> SOLD; only IN_STOCK is kept as a count here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from .support import (
    CLOCK_SKEW,
    ONE_DAY,
    SquareError,
    invalid,
    parse_quantity,
    parse_rfc3339,
    quantity_text,
    rfc3339,
)

INVENTORY_STATES = (
    "CUSTOM", "IN_STOCK", "SOLD", "RETURNED_BY_CUSTOMER", "RESERVED_FOR_SALE", "SOLD_ONLINE",
    "ORDERED_FROM_VENDOR", "RECEIVED_FROM_VENDOR", "IN_TRANSIT_TO", "NONE", "WASTE",
    "UNLINKED_RETURN", "COMPOSED", "DECOMPOSED", "SUPPORTED_BY_NEWER_VERSION", "IN_TRANSIT",
)
CHANGE_TYPES = ("PHYSICAL_COUNT", "ADJUSTMENT", "TRANSFER")
MAX_CHANGES_PER_BATCH = 100  # [unverified] Square's documented batch size for inventory writes


@dataclass
class StockCell:
    location_id: str
    variation_id: str
    base: Decimal
    base_at: datetime
    calculated_at: datetime
    later: list[tuple[datetime, Decimal]] = field(default_factory=list)
    manual_sold_out: bool = False  # set by the seller at the register (the control API)

    @property
    def quantity(self) -> Decimal:
        return self.base + sum((delta for _, delta in self.later), Decimal(0))

    @property
    def sold_out(self) -> bool:
        # Square marks a tracked variation sold out at zero by itself; a seller may also
        # mark it by hand [verified: ItemVariationLocationOverrides.sold_out].
        return self.manual_sold_out or self.quantity <= 0

    def count(self) -> dict:
        return {
            "catalog_object_id": self.variation_id, "catalog_object_type": "ITEM_VARIATION",
            "state": "IN_STOCK", "location_id": self.location_id,
            "quantity": quantity_text(self.quantity), "calculated_at": rfc3339(self.calculated_at),
        }

    def physical_count(self, quantity: Decimal, occurred_at: datetime, received_at: datetime) -> bool:
        """Record a count; False when a newer count already supersedes it."""
        if occurred_at < self.base_at:
            return False
        self.base, self.base_at = quantity, occurred_at
        self.later = [(at, delta) for at, delta in self.later if at > occurred_at]
        self.calculated_at = received_at
        return True

    def adjust(self, delta: Decimal, occurred_at: datetime, received_at: datetime) -> bool:
        """Record a delta; False when it predates the newest count (which already saw it)."""
        if occurred_at < self.base_at:
            return False
        self.later.append((occurred_at, delta))
        self.calculated_at = received_at
        return True


@dataclass
class Change:
    """One validated change to one cell: `kind` is "count" (absolute) or "delta"."""

    kind: str
    location_id: str
    variation_id: str
    quantity: Decimal
    occurred_at: datetime


class ChangeValidator:
    """Turns a BatchChangeInventory `changes` list into `Change`s, or raises with every
    error found, so a bad batch changes nothing."""

    def __init__(self, *, variation_ids: set[str], location_ids: set[str], received_at: datetime):
        self.variation_ids = variation_ids
        self.location_ids = location_ids
        self.received_at = received_at
        self.errors: list[dict] = []

    def validate(self, changes: object) -> list[Change]:
        if not isinstance(changes, list) or not changes:
            raise invalid("MISSING_REQUIRED_PARAMETER", "Field must be set: `changes`.", "changes")
        if len(changes) > MAX_CHANGES_PER_BATCH:
            raise invalid("ARRAY_LENGTH_TOO_LONG",
                          f"At most {MAX_CHANGES_PER_BATCH} changes per request.", "changes")
        result: list[Change] = []
        for index, change in enumerate(changes):
            result.extend(self._change(change, f"changes[{index}]"))
        if self.errors:
            raise SquareError.many(400, self.errors)
        return result

    def _fail(self, code: str, detail: str, field: str) -> None:
        self.errors.append({"category": "INVALID_REQUEST_ERROR", "code": code,
                            "detail": detail, "field": field})

    def _change(self, change: object, path: str) -> list[Change]:
        if not isinstance(change, dict):
            self._fail("INVALID_VALUE", "Expected an object.", path)
            return []
        kind = change.get("type")
        if kind not in CHANGE_TYPES:
            self._fail("INVALID_ENUM_VALUE", f"`{kind}` is not a valid InventoryChangeType.",
                       f"{path}.type")
            return []
        body_key = kind.lower()
        body = change.get(body_key)
        if not isinstance(body, dict):
            self._fail("MISSING_REQUIRED_PARAMETER", f"Field must be set: `{body_key}`.",
                       f"{path}.{body_key}")
            return []
        return getattr(self, f"_{body_key}")(body, f"{path}.{body_key}")

    def _physical_count(self, body: dict, path: str) -> list[Change]:
        variation = self._variation(body, path)
        location = self._location(body, path, "location_id")
        quantity = self._quantity(body, path, allow_zero=True)
        occurred_at = self._occurred_at(body, path, bounded=True)
        if body.get("state", "IN_STOCK") != "IN_STOCK":
            # [unverified] Square may accept other states for counts; Concord only counts stock.
            self._fail("INVALID_VALUE", "Only IN_STOCK counts are supported.", f"{path}.state")
        if None in (variation, location, quantity, occurred_at):
            return []
        return [Change("count", location, variation, quantity, occurred_at)]

    def _adjustment(self, body: dict, path: str) -> list[Change]:
        variation = self._variation(body, path)
        location = self._location(body, path, "location_id")
        quantity = self._quantity(body, path, allow_zero=False)
        occurred_at = self._occurred_at(body, path, bounded=False)
        sign = self._direction(body, path)
        if None in (variation, location, quantity, occurred_at, sign):
            return []
        if sign == 0:
            return []  # neither side is IN_STOCK: no count we keep changes
        return [Change("delta", location, variation, quantity * sign, occurred_at)]

    def _transfer(self, body: dict, path: str) -> list[Change]:
        variation = self._variation(body, path)
        source = self._location(body, path, "from_location_id")
        target = self._location(body, path, "to_location_id")
        quantity = self._quantity(body, path, allow_zero=False)
        occurred_at = self._occurred_at(body, path, bounded=False)
        if None in (variation, source, target, quantity, occurred_at):
            return []
        return [Change("delta", source, variation, -quantity, occurred_at),
                Change("delta", target, variation, quantity, occurred_at)]

    def _variation(self, body: dict, path: str) -> str | None:
        variation = body.get("catalog_object_id")
        if not variation:
            self._fail("MISSING_REQUIRED_PARAMETER", "Field must be set: `catalog_object_id`.",
                       f"{path}.catalog_object_id")
            return None
        if variation not in self.variation_ids:
            self._fail("INVALID_VALUE", f"Item variation `{variation}` not found.",
                       f"{path}.catalog_object_id")
            return None
        return variation

    def _location(self, body: dict, path: str, key: str) -> str | None:
        location = body.get(key)
        if not location:
            self._fail("MISSING_REQUIRED_PARAMETER", f"Field must be set: `{key}`.", f"{path}.{key}")
            return None
        if location not in self.location_ids:
            self._fail("INVALID_VALUE", f"Location `{location}` not found.", f"{path}.{key}")
            return None
        return location

    def _quantity(self, body: dict, path: str, *, allow_zero: bool) -> Decimal | None:
        raw = body.get("quantity")
        if raw is None:
            self._fail("MISSING_REQUIRED_PARAMETER", "Field must be set: `quantity`.",
                       f"{path}.quantity")
            return None
        if not isinstance(raw, str):
            self._fail("EXPECTED_STRING", "Expected a string value.", f"{path}.quantity")
            return None
        quantity = parse_quantity(raw)
        if quantity is None or quantity < 0 or (quantity == 0 and not allow_zero):
            self._fail("INVALID_VALUE", f"Invalid quantity `{raw}`.", f"{path}.quantity")
            return None
        if quantity != quantity.quantize(Decimal("0.00001")):
            self._fail("INVALID_VALUE", "At most 5 decimal places.", f"{path}.quantity")
            return None
        return quantity

    def _occurred_at(self, body: dict, path: str, *, bounded: bool) -> datetime | None:
        raw = body.get("occurred_at")
        if raw is None:
            return self.received_at
        moment = parse_rfc3339(raw)
        if moment is None:
            self._fail("INVALID_TIME", f"Invalid RFC 3339 timestamp `{raw}`.", f"{path}.occurred_at")
            return None
        too_old = moment < self.received_at - ONE_DAY
        in_future = moment > self.received_at + CLOCK_SKEW
        if bounded and (too_old or in_future):
            self._fail("INVALID_VALUE",
                       "occurred_at cannot be older than 24 hours or in the future.",
                       f"{path}.occurred_at")
            return None
        return moment

    def _direction(self, body: dict, path: str) -> int | None:
        source, target = body.get("from_state"), body.get("to_state")
        for key, state in (("from_state", source), ("to_state", target)):
            if state not in INVENTORY_STATES:
                self._fail("INVALID_ENUM_VALUE", f"`{state}` is not a valid InventoryState.",
                           f"{path}.{key}")
                return None
        if source == target:
            self._fail("INVALID_VALUE", "from_state and to_state must differ.", f"{path}.to_state")
            return None
        if source == "IN_STOCK":
            return -1
        return 1 if target == "IN_STOCK" else 0
