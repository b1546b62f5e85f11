"""Exchanges: a return plus a new order that settles only the difference.

exchange_order does it all in one transaction: it prices the new order, returns the goods
through the one refund path (refund_order) asking it to keep up to the new order's total
as exchange credit, then places the new order (orders.place_order: stock reserved like any
order, all or nothing) paid by an `exchange` tender worth that credit plus the caller's
tenders for the rest. So an even exchange moves no money; a dearer new order is paid only
the difference; a cheaper one sends the difference back to the original tenders as a
normal refund part. Anything refused (short stock, tenders that do not add up, above the
refund limit) rolls everything back, the refund included.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import replace

from django.db import transaction

from apps.core import money
from apps.core.errors import DomainError, ValidationFailed
from apps.inventory.selectors import get_location
from apps.orders.enums import TenderType
from apps.orders.exceptions import TendersMismatch
from apps.orders.locks import lock_order
from apps.orders.models import Order
from apps.orders.services import CustomerInput, OrderInput, TenderInput, place_order
from apps.orders.services.pricing import apply_discounts_and_tax, price_lines
from apps.returns.enums import RefundStatus
from apps.returns.exceptions import ExchangeNeedsApproval
from apps.returns.models import Exchange, Refund
from apps.returns.services import ReturnLineInput, refund_order


def exchange_order(*, order_id: int, returned: Sequence[ReturnLineInput], new_order: OrderInput, client,
                   idempotency_key: str, reason: str = "", return_location_id: int | None = None
                   ) -> Exchange:
    """Return `returned` units of the order and place `new_order` for the same customer,
    its tenders paying only what the returned goods do not cover. Once per key."""
    if not returned:
        raise ValidationFailed("Name the lines to return.", field="return.lines", extra={"code": "required"})
    if not idempotency_key:
        raise ValidationFailed("An exchange needs an idempotency key.", field="Idempotency-Key",
                               extra={"code": "idempotency_key_missing"})
    with transaction.atomic():
        existing = _existing(client, idempotency_key)
        if existing is not None:
            return existing
        original = lock_order(order_id)
        with _fields_within("order"):
            new_total = _new_order_total(new_order, original)
        with _fields_within("return"):
            refund = refund_order(
                order_id=original.pk, lines=returned, reason=reason, return_location_id=return_location_id,
                actor=f"api:{client.pk}", actor_role=client.role, api_client_id=client.pk,
                idempotency_key=f"exchange:{client.pk}:{idempotency_key}", exchange_credit_up_to=new_total)
        if refund.status == RefundStatus.AWAITING_APPROVAL:
            raise ExchangeNeedsApproval(
                f"The exchange would give back {refund.amount - new_total} {original.currency}, above "
                "your refund limit: refund that on its own (it waits for approval), then exchange.")
        credit = min(refund.amount, new_total)
        with _fields_within("order"):
            paid = _paid_with_credit(new_order, original, refund, credit)
            try:
                placed = place_order(client=client, order=paid, idempotency_key=_order_key(idempotency_key),
                                     request_hash="")
            except TendersMismatch as error:
                raise _difference_mismatch(error, new_total=new_total, credit=credit,
                                           currency=original.currency) from None
        return Exchange.objects.create(
            refund=refund, new_order_id=placed.body["id"], credit_amount=credit,
            difference=new_total - refund.amount, currency=original.currency, api_client=client,
            idempotency_key=idempotency_key, actor=f"api:{client.pk}")


def _difference_mismatch(error: TendersMismatch, *, new_total: int, credit: int, currency: str
                         ) -> TendersMismatch:
    """The new order's mismatch told as the exchange's: its tenders include the credit the
    caller never sent, so say what the returned goods cover and what is left to pay. `total`
    and `tendered` stay as the new order's (the credit counted), so total - tendered is still
    what is missing; `credit` and `to_pay` are added."""
    tendered = error.extra["tendered"]["amount"]

    def amount(value: int) -> str:
        return f"{money.decimal_string(value, currency)} {currency}"

    return TendersMismatch(
        f"The returned goods pay {amount(credit)} of the new order's {amount(new_total)}: the tenders "
        f"must pay the other {amount(new_total - credit)}, not {amount(tendered - credit)}.", field="tenders",
        extra={name: {"amount": value, "currency": currency} for name, value in (
            ("total", new_total), ("credit", credit), ("to_pay", new_total - credit),
            ("tendered", tendered))})


@contextmanager
def _fields_within(part: str):
    """An error about the return or the new order names its field inside that part of the
    exchange (`order.lines[0].quantity`), as the API body nests them."""
    try:
        yield
    except DomainError as error:
        for item in error.as_errors():  # a list of errors is kept: its items change in place
            if item.get("field") and not item["field"].startswith(f"{part}."):
                item["field"] = f"{part}.{item['field']}"
        if error.field and not error.field.startswith(f"{part}."):
            error.field = f"{part}.{error.field}"
        raise


def _existing(client, idempotency_key: str) -> Exchange | None:
    return Exchange.objects.filter(api_client=client, idempotency_key=idempotency_key).first()


def _new_order_total(new_order: OrderInput, original: Order) -> int:
    """What the new order will cost, priced as place_order prices it (catalog, discounts, tax)."""
    location = get_location(new_order.location_code)
    if location.currency != original.currency:
        raise ValidationFailed(f"The order was paid in {original.currency}; {location.code} sells in "
                               f"{location.currency}.", field="location",
                               extra={"code": "currency_mismatch"})
    priced = price_lines(location=location, lines=new_order.lines)
    return apply_discounts_and_tax(priced=priced, lines=new_order.lines,
                                   order_discounts=new_order.discounts, location=location).total


def _paid_with_credit(new_order: OrderInput, original: Order, refund: Refund, credit: int) -> OrderInput:
    """The new order, for the original's customer unless it names one, with the credit as its
    last tender (so the caller's tenders keep their indexes in errors)."""
    tenders = new_order.tenders
    if credit:
        tenders = (*tenders, TenderInput(type=TenderType.EXCHANGE, amount=credit, currency=original.currency,
                                         reference=f"refund-{refund.pk}"))
    customer = new_order.customer
    if customer == CustomerInput():
        customer = CustomerInput(name=original.customer_name, phone=original.customer_phone,
                                 email=original.customer_email)
    return replace(new_order, tenders=tenders, customer=customer)


def _order_key(idempotency_key: str) -> str:
    """The new order's own idempotency record. Clients' keys are stripped (validate_key), so
    one that starts with a space is never theirs; the digest keeps it within the column."""
    return f" exchange:{hashlib.sha256(idempotency_key.encode()).hexdigest()}"
