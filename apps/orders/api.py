"""API v1 orders: the public order contract (see DESIGN.md)."""

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api_fields import InputSerializer, MoneySerializer, StrictCharField, StrictIntegerField
from apps.core.api_views import idempotency_inputs, idempotent_response, require_channel
from apps.core.enums import Channel
from apps.core.errors import DomainError, ValidationFailed
from apps.core.openapi import IDEMPOTENCY_KEY, error_responses, location_header, replayed_header
from apps.customers.services import normalize_phone
from apps.orders import services
from apps.orders.enums import FulfillmentType, OrderStatus, TenderType
from apps.orders.selectors import get_order, order_document

ORDERING_CHANNELS = {Channel.PHONE, Channel.WEB}
IDEMPOTENCY_HEADER = IDEMPOTENCY_KEY
API_FULFILLMENT_TYPES = [FulfillmentType.PICKUP, FulfillmentType.DELIVERY,
                         FulfillmentType.SHIPPING, FulfillmentType.DINE_IN]
API_TENDER_TYPES = [TenderType.PAY_AT_PICKUP, TenderType.CARD, TenderType.CASH,
                    TenderType.GIFT_CARD, TenderType.EXTERNAL]


class ModifierInput(InputSerializer):
    sku = StrictCharField(max_length=64)
    quantity = StrictIntegerField(min_value=1, max_value=20, default=1)


class LineInput(InputSerializer):
    sku = StrictCharField(max_length=64)
    quantity = StrictIntegerField(min_value=1, max_value=settings.MAX_LINE_QUANTITY)
    modifiers = ModifierInput(many=True, required=False, max_length=20)
    note = StrictCharField(max_length=500, required=False, allow_blank=True, default="")


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
    type = serializers.ChoiceField(choices=API_TENDER_TYPES)


class OrderCreateInput(InputSerializer):
    location = StrictCharField(max_length=16)
    source_name = StrictCharField(max_length=100, required=False, allow_blank=True, default="")
    external_id = StrictCharField(max_length=255, required=False, allow_blank=True, default="")
    fulfillment = FulfillmentInput()
    customer = CustomerInput(required=False)
    lines = LineInput(many=True, min_length=1, max_length=settings.MAX_ORDER_LINES)
    tender = TenderInput(required=False)
    expected_total = MoneySerializer(required=False)
    note = StrictCharField(max_length=1000, required=False, allow_blank=True, default="")


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
            )
            for line in data["lines"]
        ),
        tender_type=(data.get("tender") or {}).get("type", TenderType.PAY_AT_PICKUP),
        expected_total=(expected["amount"], expected["currency"]) if expected else None,
        note=data["note"],
    )


class EmptyBody(DomainError):
    code = "malformed_json"


def _parse(serializer_class, request):
    if not int(request.META.get("CONTENT_LENGTH") or 0):
        raise EmptyBody("The body is empty; send the order as a JSON object.")
    data = request.data
    if not isinstance(data, dict):
        raise ValidationFailed("The body must be a JSON object.", extra={"code": "invalid_body"})
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


ORDER_DOCUMENT = inline_serializer("Order", fields={
    "id": serializers.IntegerField(), "status": serializers.CharField(),
    "channel": serializers.CharField(), "source_name": serializers.CharField(),
    "external_id": serializers.CharField(), "location": serializers.CharField(),
    "fulfillment": serializers.DictField(), "customer": serializers.DictField(),
    "lines": serializers.ListField(child=serializers.DictField()),
    "tenders": serializers.ListField(child=serializers.DictField()),
    "subtotal": serializers.DictField(), "total": serializers.DictField(),
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
         "`price_changed` (with `current_total`), `duplicate_external_id`, `request_in_progress`",
    s422="`required`, `invalid`, `unknown_field`, `invalid_characters`, `invalid_body`, `max_length`, "
         "`min_value`, `max_value`, `invalid_choice`, `unknown_location`, `unknown_sku`, "
         "`modifier_not_allowed`, `modifier_count`, `invalid_phone`, `idempotency_key_missing`, "
         "`idempotency_key_reused`; `field` says where",
)
TRANSITION_ERRORS = error_responses(
    s403="`forbidden`",
    s404="`not_found`: no such order, or not one this key may see",
    s409="`invalid_transition`, `request_in_progress`",
    s422="`invalid_body` (these actions take no body), `invalid_characters`, `idempotency_key_missing`, "
         "`idempotency_key_reused`",
)


class OrderCreateApi(APIView):
    @extend_schema(operation_id="orders_create", request=OrderCreateInput, examples=[ORDER_EXAMPLE],
                   responses={201: ORDER_DOCUMENT, **ORDER_CREATE_ERRORS},
                   parameters=[IDEMPOTENCY_HEADER, location_header(201), replayed_header(201)])
    def post(self, request):
        require_channel(request, ORDERING_CHANNELS)
        key, request_hash = idempotency_inputs(request)
        order = _order_input(_parse(OrderCreateInput, request))
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
