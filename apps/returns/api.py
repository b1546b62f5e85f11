"""API v1 refunds (DESIGN.md, "API v1, part 2"): thin views over returns.refund_order;
exchanges over returns.exchanges.exchange_order."""

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api_fields import InputSerializer, MoneySerializer, StrictCharField, StrictIntegerField
from apps.core.api_views import (
    idempotency_inputs,
    idempotent_response,
    require_channel,
    require_writer,
    validated_body,
)
from apps.core.errors import ValidationFailed
from apps.core.idempotency import run_idempotent
from apps.core.openapi import IDEMPOTENCY_KEY, error_responses, location_header, money_schema, replayed_header
from apps.customers.services import normalize_phone
from apps.inventory.selectors import get_location
from apps.orders import api as orders_api
from apps.orders import services as orders
from apps.orders.enums import FulfillmentType
from apps.orders.selectors import get_order, order_document
from apps.returns.enums import RefundStatus
from apps.returns.exchanges import exchange_order
from apps.returns.selectors import get_refund, list_order_refunds, refund_document
from apps.returns.services import ReturnLineInput, refund_order

MAX_REFUND_LINES = 200


class RefundLineInput(InputSerializer):
    line = StrictIntegerField(min_value=1, max_value=32767, help_text="The order line's number, from 1.")
    quantity = StrictIntegerField(min_value=1, max_value=10**6)
    restock = serializers.BooleanField(required=False, default=False)


class RefundInput(InputSerializer):
    lines = RefundLineInput(many=True, required=False, max_length=MAX_REFUND_LINES)
    amount = MoneySerializer(required=False)
    return_location = StrictCharField(max_length=16, required=False)
    reason = StrictCharField(max_length=255, required=False, allow_blank=True, default="")

    def validate(self, attrs):
        if bool(attrs.get("lines")) == ("amount" in attrs):
            raise serializers.ValidationError(
                {"lines": ["Send `lines` for a return or `amount` for a refund of money, one of the two."]})
        return attrs


def _money_out(name: str):
    return inline_serializer(name, fields={"amount": serializers.IntegerField(),
                                           "currency": serializers.CharField()})


REFUND_DOCUMENT = inline_serializer("Refund", fields={
    "id": serializers.IntegerField(), "order": serializers.IntegerField(),
    "status": serializers.ChoiceField(choices=RefundStatus.choices),
    "amount": _money_out("RefundAmount"), "reason": serializers.CharField(),
    "lines": inline_serializer("RefundLine", many=True, fields={
        "line": serializers.IntegerField(), "sku": serializers.CharField(),
        "quantity": serializers.IntegerField(), "amount": _money_out("RefundLineAmount"),
        "restock": serializers.BooleanField(), "location": serializers.CharField(allow_null=True)}),
    "parts": inline_serializer("RefundPart", many=True, fields={
        "tender": serializers.CharField(), "amount": _money_out("RefundPartAmount"),
        "platform": serializers.CharField(), "status": serializers.CharField(),
        "reference": serializers.CharField()}),
    "points_reversed": serializers.IntegerField(), "points_returned": serializers.IntegerField(),
    "created_at": serializers.DateTimeField(),
})
REFUND_LIST = inline_serializer("RefundList", fields={"refunds": REFUND_DOCUMENT.__class__(many=True)})
REFUND_EXAMPLES = [
    OpenApiExample("A return", request_only=True, value={
        "lines": [{"line": 1, "quantity": 1, "restock": True}], "return_location": "BKN",
        "reason": "damaged"}),
    OpenApiExample("Money alone", request_only=True, value={
        "amount": {"amount": 500, "currency": "USD"}, "reason": "goodwill"}),
]


def _amount(data: dict, currency: str) -> int | None:
    amount = data.get("amount")
    if amount is None:
        return None
    if amount["currency"] != currency:
        raise ValidationFailed(f"The order is in {currency}.", field="amount.currency",
                               extra={"code": "currency_mismatch"})
    return amount["amount"]


def _return_location_id(data: dict) -> int | None:
    code = data.get("return_location")
    if code is None:
        return None
    try:
        return get_location(code).pk
    except ValidationFailed as error:
        raise ValidationFailed(error.detail, field="return_location",
                               extra={"code": "unknown_location"}) from None


class OrderRefundsApi(APIView):
    """POST refunds an order (a return of lines or money alone); GET lists its refunds."""

    @extend_schema(
        operation_id="order_refunds_create", request=RefundInput, examples=REFUND_EXAMPLES,
        responses={201: REFUND_DOCUMENT, 202: REFUND_DOCUMENT, **error_responses(
            s403="`forbidden` (a finance key only reads)", s404="`not_found`",
            s409="`exceeds_refundable` (with `refundable`), `request_in_progress`",
            s422="`required`, `invalid`, `unknown_field`, `invalid_body`, `min_value`, `max_value`, "
                 "`unknown_location`, `currency_mismatch`, `nothing_to_restock` (the units never left "
                 "stock), `idempotency_key_missing`, "
                 "`idempotency_key_reused`")},
        parameters=[IDEMPOTENCY_KEY, location_header(201, 202), replayed_header(201)],
        description="201 with the refund; 202 when it waits for approval (`awaiting_approval`).")
    def post(self, request, order_id: int):
        require_writer(request, action="refund orders")
        order = get_order(order_id, client=request.user)
        key, request_hash = idempotency_inputs(request)
        data = validated_body(RefundInput, request)
        client = request.user

        def refund() -> tuple[int, dict]:
            made = refund_order(
                order_id=order.pk, amount=_amount(data, order.currency),
                lines=[ReturnLineInput(line["line"], line["quantity"], line["restock"])
                       for line in data.get("lines") or []],
                reason=data["reason"], return_location_id=_return_location_id(data),
                actor=f"api:{client.pk}", actor_role=client.role, api_client_id=client.pk,
                idempotency_key=f"{client.pk}:{key}")
            status = 202 if made.status == RefundStatus.AWAITING_APPROVAL else 201
            return status, refund_document(get_refund(made.pk))

        result = run_idempotent(client_id=client.pk, key=key, request_hash=request_hash, perform=refund)
        response = idempotent_response(result, location=f"/api/v1/refunds/{result.body['id']}")
        if result.status == 202:
            response["Location"] = f"/api/v1/refunds/{result.body['id']}"
        return response

    @extend_schema(operation_id="order_refunds_list", responses={
        200: REFUND_LIST, **error_responses(s404="`not_found`")})
    def get(self, request, order_id: int):
        order = get_order(order_id, client=request.user)
        return Response({"refunds": [refund_document(r) for r in list_order_refunds(order.pk)]})


class RefundDetailApi(APIView):
    @extend_schema(operation_id="refunds_retrieve", responses={
        200: REFUND_DOCUMENT, **error_responses(s404="`not_found`")})
    def get(self, request, refund_id: int):
        return Response(refund_document(get_refund(refund_id, client=request.user)))


# Exchanges: a return plus a new order whose tenders pay only the difference.

class ExchangeReturnInput(InputSerializer):
    lines = RefundLineInput(many=True, min_length=1, max_length=MAX_REFUND_LINES)
    return_location = StrictCharField(max_length=16, required=False)
    reason = StrictCharField(max_length=255, required=False, allow_blank=True, default="")


class ExchangeOrderInput(InputSerializer):
    """The new order, as POST /api/v1/orders takes it; `tenders` pay only what the returned
    goods do not cover (none when they cover it all); `fulfillment` defaults to pickup."""

    location = StrictCharField(max_length=16)
    fulfillment = orders_api.FulfillmentInput(required=False)
    customer = orders_api.CustomerInput(required=False, help_text="Defaults to the original order's.")
    lines = orders_api.LineInput(many=True, min_length=1, max_length=settings.MAX_ORDER_LINES)
    tenders = orders_api.TenderInput(many=True, required=False, max_length=10)
    discounts = orders_api.DiscountInput(many=True, required=False, max_length=10)
    note = StrictCharField(max_length=1000, required=False, allow_blank=True, default="")


class ExchangeInput(InputSerializer):
    def get_fields(self):
        return {"return": ExchangeReturnInput(), "order": ExchangeOrderInput()}


EXCHANGE_DOCUMENT = inline_serializer("Exchange", fields={
    "id": serializers.IntegerField(), "refund": REFUND_DOCUMENT, "order": orders_api.ORDER_DOCUMENT,
    "difference": money_schema("ExchangeDifference"),
})
EXCHANGE_EXAMPLE = OpenApiExample("A size swap, paying the difference", request_only=True, value={
    "return": {"lines": [{"line": 1, "quantity": 1, "restock": True}], "reason": "wrong size"},
    "order": {"location": "OAK", "lines": [{"sku": "TEE-L", "quantity": 1}],
              "tenders": [{"type": "card", "amount": {"amount": 500, "currency": "USD"},
                           "reference": "ch_123"}]},
})


def _new_order_input(data: dict) -> orders.OrderInput:
    customer = data.get("customer") or {}
    fulfillment = data.get("fulfillment") or {"type": FulfillmentType.PICKUP}
    return orders.OrderInput(
        location_code=data["location"], fulfillment_type=fulfillment["type"],
        fulfillment_at=fulfillment.get("pickup_at") or fulfillment.get("deliver_at"),
        delivery_address=fulfillment.get("address"),
        customer=orders.CustomerInput(name=customer.get("name", ""), email=customer.get("email", ""),
                                      phone=normalize_phone(customer.get("phone", ""))),
        lines=tuple(orders.LineInput(
            sku=line["sku"], quantity=line["quantity"], note=line["note"],
            modifiers=tuple(orders.ModifierInput(m["sku"], m["quantity"]) for m in line.get("modifiers", [])),
            discounts=orders_api._discounts(line.get("discounts", [])))
            for line in data["lines"]),
        tenders=tuple(orders_api._tender(tender) for tender in data.get("tenders", [])),
        discounts=orders_api._discounts(data.get("discounts", [])), note=data["note"])


class OrderExchangesApi(APIView):
    """POST exchanges goods of an order: a return plus a new order settling the difference."""

    @extend_schema(
        operation_id="order_exchanges_create", request=ExchangeInput, examples=[EXCHANGE_EXAMPLE],
        responses={201: EXCHANGE_DOCUMENT, **error_responses(
            s403="`forbidden`, `channel_not_allowed` (the new order needs a phone or web key)",
            s404="`not_found`",
            s409="`insufficient_stock`, `item_unavailable` (the new order; nothing happens, no refund "
                 "either), `exceeds_refundable`, `insufficient_balance`, `approval_required` (the "
                 "difference to give back is above the key's refund limit), `request_in_progress`",
            s422="`required`, `invalid`, `unknown_field`, `invalid_body`, `min_value`, `max_value`, "
                 "`unknown_location`, `unknown_sku`, `currency_mismatch`, `nothing_to_restock`, "
                 "`tenders_mismatch` (the tenders must pay the new total less the returned value: "
                 "`total`, `credit`, `to_pay` and `tendered`, the credit counted), "
                 "`idempotency_key_missing`, `idempotency_key_reused`")},
        parameters=[IDEMPOTENCY_KEY, location_header(201), replayed_header(201)],
        description="201 with the refund (its exchange-credit parts completed at once), the new order "
                    "(paid by an `exchange` tender worth the credit) and `difference`: the new total "
                    "less the returned value (positive: paid by the tenders; negative: refunded).")
    def post(self, request, order_id: int):
        require_writer(request, action="exchange orders")
        require_channel(request, orders_api.ORDERING_CHANNELS)
        order = get_order(order_id, client=request.user)
        key, request_hash = idempotency_inputs(request)
        data = validated_body(ExchangeInput, request)
        returned, client = data["return"], request.user

        def exchange() -> tuple[int, dict]:
            made = exchange_order(
                order_id=order.pk, client=client, idempotency_key=key, reason=returned["reason"],
                returned=[ReturnLineInput(line["line"], line["quantity"], line["restock"])
                          for line in returned["lines"]],
                return_location_id=_return_location_id(returned), new_order=_new_order_input(data["order"]))
            return 201, {"id": made.pk, "refund": refund_document(get_refund(made.refund_id)),
                         "order": order_document(get_order(made.new_order_id)),
                         "difference": {"amount": made.difference, "currency": made.currency}}

        result = run_idempotent(client_id=client.pk, key=key, request_hash=request_hash, perform=exchange)
        return idempotent_response(result, location=f"/api/v1/orders/{result.body['order']['id']}")
