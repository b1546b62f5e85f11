"""Availability out: tell each platform how much it may sell, without erasing its own sales.

A push never writes a blind absolute count. Each platform's state row remembers how much
availability it reflects from our side (`pushed_available`); a push sends the difference
between the current target and that, and the platform applies it to whatever it shows
now (a delta, or a compare-and-set it re-reads on conflict). A sale the platform made
itself lowers `pushed_available` when Concord records it, so it is neither erased nor
counted twice, whichever arrives first.

Each push is recorded as an intent (delta, compare value, idempotency key) before it is
sent, and a retry re-sends exactly that; where one call takes many pushes under one key
(Shopify), the pushes of a call share the key, are re-sent together and move on together.
Units of an order on its way to a POS stay on that POS's count until the order lands.
"""

from __future__ import annotations

import uuid

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.connectors.adapters import ItemRef, PlatformCount, StockPush, StockPushResult
from apps.connectors.http import PlatformError
from apps.connectors.locks import lock_sync_states
from apps.connectors.models import Delivery, PlatformConnection, StockSyncState
from apps.connectors.platforms import adapter_for
from apps.connectors.selectors import buffer_units, item_refs, push_target, units_awaiting_injection
from apps.connectors.services.outcomes import record_failure, record_success
from apps.connectors.services.routing import queue_stock_pushes
from apps.inventory.selectors import levels_by_variant


def sync_states(link: PlatformConnection, variant_ids) -> dict[int, StockSyncState]:
    StockSyncState.objects.bulk_create(
        [StockSyncState(platform=link.platform, location_id=link.location_id, variant_id=v)
         for v in variant_ids], ignore_conflicts=True)
    return {s.variant_id: s for s in StockSyncState.objects.filter(
        platform=link.platform, location_id=link.location_id, variant_id__in=variant_ids)}


def send_stock_pushes(link: PlatformConnection, deliveries: list[Delivery]) -> None:
    adapter = adapter_for(link)
    variant_ids = sorted({d.variant_id for d in deliveries})
    refs = item_refs(platform=link.platform, location_id=link.location_id, variant_ids=variant_ids)
    for delivery in deliveries:
        if delivery.variant_id not in refs:
            record_success(delivery, note=f"not mapped at {link.platform}: nothing to push")
    mapped = [d for d in deliveries if d.variant_id in refs]
    if not mapped:
        return
    states = sync_states(link, [d.variant_id for d in mapped])
    _take_baselines(adapter, link, [refs[v] for v, s in states.items() if s.pushed_available is None])
    sent, superseded = _send_rounds(adapter, link, refs, [d.variant_id for d in mapped])
    for delivery in mapped:
        push, result = sent.get(delivery.variant_id, (None, None))
        if push is None:
            record_success(delivery, note="already in step")
        elif result is not None and result.ok:
            record_success(delivery, note=f"delta {push.delta:+d} → target {push.target}")
            if delivery.variant_id in superseded:
                queue_stock_pushes(platform=link.platform, location_id=link.location_id,
                                   variant_ids=[delivery.variant_id])
        else:
            record_failure(delivery, _push_error(link, result))


STALE_ROUNDS = 3  # a compare that keeps failing is left to the engine's back-off


def _send_rounds(adapter, link: PlatformConnection, refs: dict[int, ItemRef], variant_ids: list[int]):
    """Plan, record and send; a push whose compare failed (it did not apply) has its next
    attempt recorded and is sent again at once, a few rounds at most. Returns variant id ->
    (push, result) of its last round, and the items whose re-sent intent was superseded."""
    sent: dict[int, tuple[StockPush, StockPushResult | None]] = {}
    superseded: set[int] = set()
    for _ in range(STALE_ROUNDS):
        pushes, older = _plan_pushes(link, refs, variant_ids=variant_ids, adapter=adapter)
        superseded |= older
        results = {r.variant_id: r for r in _send(adapter, link, pushes)} if pushes else {}
        sent.update({push.item.variant_id: (push, results.get(push.item.variant_id)) for push in pushes})
        again = _record_outcomes(link, pushes, results)
        if not again:
            break
        variant_ids = [push.item.variant_id for push in again]
    return sent, superseded


def _record_outcomes(link: PlatformConnection, pushes: list[StockPush],
                     results: dict[int, StockPushResult]) -> list[StockPush]:
    """What each push came to, all in one transaction: pushes that shared a key move on
    together, so a planner never finds some of them under the old key and some not.
    Returns the pushes whose next attempt is recorded, to send at once."""
    renewed: dict[str, str] = {}
    unfinished: list[tuple[StockPush, int | None]] = []
    with transaction.atomic():
        _lock_states(link, [push.item.variant_id for push in pushes])
        for push in pushes:
            result = results.get(push.item.variant_id)
            if result is not None and result.ok:
                _confirm(link, push, result.platform_quantity)
            elif not _push_error(link, result).retryable:
                _forget_intent(link, push)
            else:
                shown = result.stale_quantity if result is not None else None
                unfinished.append((push, shown))
                if shown is not None:
                    renewed.setdefault(push.idempotency_key, _next_key(push.idempotency_key))
        # Every unfinished push of a renewed key goes with it, read again or not.
        again = [(push, shown) for push, shown in unfinished if push.idempotency_key in renewed]
        for push, shown in again:
            _next_attempt(link, push, shown, renewed[push.idempotency_key])
    return [push for push, _ in again]


def _push_error(link: PlatformConnection, result: StockPushResult | None) -> PlatformError:
    error = result.error if result is not None else None
    if isinstance(error, PlatformError):
        return error
    return PlatformError(platform=link.platform, status=None, code="no_result", detail=repr(error),
                         retryable=True)


def _send(adapter, link: PlatformConnection, pushes: list[StockPush]):
    try:
        return adapter.push_stock(pushes)
    except PlatformError as error:
        if not error.retryable:
            with transaction.atomic():
                _lock_states(link, [push.item.variant_id for push in pushes])
                for push in pushes:
                    _forget_intent(link, push)
        raise


def _lock_states(link: PlatformConnection, variant_ids, pending_keys=()) -> list[StockSyncState]:
    return list(lock_sync_states(platform=link.platform, location_id=link.location_id,
                                 variant_ids=variant_ids, pending_keys=pending_keys))


BASELINE_BATCH = 250


def take_all_baselines(link: PlatformConnection) -> int:
    """When a platform is connected (its catalog pulled), what it shows for each mapped item
    is where deltas start. Done up front, while no sale of its is in flight, so a platform
    sale is never both in the baseline and recorded later."""
    from apps.connectors.models import ExternalMapping

    variant_ids = list(ExternalMapping.objects.filter(
        platform=link.platform, kind=ExternalMapping.KIND_VARIANT, variant__isnull=False,
    ).values_list("variant_id", flat=True).distinct())
    refs = item_refs(platform=link.platform, location_id=link.location_id, variant_ids=variant_ids)
    states = sync_states(link, list(refs))
    missing = [refs[v] for v, state in states.items() if state.pushed_available is None]
    adapter = adapter_for(link)
    for start in range(0, len(missing), BASELINE_BATCH):
        _take_baselines(adapter, link, missing[start:start + BASELINE_BATCH])
    return len(missing)


def _take_baselines(adapter, link: PlatformConnection, refs: list[ItemRef]) -> None:
    """First push for an item: what the platform shows now is where deltas start from."""
    if not refs:
        return
    counts = adapter.read_stock(refs)
    for ref in refs:
        count = counts.get(ref.variant_id, PlatformCount(quantity=None))
        StockSyncState.objects.filter(
            platform=link.platform, location_id=link.location_id, variant_id=ref.variant_id,
            pushed_available__isnull=True,
        ).update(pushed_available=count.quantity or 0, platform_quantity=count.quantity,
                 pushed_86d=not count.available, observed_at=timezone.now())


def _plan_pushes(link: PlatformConnection, refs: dict[int, ItemRef], *, variant_ids, adapter
                 ) -> tuple[list[StockPush], set[int]]:
    """One push per item that is out of step, each recorded as an intent before it is sent,
    so a retry after an unanswered call re-sends the same push under the same key. Where
    the platform takes many pushes under one key (`adapter.pushes_share_a_key`), the new
    ones share a key and an earlier call's pushes are re-sent together, as they were sent.
    Also returns the items whose re-sent intent is older than the current target."""
    buffer = buffer_units(platform=link.platform, location_id=link.location_id)
    pushes, stale = [], set()
    with transaction.atomic():
        states = _locked_states(link, variant_ids, whole_batches=adapter.pushes_share_a_key)
        variant_ids = [state.variant_id for state in states]
        _add_refs(link, refs, variant_ids)
        # Read under the states' locks: an order landing at the POS lowers
        # `pushed_available` and leaves this set in one transaction, so both are seen or neither.
        awaiting = units_awaiting_injection(link=link, variant_ids=variant_ids) \
            if adapter.decrements_stock else {}
        # Levels after that: an order placed in between lowers the level without being
        # counted as on its way, which errs towards the platform showing less, never more
        # (and its own push corrects it).
        levels = levels_by_variant(location_id=link.location_id, variant_ids=variant_ids)
        call_id, new_intents = uuid.uuid4().hex, 0
        for state in states:
            level = levels.get(state.variant_id)
            is_86d = bool(level and level.is_86d)
            target = push_target(level, buffer, awaiting.get(state.variant_id, 0))
            if is_86d and state.pushed_86d and state.pushed_available is not None:
                # The platform shows the 86 itself (it may be where it came from): its count
                # is left alone, so an un-86 there is not overwritten by our zero.
                target = state.pushed_available + (state.pending_delta or 0)
            if state.pending_delta is None:
                delta = target - state.pushed_available
                if delta == 0 and is_86d == state.pushed_86d:
                    continue
                state.pending_delta = delta
                # One key per item push, or, where one call takes many under one key, per
                # call of up to BATCH_SIZE pushes.
                state.pending_key = (f"concord-{link.platform}-{call_id}-{new_intents // BATCH_SIZE}"
                                     if adapter.pushes_share_a_key
                                     else f"concord-{link.platform}-{state.pk}-{state.pushes}")
                new_intents += 1
                state.pending_expected = state.platform_quantity
                state.save(update_fields=["pending_delta", "pending_key", "pending_expected"])
            elif state.pushed_available + state.pending_delta != target:
                stale.add(state.variant_id)
            pushes.append(StockPush(
                item=refs[state.variant_id], delta=state.pending_delta,
                target=state.pushed_available + state.pending_delta, is_86d=is_86d,
                flag_changed=is_86d != state.pushed_86d, expected_quantity=state.pending_expected,
                idempotency_key=state.pending_key,
            ))
    return pushes, stale


def _locked_states(link: PlatformConnection, variant_ids, *, whole_batches: bool) -> list[StockSyncState]:
    """The states of these items, locked; with `whole_batches`, also every state sharing
    a pending key with one of them (pushes sent together are re-sent together)."""
    if not whole_batches:
        return _lock_states(link, variant_ids)
    states = StockSyncState.objects.filter(platform=link.platform, location_id=link.location_id)
    while True:
        keys = set(states.filter(variant_id__in=variant_ids).exclude(pending_key="")
                   .values_list("pending_key", flat=True))
        locked = _lock_states(link, variant_ids, pending_keys=keys)
        # A key that moved on between the read and the lock: its other pushes may not be
        # locked yet. Once locked, no key moves (`_record_outcomes` locks them all).
        if {s.pending_key for s in locked if s.variant_id in variant_ids and s.pending_key} <= keys:
            return locked


def _add_refs(link: PlatformConnection, refs: dict[int, ItemRef], variant_ids) -> None:
    missing = [v for v in variant_ids if v not in refs]
    if missing:
        refs.update(item_refs(platform=link.platform, location_id=link.location_id, variant_ids=missing))


BATCH_SIZE = 250  # Shopify takes up to 250 changes in one call


def _confirm(link: PlatformConnection, push: StockPush, platform_quantity: int | None) -> None:
    StockSyncState.objects.filter(
        platform=link.platform, location_id=link.location_id, variant_id=push.item.variant_id,
        pending_key=push.idempotency_key,
    ).update(pushed_available=F("pushed_available") + push.delta, pending_delta=None, pending_key="",
             pending_expected=None, platform_quantity=platform_quantity, pushed_86d=push.is_86d,
             pushes=F("pushes") + 1)


def _next_key(key: str) -> str:
    return f"{key.split(':from:')[0]}:from:{uuid.uuid4().hex[:12]}"


def _next_attempt(link: PlatformConnection, push: StockPush, shown: int | None, key: str) -> None:
    """That attempt did not apply (a compare failed, or a batch-mate was refused): the next
    one compares with what the platform shows now, under a new key, recorded before it is
    sent."""
    fields = {"pending_key": key}
    if shown is not None:
        fields.update(pending_expected=shown, platform_quantity=shown)
    StockSyncState.objects.filter(
        platform=link.platform, location_id=link.location_id, variant_id=push.item.variant_id,
        pending_key=push.idempotency_key,
    ).update(**fields)


def _forget_intent(link: PlatformConnection, push: StockPush) -> None:
    """The platform refused the push outright, so it did not apply: plan afresh next time."""
    StockSyncState.objects.filter(
        platform=link.platform, location_id=link.location_id, variant_id=push.item.variant_id,
        pending_key=push.idempotency_key,
    ).update(pending_delta=None, pending_key="", pending_expected=None, pushes=F("pushes") + 1)


def start_stock_sync_over(link: PlatformConnection) -> int:
    """The platform's counts started over on their own (a restored account; the demo's
    emulators, which keep nothing between runs): forget what was pushed to it, take what
    it shows as the baselines again, and push every mapped item. Returns how many."""
    states = StockSyncState.objects.filter(platform=link.platform, location_id=link.location_id)
    states.delete()
    take_all_baselines(link)
    variant_ids = list(states.values_list("variant_id", flat=True))
    queue_stock_pushes(platform=link.platform, location_id=link.location_id, variant_ids=variant_ids)
    return len(variant_ids)


def count_platform_sale(*, platform: str, location_id: int, variant_id: int, quantity: int) -> None:
    """A sale the platform made (and already took off its own count) has been recorded.
    What it shows went down by as much, as far as we know: the next compare uses that."""
    StockSyncState.objects.filter(
        platform=platform, location_id=location_id, variant_id=variant_id, pushed_available__isnull=False,
    ).update(pushed_available=F("pushed_available") - quantity,
             platform_quantity=F("platform_quantity") - quantity)  # an unknown count stays unknown


def count_platform_restock(*, platform: str, location_id: int, variant_id: int, quantity: int) -> None:
    """The platform gave an order's units back to its own count (a void or cancel there):
    what it shows went up by as much, so the next push does not add them again."""
    count_platform_sale(platform=platform, location_id=location_id, variant_id=variant_id,
                        quantity=-quantity)


def rebase_on_platform_count(*, platform: str, location_id: int, variant_id: int, quantity: int) -> None:
    """Drift repair: start deltas from what the platform shows now."""
    StockSyncState.objects.get_or_create(platform=platform, location_id=location_id, variant_id=variant_id)
    StockSyncState.objects.filter(platform=platform, location_id=location_id, variant_id=variant_id,
                                  pending_delta__isnull=True).update(
        pushed_available=quantity, platform_quantity=quantity, observed_at=timezone.now())
