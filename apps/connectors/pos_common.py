"""What the Toast and Clover connectors share: stock writes without compare-and-set, what a
platform's in/out-of-stock flag says about an 86, the label the counter sees on an
injected order, settings kept per connection, and the push that follows an injection.

Neither POS takes an idempotency key or a compare-and-set on a stock write, so a push
re-reads the platform's count and writes `count + delta`. The engine re-sends an intent
under the same key after an unanswered call; to tell "that call landed" from "it did
not", each write is remembered on the item's mapping (`data["stockWrite"]`: key, the
count before, the count written) before it is sent. See `resent_write_landed` for what
this does and does not settle.
"""

from __future__ import annotations

import json
import math

from django.db import connection as db
from django.db.models import Q

from apps.connectors.adapters import StockPush
from apps.connectors.models import ExternalMapping, PlatformConnection, StockSyncState
from apps.connectors.selectors import buffer_units, push_target
from apps.inventory.selectors import get_stock_level
from apps.orders.enums import PaymentStatus

WRITE_RECORD = "stockWrite"


# ---------------------------------------------------------------- what the counter sees


def counter_label(order: dict) -> str:
    """The channel, our order number, the customer, and PAID when nothing is left to take
    (the POS gets no payment for it: neither API here takes a payment made elsewhere)."""
    tenders = order.get("tenders") or []
    paid = bool(tenders) and all(t["status"] == PaymentStatus.PAID for t in tenders)
    name = order["contact"]["name"]
    return " ".join(part for part in (f"{order['channel'].upper()} #{order['id']}", name,
                                      "PAID" if paid else "") if part)


# ---------------------------------------------------------------- connection settings


def merge_connection_settings(link: PlatformConnection, values: dict) -> None:
    """Add keys to `link.settings` in one UPDATE (`settings || values`), so concurrent
    writers of other keys never overwrite each other as a read-modify-write would."""
    table = PlatformConnection._meta.db_table
    with db.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET settings = settings || %s::jsonb WHERE id = %s",
                       [json.dumps(values), link.pk])
    link.settings = {**(link.settings or {}), **values}


# ---------------------------------------------------------------- re-sent stock writes


def remember_write(*, platform: str, link: PlatformConnection, push: StockPush,
                   before: int | None, wrote: int) -> None:
    """Record, before sending it, the write made for `push.idempotency_key`."""
    record = {WRITE_RECORD: {"key": push.idempotency_key, "before": before, "wrote": wrote}}
    rows = ExternalMapping.objects.filter(
        Q(location_id=link.location_id) | Q(location__isnull=True),
        platform=platform, kind=ExternalMapping.KIND_VARIANT, external_id=push.item.external_id,
        variant_id=push.item.variant_id,
    ).values_list("pk", flat=True)
    table = ExternalMapping._meta.db_table
    with db.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET data = data || %s::jsonb WHERE id = ANY(%s)",
                       [json.dumps(record), list(rows)])


def resent_write_landed(push: StockPush, current: int) -> bool:
    """Whether an earlier, unanswered send of this very push already changed the count.

    Only a re-send (the item's last remembered write has this push's key) can have landed.
    The platform now showing exactly what was written, and not what was there before,
    means it landed; showing what was there before means it did not. Anything else means
    the platform's own sales moved the count in between and the two cases cannot be told
    apart: then the choice that can only make the platform show *less* than it may sell
    is taken (re-apply a decrease, skip an increase), and drift detection repairs the
    shortfall later. Residual windows: the same coincidence when the platform's own
    sales moved the count by exactly the delta, and a catalog pull between the send and
    the re-send (it rewrites the mapping's data, forgetting the record: the re-send is
    then applied as new).
    """
    record = push.item.data.get(WRITE_RECORD) or {}
    if record.get("key") != push.idempotency_key:
        return False
    if current == record.get("wrote") and current != record.get("before"):
        return True
    if current == record.get("before"):
        return False
    return push.delta > 0


def count_to_write(push: StockPush, current: int | None) -> int:
    """The count a push writes over the platform's `current` one.

    `current + delta` keeps the platform's own sales that Concord has not recorded yet.
    A platform that keeps no count has none to keep: it gets the target. And the write
    never goes above the target, what Concord means the platform to offer: a platform
    showing more than Concord believes it reflects (a count that could not go below 0,
    a void at the register) must not turn that into units Concord does not have."""
    if current is None:
        return push.target
    return min(current + push.delta, push.target)


def whole_units(quantity) -> int | None:
    """A platform's count as whole units (weighed items round down: never over-promise)."""
    if quantity is None:
        return None
    return math.floor(float(quantity))


# ---------------------------------------------------------------- reading an availability flag


def sync_state(platform: str, link: PlatformConnection, variant_id: int) -> StockSyncState | None:
    return StockSyncState.objects.filter(platform=platform, location_id=link.location_id,
                                         variant_id=variant_id).first()


def concord_target(platform: str, link: PlatformConnection, variant_id: int) -> int:
    level = get_stock_level(location_id=link.location_id, variant_id=variant_id)
    return push_target(level, buffer_units(platform=platform, location_id=link.location_id))


def flag_change(*, platform: str, link: PlatformConnection, variant_id: int, available: bool
                ) -> bool | None:
    """The platform's availability flag when it differs from what Concord last knew the
    platform to show, else None (`record_platform_stock`'s `available`).

    Only a change *at the platform* is reported, so a routine count event never undoes an
    86 made in Concord that has not reached the platform yet."""
    state = sync_state(platform, link, variant_id)
    platform_was_86d = bool(state and state.pushed_86d)
    return available if available == platform_was_86d else None


def ran_out(*, platform: str, link: PlatformConnection, variant_id: int, hint: bool) -> bool:
    """Whether an item the platform shows unavailable simply has nothing left there (a
    count of 0, not an 86). `hint` is the platform's own sign of it; Concord having
    nothing to offer there is the other (the echo of Concord's own zero push)."""
    return hint or concord_target(platform, link, variant_id) == 0


# ---------------------------------------------------------------- after an injection

