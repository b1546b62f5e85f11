"""API v1 orders: the public order contract (see DESIGN.md)."""

from datetime import datetime

from django.conf import settings
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api_cursor import MAX_CURSOR_LENGTH, decode_cursor, encode_cursor, invalid_cursor
from apps.core.api_fields import InputSerializer, MoneySerializer, StrictCharField, StrictIntegerField
from apps.core.api_query import MAX_QUERY_LENGTH, query_datetime, query_id, query_text, refuse_unknown
from apps.core.api_views import (
    idempotency_inputs,
    idempotent_response,
    require_channel,
    require_writer,
    validated_body,
)
from apps.core.enums import Channel
from apps.core.errors import DomainError, ValidationFailed
from apps.core.openapi import (
    IDEMPOTENCY_KEY,
    error_responses,
    location_header,
    money_schema,
    replayed_header,
)
from apps.customers.services import normalize_phone
from apps.orders import services
from apps.orders.api_body import order_body_reader
from apps.orders.enums import FulfillmentType, OrderStatus, TenderType
from apps.orders.selectors import OrderFilters, get_order, list_order_documents, order_document

ORDERING_CHANNELS = {Channel.PHONE, Channel.WEB}
IDEMPOTENCY_HEADER = IDEMPOTENCY_KEY
API_FULFILLMENT_TYPES = [FulfillmentType.PICKUP, FulfillmentType.DELIVERY,
                         FulfillmentType.SHIPPING, FulfillmentType.DINE_IN]
API_TENDER_TYPES = [TenderType.PAY_AT_PICKUP, TenderType.CARD, TenderType.CASH,
                    TenderType.GIFT_CARD, TenderType.STORE_CREDIT, TenderType.LOYALTY,
                    TenderType.OTHER, TenderType.EXTERNAL]


class DiscountInput(InputSerializer):
    """A fixed amount off, or a percentage in basis points (1000 = 10%): one of the two."""

    amount = MoneySerializer(required=False)
    percent_bps = StrictIntegerField(min_value=1, max_value=10000, required=False)

    def validate(self, attrs):
        if ("amount" in attrs) == ("percent_bps" in attrs):
            raise serializers.ValidationError(serializers.ErrorDetail(
                "A discount is either an amount or a percent_bps.", code="invalid"))
        return attrs


class ModifierInput(InputSerializer):
    sku = StrictCharField(max_length=64)
    quantity = StrictIntegerField(min_value=1, max_value=20, default=1)


class LineInput(InputSerializer):
    sku = StrictCharField(max_length=64)
    quantity = StrictIntegerField(min_value=1, max_value=settings.MAX_LINE_QUANTITY)
    modifiers = ModifierInput(many=True, required=False, max_length=20)
    note = StrictCharField(max_length=500, required=False, allow_blank=True, default="")
    discounts = DiscountInput(many=True, required=False, max_length=10)


class FulfillmentInput(InputSerializer):
    type = serializers.ChoiceField(choices=API_FULFILLMENT_TYPES)
    pickup_at = serializers.DateTimeField(required=False, allow_null=True)
    deliver_at = serializers.DateTimeField(required=False, allow_null=True)
    address = serializers.DictField(required=False, allow_null=True)

    def validate(self, attrs):
        needs_address = attrs["type"] in (FulfillmentType.DELIVERY, FulfillmentType.SHIPPING)
        if needs_address and not attrs.get("address"):
            raise serializers.ValidationError(
                {"address": [serializers.ErrorDetail("Delivery and shipping need an address.",
                                                     code="required")]})
        return attrs


class CustomerInput(InputSerializer):
    name = StrictCharField(max_length=200, required=False, allow_blank=True, default="")
    phone = StrictCharField(max_length=32, required=False, allow_blank=True, default="")
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True, default="")


class TenderInput(InputSerializer):
    """`amount` pays toward the total (a lone tender without one pays all of it); `tip`
    is on top, card only; `code` names a gift card; `points` a loyalty redemption;
    `pay_at_pickup` takes nothing: it is the remainder, paid at the POS."""

    type = serializers.ChoiceField(choices=API_TENDER_TYPES)
    amount = MoneySerializer(required=False)
    tip = MoneySerializer(required=False)
    reference = StrictCharField(max_length=255, required=False, allow_blank=True, default="",
                                help_text="The processor's payment id (card).")
    code = StrictCharField(max_length=64, required=False, allow_blank=True, default="")
    points = StrictIntegerField(min_value=1, max_value=10**9, required=False)


class OrderCreateInput(InputSerializer):
    location = StrictCharField(max_length=16)
    source_name = StrictCharField(max_length=100, required=False, allow_blank=True, default="")
    external_id = StrictCharField(max_length=255, required=False, allow_blank=True, default="")
    fulfillment = FulfillmentInput()
    customer = CustomerInput(required=False)
    lines = LineInput(many=True, min_length=1, max_length=settings.MAX_ORDER_LINES)
    tender = TenderInput(required=False)
    tenders = TenderInput(many=True, required=False, min_length=1, max_length=10)
    discounts = DiscountInput(many=True, required=False, max_length=10)
    expected_total = MoneySerializer(required=False)
    note = StrictCharField(max_length=1000, required=False, allow_blank=True, default="")

    def validate(self, attrs):
        if "tender" in attrs and "tenders" in attrs:
            raise serializers.ValidationError({"tenders": [serializers.ErrorDetail(
                "Send `tenders` or the one `tender`, not both.", code="invalid")]})
        return attrs


def _order_input(data: dict) -> services.OrderInput:
    customer = data.get("customer") or {}
    fulfillment = data["fulfillment"]
    expected = data.get("expected_total")
    return services.OrderInput(
        location_code=data["location"],
        source_name=data["source_name"],
        external_id=data["external_id"],
        fulfillment_type=fulfillment["type"],
        fulfillment_at=fulfillment.get("pickup_at") or fulfillment.get("deliver_at"),
        delivery_address=fulfillment.get("address"),
        customer=services.CustomerInput(
            name=customer.get("name", ""),
            phone=normalize_phone(customer.get("phone", "")),
            email=customer.get("email", ""),
        ),
        lines=tuple(
            services.LineInput(
                sku=line["sku"], quantity=line["quantity"], note=line["note"],
                modifiers=tuple(services.ModifierInput(m["sku"], m["quantity"])
                                for m in line.get("modifiers", [])),
                discounts=_discounts(line.get("discounts", [])),
            )
            for line in data["lines"]
        ),
        tenders=tuple(_tender(tender) for tender in _given_tenders(data)),
        tenders_field="tender" if "tender" in data else "tenders",
        discounts=_discounts(data.get("discounts", [])),
        expected_total=(expected["amount"], expected["currency"]) if expected else None,
        note=data["note"],
    )


def _given_tenders(data: dict) -> list[dict]:
    if "tender" in data:
        return [data["tender"]]
    return data.get("tenders") or [{"type": TenderType.PAY_AT_PICKUP}]


def _tender(tender: dict) -> services.TenderInput:
    amount, tip = tender.get("amount"), tender.get("tip")
    if amount and tip and amount["currency"] != tip["currency"]:
        raise ValidationFailed("A tip is in its tender's currency.", field="tenders.tip.currency",
                               extra={"code": "currency_mismatch"})
    return services.TenderInput(
        type=tender["type"], amount=amount["amount"] if amount else None,
        currency=(amount or tip or {}).get("currency", ""), tip=tip["amount"] if tip else 0,
        reference=tender.get("reference", ""), code=tender.get("code", ""),
        points=tender.get("points", 0))


def _discounts(discounts: list[dict]) -> tuple[services.DiscountInput, ...]:
    return tuple(
        services.DiscountInput(amount=d["amount"]["amount"], currency=d["amount"]["currency"])
        if "amount" in d else services.DiscountInput(percent_bps=d["percent_bps"])
        for d in discounts)


class EmptyBody(DomainError):
    code = "malformed_json"


read_order_body = order_body_reader(fulfillment_types=API_FULFILLMENT_TYPES, tender_types=API_TENDER_TYPES)


def _parse_order(request) -> dict:
    if not int(request.META.get("CONTENT_LENGTH") or 0):
        raise EmptyBody("The body is empty; send the order as a JSON object.")
    data = read_order_body(request.data)
    return validated_body(OrderCreateInput, request) if data is None else data


MONEY = money_schema("Money")
ORDER_DOCUMENT = inline_serializer("Order", fields={
    "id": serializers.IntegerField(), "status": serializers.CharField(),
    "channel": serializers.CharField(), "source_name": serializers.CharField(),
    "external_id": serializers.CharField(), "location": serializers.CharField(),
    "fulfillment": serializers.DictField(),
    "customer": inline_serializer("OrderCustomer", allow_null=True, fields={
        "id": serializers.IntegerField(), "name": serializers.CharField(),
        "email": serializers.CharField(), "phone": serializers.CharField()},
        help_text="The matched customer; null when the order matched nobody."),
    "contact": inline_serializer("OrderContact", fields={
        "name": serializers.CharField(), "email": serializers.CharField(), "phone": serializers.CharField()},
        help_text="Who the order is for, as given with it (matched or not)."),
    "lines": inline_serializer("OrderLine", many=True, fields={
        "line": serializers.IntegerField(help_text="Its number, from 1; refunds name it."),
        "sku": serializers.CharField(), "name": serializers.CharField(),
        "quantity": serializers.IntegerField(), "unit_price": MONEY,
        "modifiers": serializers.ListField(child=serializers.DictField()),
        "note": serializers.CharField(),
        "total": money_schema("LineGross"), "discount": MONEY,
        "net": money_schema("LineNet"), "tax": MONEY,
        "tax_rate_bps": serializers.IntegerField(help_text="The rate the line was taxed at; 0 if exempt."),
        "refunded_quantity": serializers.IntegerField()}),
    "tenders": inline_serializer("OrderTender", many=True, fields={
        "type": serializers.CharField(), "status": serializers.CharField(), "amount": MONEY,
        "platform": serializers.CharField(), "reference": serializers.CharField(),
        "tip": MONEY, "processing_fee": MONEY,
        "points": serializers.IntegerField(required=False, help_text="Loyalty tenders.")}),
    "subtotal": MONEY, "discount": MONEY, "tax": MONEY,
    "adjustment": money_schema("Adjustment"),
    "total": money_schema("Total"), "tip": MONEY, "refunded": MONEY, "refundable": MONEY,
    "loyalty": inline_serializer("OrderLoyalty", fields={
        "earned_points": serializers.IntegerField(), "redeemed_points": serializers.IntegerField()}),
    "note": serializers.CharField(), "placed_at": serializers.DateTimeField(),
    "created_at": serializers.DateTimeField(),
})


ORDER_EXAMPLE = OpenApiExample("A phone order", request_only=True, value={
    "location": "OAK", "source_name": "PieLine", "external_id": "call-8812",
    "fulfillment": {"type": "pickup", "pickup_at": "2026-11-25T18:30:00Z"},
    "customer": {"name": "Ana Ruiz", "phone": "+15105550123", "email": "ana@example.com"},
    "lines": [{"sku": "BURRITO", "quantity": 2, "modifiers": [{"sku": "EXTRA-GUAC", "quantity": 1}],
               "note": "no beans"}],
    "tender": {"type": "pay_at_pickup"},
    "expected_total": {"amount": 2300, "currency": "USD"},
})
ORDER_CREATE_ERRORS = error_responses(
    s403="`channel_not_allowed` (a key of another channel), `forbidden`",
    s409="`insufficient_stock` (with each short line's `requested` and `available`), `item_unavailable`, "
         "`price_changed` (with `current_total`), `duplicate_external_id`, `request_in_progress`, "
         "`insufficient_balance` (a gift card, store credit or points tender beyond its balance, with "
         "`requested` and `available`), `stored_value_expired`",
    s422="`required`, `invalid`, `unknown_field`, `invalid_characters`, `invalid_body`, `max_length`, "
         "`min_value`, `max_value`, `invalid_choice`, `unknown_location`, `unknown_sku`, "
         "`modifier_not_allowed`, `modifier_count`, `invalid_phone`, `idempotency_key_missing`, "
         "`idempotency_key_reused`, `tenders_mismatch` (the tenders do not add up to the total, with "
         "`total` and `tendered`), `currency_mismatch`, `customer_required` (store credit and loyalty "
         "need the customer's email or phone), `unknown_gift_card`, `duplicate_tender`, "
         "`below_minimum_redemption`; `field` says where",
)
TRANSITION_ERRORS = error_responses(
    s403="`forbidden`",
    s404="`not_found`: no such order, or not one this key may see",
    s409="`invalid_transition`, `request_in_progress`",
    s422="`invalid_body` (these actions take no body), `invalid_characters`, `idempotency_key_missing`, "
         "`idempotency_key_reused`",
)


ORDER_LIST_PARAMETERS = [
    OpenApiParameter("q", {"type": "string", "maxLength": MAX_QUERY_LENGTH}, description=(
        "Matches the order number, an external id, or the customer's name, email or phone "
        "(any punctuation).")),
    OpenApiParameter("channel", {"type": "string", "enum": Channel.values}),
    OpenApiParameter("location", {"type": "string", "maxLength": 16}, description="A location code."),
    OpenApiParameter("external_id", {"type": "string", "maxLength": 255}),
    OpenApiParameter("customer", {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
                     description="A customer id; a merged customer's id finds its survivor's orders."),
    OpenApiParameter("placed_after", {"type": "string", "format": "date-time"},
                     description="Placed at or after (ISO 8601; without an offset, UTC)."),
    OpenApiParameter("placed_before", {"type": "string", "format": "date-time"},
                     description="Placed before (ISO 8601; without an offset, UTC)."),
    OpenApiParameter("cursor", {"type": "string", "minLength": 1, "maxLength": MAX_CURSOR_LENGTH},
                     description="The `next` of the previous page, unchanged."),
]
ORDER_LIST = inline_serializer("OrderList", fields={
    "orders": serializers.ListField(child=ORDER_DOCUMENT),
    "next": serializers.CharField(allow_null=True,
                                  help_text="The cursor of the next page; null on the last."),
})


def _order_filters(params) -> OrderFilters:
    refuse_unknown(params, {parameter.name for parameter in ORDER_LIST_PARAMETERS})
    channel = params.get("channel", "")
    if "channel" in params and channel not in Channel.values:
        raise ValidationFailed(f"Unknown channel {channel!r}.", field="channel",
                               extra={"code": "invalid_choice"})
    return OrderFilters(
        q=query_text(params, "q", MAX_QUERY_LENGTH), channel=channel,
        location_code=query_text(params, "location", 16),
        external_id=query_text(params, "external_id", 255),
        customer_id=query_id(params, "customer"),
        placed_after=query_datetime(params, "placed_after"),
        placed_before=query_datetime(params, "placed_before"),
    )


def _order_cursor(params) -> tuple[datetime, int] | None:
    if "cursor" not in params:
        return None
    placed_at, order_id = decode_cursor(params["cursor"], arity=2)
    try:
        at = parse_datetime(placed_at) if isinstance(placed_at, str) else None
    except ValueError:  # well formed, yet no date (a month 13): not one this API gave
        at = None
    if at is None or at.tzinfo is None or isinstance(order_id, bool) or not isinstance(order_id, int):
        raise invalid_cursor()
    return at, order_id


class OrderCreateApi(APIView):
    """POST places an order (a channel key); GET searches orders (every key, each seeing
    what it may: a channel key its own client's, a staff key every channel's)."""

    @extend_schema(operation_id="orders_list", parameters=ORDER_LIST_PARAMETERS, responses={
        200: ORDER_LIST, **error_responses(
            s422="`invalid_choice` (channel), `max_length`, `invalid` (customer, a date), `invalid_cursor`, "
                 "`unknown_parameter`")})
    def get(self, request):
        page = list_order_documents(client=request.user, filters=_order_filters(request.query_params),
                                    after=_order_cursor(request.query_params))
        after = page.next_after
        return Response({"orders": page.documents,
                         "next": encode_cursor(after[0].isoformat(), after[1]) if after else None})

    @extend_schema(operation_id="orders_create", request=OrderCreateInput, examples=[ORDER_EXAMPLE],
                   responses={201: ORDER_DOCUMENT, **ORDER_CREATE_ERRORS},
                   parameters=[IDEMPOTENCY_HEADER, location_header(201), replayed_header(201)])
    def post(self, request):
        require_channel(request, ORDERING_CHANNELS)
        key, request_hash = idempotency_inputs(request)
        order = _order_input(_parse_order(request))
        result = services.place_order(client=request.user, order=order, idempotency_key=key,
                                      request_hash=request_hash)
        return idempotent_response(result, location=f"/api/v1/orders/{result.body['id']}")


class OrderDetailApi(APIView):
    @extend_schema(operation_id="orders_retrieve", responses={
        200: ORDER_DOCUMENT, **error_responses(s403="`forbidden`", s404="`not_found`")})
    def get(self, request, order_id: int):
        order = get_order(order_id, client=request.user)
        return Response(order_document(order))


class _OrderTransitionApi(APIView):
    to = OrderStatus.FULFILLED

    def post(self, request, order_id: int):
        require_writer(request, action=f"mark orders {self.to}")
        key, request_hash = idempotency_inputs(request)
        if request.data:
            raise ValidationFailed("This action takes no body.", extra={"code": "invalid_body"})
        result = services.transition_order(
            order_id=order_id, to=self.to, client=request.user, idempotency_key=key,
            request_hash=request_hash, actor=f"api:{request.user.pk}")
        return idempotent_response(result)


class OrderReadyApi(_OrderTransitionApi):
    to = OrderStatus.READY

    @extend_schema(operation_id="orders_ready", request=None,
                   responses={200: ORDER_DOCUMENT, **TRANSITION_ERRORS},
                   parameters=[IDEMPOTENCY_HEADER, replayed_header(200)])
    def post(self, request, order_id: int):
        return super().post(request, order_id)


class OrderFulfillApi(_OrderTransitionApi):
    to = OrderStatus.FULFILLED

    @extend_schema(operation_id="orders_fulfill", request=None,
                   responses={200: ORDER_DOCUMENT, **TRANSITION_ERRORS},
                   parameters=[IDEMPOTENCY_HEADER, replayed_header(200)])
    def post(self, request, order_id: int):
        return super().post(request, order_id)


class OrderCancelApi(_OrderTransitionApi):
    to = OrderStatus.CANCELED

    @extend_schema(operation_id="orders_cancel", request=None,
                   responses={200: ORDER_DOCUMENT, **TRANSITION_ERRORS},
                   parameters=[IDEMPOTENCY_HEADER, replayed_header(200)])
    def post(self, request, order_id: int):
        return super().post(request, order_id)
