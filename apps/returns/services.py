"""THE refund path: every refund of every channel's order, whoever asks for it.

refund_order plans a refund under the order's row lock (what each returned unit is worth,
what is still refundable, how the money splits over the tenders), raises the order's
refund counters by conditional UPDATEs (apps.orders.services.claim_refunded, which refuse
to pass what was paid), and then carries it out: stored value and points back at once,
cash as a drawer payout record, card money to the platform that took it (an outbox row
the delivery engine sends) or, where no API can refund it, a manual_refund_required
exception saying what staff must do. Returned units marked for restock go back on hand at
the location that took the return; earned points are taken back in proportion.

The split over tenders is proportional: each paid tender gives back the refund's share of
what it still has to give (largest remainder, apps.core.money.allocate), so a partial
refund of a card + gift card order returns some to each, and a full refund returns each
tender exactly what it paid. A customer-service refund above REFUND_APPROVAL_LIMIT holds
its claim on the counters (so nothing else can refund that money meanwhile) and waits in
an approval_required exception; nothing is given back or sent until approve_refund.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from apps.core import money, topics
from apps.core.enums import ApiRole, ExceptionKind
from apps.core.errors import InvalidTransition, NotFound, ValidationFailed
from apps.core.services import open_exception, record_audit, resolve_exceptions_by_key, write_outbox
from apps.customers import services as customers
from apps.inventory.services import restock_returned_units
from apps.orders.enums import STORED_VALUE_TENDERS, OrderStatus, PaymentStatus, StockMode, TenderType
from apps.orders.exceptions import ExceedsRefundable
from apps.orders.locks import lock_order
from apps.orders.models import Order, OrderLine, Payment
from apps.orders.services import LineClaim, claim_refunded, release_refunded
from apps.returns.enums import DRAWER_PAYOUT_PREFIX, PLATFORMS_WITH_REFUND_API, RefundPartStatus, RefundStatus
from apps.returns.models import Refund, RefundLine, RefundPart


@dataclass(frozen=True)
class ReturnLineInput:
    line: int  # the order line's number, from 1
    quantity: int
    restock: bool = False


@dataclass(frozen=True)
class PlatformOrigin:
    """A refund a platform made itself: its name, its id for the refund, and our payment
    (the tender) it gave the money back to."""

    platform: str
    refund_id: str
    payment_id: int


@dataclass(frozen=True)
class _PlannedLine:
    order_line: OrderLine
    quantity: int
    amount: int
    tax: int
    discount: int
    restock: bool


@dataclass(frozen=True)
class _PlannedPart:
    payment: Payment
    amount: int
    points: int


@dataclass(frozen=True)
class RefundPreview:
    """What refund_order would do for the same inputs now: the money, each line's share,
    each tender's part, and whether it would wait for approval."""

    order: Order
    amount: int
    lines: list[_PlannedLine]
    parts: list[_PlannedPart]
    needs_approval: bool


def refund_order(*, order_id: int, lines: Sequence[ReturnLineInput] = (), amount: int | None = None,
                 reason: str = "", return_location_id: int | None = None, actor: str = "",
                 actor_role: str = "", api_client_id: int | None = None,
                 idempotency_key: str = "", origin: PlatformOrigin | None = None,
                 exchange_credit_up_to: int = 0) -> Refund:
    """Refund units of lines (a return) or an amount of money alone, once per key.

    With `exchange_credit_up_to`, an exchange keeps up to that much of the refund to pay
    its new order (apps.returns.exchanges): those parts complete at once as exchange credit,
    and only the rest goes back to the tenders (and may need approval).

    With `origin`, a refund a platform already made (at a POS, in Shopify's admin) is
    recorded: the lines it names share the amount it gave back, all of which comes from the
    one payment it refunded; that part is already completed there, so nothing is sent, and
    it never waits for approval."""
    if origin is None and bool(lines) == (amount is not None):
        raise ValidationFailed("Name the lines to return or an amount of money, one of the two.",
                               field="lines")
    with transaction.atomic():
        order = lock_order(order_id)
        if idempotency_key:
            existing = Refund.objects.filter(order=order, idempotency_key=idempotency_key).first()
            if existing is not None:
                return existing
        planned_lines, total, parts = _plan(order, lines, amount)
        if origin is not None:
            parts = _origin_parts(order, origin, total)
        refund = Refund.objects.create(
            order=order, status=RefundStatus.PENDING, amount=total, currency=order.currency,
            reason=reason[:255], return_location_id=return_location_id or order.location_id,
            actor=actor[:100], actor_role=actor_role, api_client_id=api_client_id,
            idempotency_key=idempotency_key)
        given_back, kept = _set_aside_for_exchange(parts, min(total, exchange_credit_up_to))
        _write_lines_and_parts(refund, planned_lines, given_back)
        _write_exchange_credit_parts(refund, kept)
        claim_refunded(order_id=order.pk, amount=total,
                       tender_amounts={p.payment.pk: p.amount for p in parts},
                       lines=[LineClaim(p.order_line.pk, p.quantity, p.amount) for p in planned_lines])
        if origin is None and _needs_approval(actor_role, sum(p.amount for p in given_back)):
            _await_approval(refund, order)
        else:
            _carry_out(refund, order, origin)
        record_audit(action="refund.created", obj=refund, actor_label=actor, actor_client=refund.api_client,
                     data={"order": order.pk, "amount": total, "status": refund.status})
    return refund


def approve_refund(*, refund_id: int, actor: str = "") -> Refund:
    """A manager or admin lets a refund above the limit go ahead: it is carried out now."""
    with transaction.atomic():
        refund = _refund_for_decision(refund_id)
        order = lock_order(refund.order_id)
        _move(refund, RefundStatus.AWAITING_APPROVAL, RefundStatus.PENDING, decided_by=actor)
        resolve_exceptions_by_key(dedupe_key=approval_exception_key(refund),
                                  reason=f"Approved by {actor or 'staff'}.")
        _carry_out(refund, order)
        record_audit(action="refund.approved", obj=refund, actor_label=actor)
    return refund


def reject_refund(*, refund_id: int, actor: str = "", reason: str = "") -> Refund:
    """A refund above the limit is refused: its claim on the order's counters is released."""
    with transaction.atomic():
        refund = _refund_for_decision(refund_id)
        lock_order(refund.order_id)
        _move(refund, RefundStatus.AWAITING_APPROVAL, RefundStatus.REJECTED, decided_by=actor)
        release_refunded(order_id=refund.order_id, amount=refund.amount,
                         tender_amounts={p.payment_id: p.amount for p in refund.parts.all()},
                         lines=[LineClaim(line.order_line_id, line.quantity, line.amount)
                                for line in refund.lines.all()])
        resolve_exceptions_by_key(dedupe_key=approval_exception_key(refund),
                                  reason=f"Rejected by {actor or 'staff'}. {reason}".strip())
        record_audit(action="refund.rejected", obj=refund, actor_label=actor, data={"reason": reason})
    return refund


def complete_refund_part(*, part_id: int, reference: str = "", actor: str = "") -> RefundPart:
    """A part is done: staff refunded it at the POS, or the platform confirmed it. Once."""
    with transaction.atomic():
        part = RefundPart.objects.select_related("refund").get(pk=part_id)
        lock_order(part.refund.order_id)
        updated = RefundPart.objects.filter(
            pk=part.pk, status__in=[RefundPartStatus.PENDING, RefundPartStatus.SENT,
                                    RefundPartStatus.MANUAL_REQUIRED, RefundPartStatus.FAILED],
            refund__status__in=[RefundStatus.PENDING, RefundStatus.FAILED],
        ).update(status=RefundPartStatus.COMPLETED, reference=reference[:255] or part.reference)
        part.refresh_from_db()
        if updated:
            resolve_exceptions_by_key(dedupe_key=manual_refund_exception_key(part),
                                      reason=f"Refunded by {actor or 'staff'}.")
            _complete_if_settled(part.refund)
            record_audit(action="refund.part_completed", obj=part, actor_label=actor,
                         data={"reference": part.reference})
    return part


# Planning: what the refund is worth and where its money goes.

def preview_refund(*, order_id: int, lines: Sequence[ReturnLineInput] = (), amount: int | None = None,
                   actor_role: str = "") -> RefundPreview:
    """A dry run of refund_order's planning, writing nothing (the back office shows it before
    the refund is confirmed). It raises what refund_order would raise for the same inputs."""
    if bool(lines) == (amount is not None):
        raise ValidationFailed("Name the lines to return or an amount of money, one of the two.",
                               field="lines")
    order = Order.objects.select_related("location").filter(pk=order_id).first()
    if order is None:
        raise NotFound(f"No order {order_id}.")
    planned_lines, total, parts = _plan(order, lines, amount)
    return RefundPreview(order=order, amount=total, lines=planned_lines, parts=parts,
                         needs_approval=_needs_approval(actor_role, total))


def _plan(order: Order, lines: Sequence[ReturnLineInput], amount: int | None
          ) -> tuple[list[_PlannedLine], int, list[_PlannedPart]]:
    planned_lines = _plan_lines(order, lines) if lines else []
    total = _refund_total(order, planned_lines, amount)
    if planned_lines:
        planned_lines = _fit_lines(planned_lines, total)
    return planned_lines, total, _split_over_tenders(order, total)


def _plan_lines(order: Order, lines: Sequence[ReturnLineInput]) -> list[_PlannedLine]:
    by_number = {line.line_number: line for line in order.lines.all()}
    seen: set[int] = set()
    planned = []
    for index, wanted in enumerate(lines):
        field = f"lines[{index}]"
        order_line = by_number.get(wanted.line)
        if order_line is None:
            raise ValidationFailed(f"The order has no line {wanted.line}.", field=f"{field}.line")
        if wanted.line in seen:
            raise ValidationFailed(f"Line {wanted.line} is named twice.", field=f"{field}.line")
        seen.add(wanted.line)
        if wanted.quantity <= 0:
            raise ValidationFailed("Return at least one unit.", field=f"{field}.quantity")
        if wanted.restock and not _units_left_the_store(order):
            raise ValidationFailed(
                "The order's units never left stock (it is not fulfilled, or was canceled and "
                "its units already went back): refund without restock.",
                field=f"{field}.restock", extra={"code": "nothing_to_restock"})
        left = order_line.quantity - order_line.refunded_quantity
        if wanted.quantity > left:
            raise ExceedsRefundable(
                f"Line {wanted.line} has {left} units left to refund.", field=f"{field}.quantity",
                extra={"refundable_quantity": left,
                       "refundable": {"amount": _refundable(order), "currency": order.currency}})
        planned.append(_worth_of_units(order_line, wanted.quantity, wanted.restock))
    return planned


def _units_left_the_store(order: Order) -> bool:
    """A sale already made, or a reservation handed over: only then can units come back."""
    return order.status != OrderStatus.CANCELED and (
        order.stock_mode == StockMode.SOLD or order.status == OrderStatus.FULFILLED)


def _worth_of_units(line: OrderLine, quantity: int, restock: bool) -> _PlannedLine:
    """Net plus tax of the units, their tax and discount share, cumulatively (money module)."""
    steps = dict(done=line.refunded_quantity, more=quantity, whole=line.quantity)
    amount = money.cumulative_share(line.net_amount + line.tax_amount, **steps)
    tax = money.cumulative_share(line.tax_amount, **steps)
    return _PlannedLine(order_line=line, quantity=quantity, restock=restock,
                        amount=min(amount, line.net_amount + line.tax_amount - line.refunded_amount),
                        tax=min(tax, amount), discount=money.cumulative_share(line.discount_amount, **steps))


def _refundable(order: Order) -> int:
    return sum(p.amount - p.refunded_amount for p in _paid_tenders(order))


def _paid_tenders(order: Order) -> list[Payment]:
    return [p for p in order.payments.order_by("pk") if p.status == PaymentStatus.PAID]


def _refund_total(order: Order, planned: list[_PlannedLine], amount: int | None) -> int:
    refundable = _refundable(order)
    if amount is None:
        # Units whose money was already given back (a goodwill refund) come back for what is left.
        return min(sum(p.amount for p in planned), refundable)
    if amount <= 0:
        raise ValidationFailed("Refund a positive amount.", field="amount.amount")
    if amount > refundable:
        raise ExceedsRefundable(f"Only {refundable} is left to refund.", field="amount.amount",
                                extra={"refundable": {"amount": refundable, "currency": order.currency}})
    return amount


def _fit_lines(planned: list[_PlannedLine], total: int) -> list[_PlannedLine]:
    """Lines worth more than is left to refund share what is left, so they add up to it."""
    worth = [p.amount for p in planned]
    if sum(worth) == total:
        return planned
    fitted = money.allocate(total, worth) if total and sum(worth) else [0] * len(planned)
    return [_PlannedLine(order_line=p.order_line, quantity=p.quantity, amount=a, tax=min(p.tax, a),
                         discount=p.discount, restock=p.restock)
            for p, a in zip(planned, fitted, strict=True)]


def _split_over_tenders(order: Order, total: int) -> list[_PlannedPart]:
    tenders = [p for p in _paid_tenders(order) if p.amount > p.refunded_amount]
    if not total or not tenders:
        return []
    shares = money.allocate(total, [p.amount - p.refunded_amount for p in tenders])
    return [_PlannedPart(payment=p, amount=share, points=_points_back(p, share))
            for p, share in zip(tenders, shares, strict=True) if share]


def _points_back(payment: Payment, share: int) -> int:
    if payment.tender_type != TenderType.LOYALTY or not payment.amount:
        return 0
    return money.cumulative_share(payment.points, done=payment.refunded_amount, more=share,
                                  whole=payment.amount)


def _write_lines_and_parts(refund: Refund, planned: list[_PlannedLine], parts: list[_PlannedPart]) -> None:
    RefundLine.objects.bulk_create([
        RefundLine(refund=refund, order_line=p.order_line, quantity=p.quantity, amount=p.amount,
                   tax_amount=p.tax, discount_amount=p.discount, restock=p.restock,
                   location_id=refund.return_location_id if p.restock else None)
        for p in planned])
    RefundPart.objects.bulk_create([
        RefundPart(refund=refund, payment=p.payment, amount=p.amount, points=p.points,
                   platform=p.payment.platform, status=RefundPartStatus.PENDING)
        for p in parts])


def _set_aside_for_exchange(parts: list[_PlannedPart], kept: int
                            ) -> tuple[list[_PlannedPart], list[_PlannedPart]]:
    """Each tender's part gives its share of `kept` (largest remainder) to the exchange's new
    order; only the rest goes back to it, with the points that rest is worth."""
    if kept <= 0 or not parts:
        return parts, []
    shares = money.allocate(kept, [p.amount for p in parts])
    given_back, kept_parts = [], []
    for part, share in zip(parts, shares, strict=True):
        rest = part.amount - share
        if share:
            kept_parts.append(_PlannedPart(payment=part.payment, amount=share, points=0))
        if rest:
            points = (money.cumulative_share(part.payment.points, done=part.payment.refunded_amount + share,
                                             more=rest, whole=part.payment.amount)
                      if part.points else 0)
            given_back.append(_PlannedPart(payment=part.payment, amount=rest, points=points))
    return given_back, kept_parts


def _write_exchange_credit_parts(refund: Refund, kept: list[_PlannedPart]) -> None:
    RefundPart.objects.bulk_create([
        RefundPart(refund=refund, payment=p.payment, amount=p.amount, platform="",
                   status=RefundPartStatus.COMPLETED, reference=f"exchange-credit:refund-{refund.pk}")
        for p in kept])


# Approval.

def _needs_approval(actor_role: str, total: int) -> bool:
    return actor_role == ApiRole.CUSTOMER_SERVICE and total > settings.REFUND_APPROVAL_LIMIT


def _await_approval(refund: Refund, order: Order) -> None:
    Refund.objects.filter(pk=refund.pk).update(status=RefundStatus.AWAITING_APPROVAL)
    refund.status = RefundStatus.AWAITING_APPROVAL
    open_exception(
        kind=ExceptionKind.APPROVAL_REQUIRED, dedupe_key=approval_exception_key(refund),
        title=f"Refund #{refund.pk} of order #{order.pk} needs a manager's approval",
        detail=(f"{refund.actor or 'Customer service'} asked to refund "
                f"{money.decimal_string(refund.amount, refund.currency)} {refund.currency}, above the "
                f"limit of {money.decimal_string(settings.REFUND_APPROVAL_LIMIT, refund.currency)}. "
                f"Approve or reject it (manage.py approve_refund {refund.pk} [--reject])."),
        location_code=order.location.code, value_amount=refund.amount, currency=refund.currency,
        data={"refund_id": refund.pk, "order_id": order.pk})


def approval_exception_key(refund: Refund) -> str:
    """The dedupe key of the approval_required exception of `refund` (the pages find it by it)."""
    return f"refund-approval:{refund.pk}"


def manual_refund_exception_key(part: RefundPart) -> str:
    """The dedupe key of the exception asking staff to give `part`'s money back by hand."""
    return f"refund-part:{part.pk}"


def _refund_for_decision(refund_id: int) -> Refund:
    refund = Refund.objects.filter(pk=refund_id).first()
    if refund is None:
        raise NotFound(f"No refund {refund_id}.")
    return refund


def _move(refund: Refund, current: str, new: str, *, decided_by: str = "") -> None:
    updated = Refund.objects.filter(pk=refund.pk, status=current).update(
        status=new, decided_by=decided_by[:100])
    if updated != 1:
        now = Refund.objects.get(pk=refund.pk).status
        raise InvalidTransition(f"Refund {refund.pk} is {now}, not {current}.")
    refund.status, refund.decided_by = new, decided_by


# Carrying out: each part where its money was taken, stock, points; then done or pending.

def _carry_out(refund: Refund, order: Order, origin: PlatformOrigin | None = None) -> None:
    # A part already completed (an exchange's credit) has nothing left to give back.
    open_parts = refund.parts.exclude(status=RefundPartStatus.COMPLETED)
    for part in open_parts.select_related("payment").order_by("pk"):
        if origin is not None:
            _set_part(part, RefundPartStatus.COMPLETED, origin.refund_id)
        else:
            _give_back(part, refund, order)
    _restock(refund, order)
    _reverse_earned_points(refund, order)
    _complete_if_settled(refund)


def _give_back(part: RefundPart, refund: Refund, order: Order) -> None:
    payment = part.payment
    reference = f"refund-{refund.pk}-part-{part.pk}"
    if payment.tender_type in STORED_VALUE_TENDERS and payment.stored_value_account_id:
        customers.refund_to_stored_value(account_id=payment.stored_value_account_id, amount=part.amount,
                                         refund_reference=reference, order_id=order.pk, actor=refund.actor)
        _set_part(part, RefundPartStatus.COMPLETED, reference)
    elif payment.tender_type == TenderType.LOYALTY and order.customer_id is not None:
        entry = customers.return_points(customer_id=order.customer_id, order_id=order.pk,
                                        refund_reference=reference, points=part.points, actor=refund.actor)
        Refund.objects.filter(pk=refund.pk).update(points_returned=refund.points_returned
                                                   + (entry.points if entry else 0))
        refund.refresh_from_db(fields=["points_returned"])
        _set_part(part, RefundPartStatus.COMPLETED, reference)
    elif payment.tender_type == TenderType.CASH:
        # A drawer payout: the part is its record, and the till pays it out.
        _set_part(part, RefundPartStatus.COMPLETED, f"{DRAWER_PAYOUT_PREFIX}{reference}")
    elif payment.platform in PLATFORMS_WITH_REFUND_API and payment.reference:
        payload: topics.RefundPartPayload = {"refund_id": refund.pk, "part_id": part.pk, "order_id": order.pk,
                                             "platform": payment.platform}
        write_outbox(topic=topics.REFUND_PART_REQUESTED, aggregate_type="RefundPart", aggregate_id=part.pk,
                     payload=payload)
    else:
        _set_part(part, RefundPartStatus.MANUAL_REQUIRED, "")
        _ask_for_manual_refund(part, refund, order)


def _set_part(part: RefundPart, status: str, reference: str) -> None:
    RefundPart.objects.filter(pk=part.pk).update(status=status, reference=reference[:255])
    part.status, part.reference = status, reference


def _ask_for_manual_refund(part: RefundPart, refund: Refund, order: Order) -> None:
    payment = part.payment
    value = f"{money.decimal_string(part.amount, refund.currency)} {refund.currency}"
    paid_with = f"{payment.get_tender_type_display().lower()} payment {payment.reference or '(no reference)'}"
    where = {
        "toast": "at the Toast POS (Toast has no refund API)",
        "clover": "on the Clover device (Clover has no API refund for card-present payments)",
    }.get(payment.platform)
    if where is None:
        where = (f"through the processor that took it ({payment.platform or 'outside the four platforms'})"
                 if payment.reference else f"by hand at {order.location.name}")
    open_exception(
        kind=ExceptionKind.MANUAL_REFUND_REQUIRED, dedupe_key=manual_refund_exception_key(part),
        title=f"Refund {value} of order #{order.pk} {where}",
        detail=(f"Refund {value} to {paid_with} {where}, then mark refund part {part.pk} done. "
                f"Refund #{refund.pk}: {refund.reason or 'no reason given'}."),
        platform=payment.platform, location_code=order.location.code, value_amount=part.amount,
        currency=refund.currency,
        data={"refund_id": refund.pk, "part_id": part.pk, "order_id": order.pk, "payment_id": payment.pk,
              "payment_reference": payment.reference})


def _restock(refund: Refund, order: Order) -> None:
    quantities: dict[int, int] = {}
    for line in refund.lines.filter(restock=True).select_related("order_line"):
        variant_id = line.order_line.variant_id
        quantities[variant_id] = quantities.get(variant_id, 0) + line.quantity
    if quantities:
        restock_returned_units(location_id=refund.return_location_id or order.location_id,
                               quantities=quantities, order_id=order.pk, reference=f"refund:{refund.pk}",
                               actor=refund.actor)


def _reverse_earned_points(refund: Refund, order: Order) -> None:
    if not (order.customer_id and order.loyalty_points_earned and refund.amount and order.total_amount):
        return
    entry = customers.reverse_points(customer_id=order.customer_id, order_id=order.pk,
                                     refund_reference=f"refund-{refund.pk}", refunded_amount=refund.amount,
                                     order_total=order.total_amount, actor=refund.actor)
    if entry is not None:
        Refund.objects.filter(pk=refund.pk).update(points_reversed=-entry.points)
        refund.points_reversed = -entry.points


def _complete_if_settled(refund: Refund) -> None:
    if refund.parts.exclude(status=RefundPartStatus.COMPLETED).exists():
        return
    if Refund.objects.filter(pk=refund.pk, status__in=[RefundStatus.PENDING, RefundStatus.FAILED]
                             ).update(status=RefundStatus.COMPLETED):
        refund.status = RefundStatus.COMPLETED
        payload: topics.RefundPayload = {"refund_id": refund.pk, "order_id": refund.order_id,
                                         "amount": refund.amount, "currency": refund.currency}
        write_outbox(topic=topics.REFUND_COMPLETED, aggregate_type="Refund", aggregate_id=refund.pk,
                     payload=payload)


# The platform's answers about a part Concord sent (the delivery engine and the webhooks).

def mark_refund_part_sent(*, part_id: int, reference: str) -> RefundPart:
    """The platform took the part as its refund `reference` and has not confirmed it yet."""
    RefundPart.objects.filter(pk=part_id, status=RefundPartStatus.PENDING).update(
        status=RefundPartStatus.SENT, reference=reference[:255])
    RefundPart.objects.filter(pk=part_id, reference="").update(reference=reference[:255])
    return RefundPart.objects.get(pk=part_id)


def fail_refund_part(*, part_id: int, reference: str = "", reason: str = "") -> RefundPart:
    """The platform refused or failed the part's refund: the money did not go back. The
    part and its refund are failed, and staff are asked to give the money back another way
    (then mark the part done, which completes the refund). Once."""
    with transaction.atomic():
        part = RefundPart.objects.select_related("refund", "payment").get(pk=part_id)
        order = lock_order(part.refund.order_id)
        updated = RefundPart.objects.filter(
            pk=part.pk, status__in=[RefundPartStatus.PENDING, RefundPartStatus.SENT],
        ).update(status=RefundPartStatus.FAILED, reference=reference[:255] or part.reference)
        part.refresh_from_db()
        if updated:
            Refund.objects.filter(pk=part.refund_id, status=RefundStatus.PENDING).update(
                status=RefundStatus.FAILED)
            _ask_to_redo_failed_part(part, order, reason)
            record_audit(action="refund.part_failed", obj=part, actor_label=part.platform,
                         data={"reference": part.reference, "reason": reason})
    return part


def _ask_to_redo_failed_part(part: RefundPart, order: Order, reason: str) -> None:
    value = f"{money.decimal_string(part.amount, part.refund.currency)} {part.refund.currency}"
    open_exception(
        kind=ExceptionKind.MANUAL_REFUND_REQUIRED, dedupe_key=manual_refund_exception_key(part),
        title=f"{part.platform.capitalize()} did not refund {value} of order #{order.pk}",
        detail=(f"{part.platform.capitalize()} answered refund {part.reference or '(no id)'} of payment "
                f"{part.payment.reference} with {reason or 'a failure'}. Give the money back another "
                f"way, then mark refund part {part.pk} done."),
        platform=part.platform, location_code=order.location.code, value_amount=part.amount,
        currency=part.refund.currency,
        data={"refund_id": part.refund_id, "part_id": part.pk, "order_id": order.pk,
              "payment_id": part.payment_id, "payment_reference": part.payment.reference})


def _origin_parts(order: Order, origin: PlatformOrigin, total: int) -> list[_PlannedPart]:
    """The one part of a refund the platform made: the payment it refunded gives it all."""
    payment = next((p for p in _paid_tenders(order) if p.pk == origin.payment_id), None)
    left = payment.amount - payment.refunded_amount if payment else 0
    if payment is None or total > left:
        raise ExceedsRefundable(f"The payment the {origin.platform} refund names has {left} left to refund.",
                                field="amount.amount",
                                extra={"refundable": {"amount": left, "currency": order.currency}})
    return [_PlannedPart(payment=payment, amount=total, points=0)] if total else []
