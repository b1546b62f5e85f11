"""POST /api/v1/orders' body read without DRF, for the bodies DRF would take as they are.

DRF builds a fresh copy of OrderCreateInput's whole field tree (tenders, discounts, money
and all) for every request, which cost more than a millisecond of the order path. This
reader follows the same rules as the serializers in apps/orders/api.py, field for field,
and returns the same validated data; whatever it does not accept as it stands (an error,
a value DRF would trim or coerce, an unknown field) it leaves to the serializer, which
then decides and words the error exactly as before. So it may be stricter than DRF,
never looser: tests/api/test_order_body.py holds the two side by side.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from rest_framework import serializers

from apps.orders.enums import FulfillmentType

REQUIRED = object()  # no default: the field must be given
OMITTED = object()  # no default: a field not given stays out of the data


class _LeaveToSerializer(Exception):
    """This body is not one the reader takes as it stands."""


Reader = Callable[[Any], Any]


def order_body_reader(*, fulfillment_types, tender_types) -> Callable[[Any], dict | None]:
    """A reader of OrderCreateInput's body: its validated data, or None when the
    serializer must read it."""
    read_order = _order(fulfillment_types, tender_types)

    def read(data) -> dict | None:
        try:
            return read_order(data)
        except _LeaveToSerializer:
            return None
    return read


# ---------------------------------------------------------------- values


def _text(max_length: int, *, min_length: int = 0, blank: bool = False) -> Reader:
    """StrictCharField: a string DRF keeps as it is (nothing to trim, printable)."""
    def read(value):
        if type(value) is not str or value != value.strip() or not (value or blank):
            raise _LeaveToSerializer
        if not min_length <= len(value) <= max_length or (value and not value.isprintable()):
            raise _LeaveToSerializer
        return value
    return read


def _integer(minimum: int, maximum: int) -> Reader:
    def read(value):
        if type(value) is not int or not minimum <= value <= maximum:
            raise _LeaveToSerializer
        return value
    return read


def _choice(choices) -> Reader:
    by_string = {str(choice): choice for choice in choices}  # what ChoiceField returns

    def read(value):
        if type(value) is not str or value not in by_string:
            raise _LeaveToSerializer
        return by_string[value]
    return read


def _email(value):
    """EmailField (blank allowed): Django's own email validator, as DRF runs it."""
    value = _text(254, blank=True)(value)
    if value:
        try:
            validate_email(value)
        except DjangoValidationError:
            raise _LeaveToSerializer from None
    return value


def _drf_field(field: serializers.Field) -> Reader:
    """A value whose parsing is DRF's own (dates, free-form dicts): its field runs it."""
    def read(value):
        try:
            return field.run_validation(value)
        except serializers.ValidationError:
            raise _LeaveToSerializer from None
    return read


# ---------------------------------------------------------------- objects and lists


def _object(fields: dict[str, tuple[Reader, Any]], check: Callable[[dict], bool] | None = None) -> Reader:
    """An InputSerializer: only known fields, each read or defaulted; `check` is its validate()."""
    def read(value):
        if type(value) is not dict or not value.keys() <= fields.keys():
            raise _LeaveToSerializer
        result = {}
        for name, (reader, default) in fields.items():
            if name in value:
                result[name] = reader(value[name])
            elif default is REQUIRED:
                raise _LeaveToSerializer
            elif default is not OMITTED:
                result[name] = default
        if check is not None and not check(result):
            raise _LeaveToSerializer
        return result
    return read


def _many(reader: Reader, *, min_length: int = 0, max_length: int) -> Reader:
    def read(value):
        if type(value) is not list or not min_length <= len(value) <= max_length:
            raise _LeaveToSerializer
        return [reader(item) for item in value]
    return read


def _nullable(reader: Reader) -> Reader:
    return lambda value: None if value is None else reader(value)


_MONEY = _object({"amount": (_integer(0, 10**12), REQUIRED), "currency": (_text(3, min_length=3), REQUIRED)})
_DISCOUNT = _object({"amount": (_MONEY, OMITTED), "percent_bps": (_integer(1, 10000), OMITTED)},
                    check=lambda d: ("amount" in d) != ("percent_bps" in d))
_MODIFIER = _object({"sku": (_text(64), REQUIRED), "quantity": (_integer(1, 20), 1)})
_LINE = _object({
    "sku": (_text(64), REQUIRED),
    "quantity": (_integer(1, settings.MAX_LINE_QUANTITY), REQUIRED),
    "modifiers": (_many(_MODIFIER, max_length=20), OMITTED),
    "note": (_text(500, blank=True), ""),
    "discounts": (_many(_DISCOUNT, max_length=10), OMITTED),
})
_CUSTOMER = _object({"name": (_text(200, blank=True), ""), "phone": (_text(32, blank=True), ""),
                     "email": (_email, "")})
_NEEDS_ADDRESS = (FulfillmentType.DELIVERY, FulfillmentType.SHIPPING)


def _order(fulfillment_types, tender_types) -> Reader:
    fulfillment = _object({
        "type": (_choice(fulfillment_types), REQUIRED),
        "pickup_at": (_nullable(_drf_field(serializers.DateTimeField())), OMITTED),
        "deliver_at": (_nullable(_drf_field(serializers.DateTimeField())), OMITTED),
        "address": (_nullable(_drf_field(serializers.DictField())), OMITTED),
    }, check=lambda f: f["type"] not in _NEEDS_ADDRESS or bool(f.get("address")))
    tender = _object({
        "type": (_choice(tender_types), REQUIRED),
        "amount": (_MONEY, OMITTED),
        "tip": (_MONEY, OMITTED),
        "reference": (_text(255, blank=True), ""),
        "code": (_text(64, blank=True), ""),
        "points": (_integer(1, 10**9), OMITTED),
    })
    return _object({
        "location": (_text(16), REQUIRED),
        "source_name": (_text(100, blank=True), ""),
        "external_id": (_text(255, blank=True), ""),
        "fulfillment": (fulfillment, REQUIRED),
        "customer": (_CUSTOMER, OMITTED),
        "lines": (_many(_LINE, min_length=1, max_length=settings.MAX_ORDER_LINES), REQUIRED),
        "tender": (tender, OMITTED),
        "tenders": (_many(tender, min_length=1, max_length=10), OMITTED),
        "discounts": (_many(_DISCOUNT, max_length=10), OMITTED),
        "expected_total": (_MONEY, OMITTED),
        "note": (_text(1000, blank=True), ""),
    }, check=lambda order: not ("tender" in order and "tenders" in order))
