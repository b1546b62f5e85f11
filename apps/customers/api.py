"""API v1 customers, merges and gift cards (DESIGN.md, "API v1, part 2").

Reads: every key, scoped (apps/customers/api_selectors.py). Writes (merge, undo, issue a
gift card): customer_service staff keys only, each once per Idempotency-Key."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api_cursor import MAX_CURSOR_LENGTH, decode_cursor, encode_cursor, invalid_cursor
from apps.core.api_fields import InputSerializer, MoneySerializer, StrictIntegerField
from apps.core.api_query import MAX_ID, MAX_QUERY_LENGTH, query_text, refuse_unknown
from apps.core.api_views import idempotency_inputs, idempotent_response, require_role, validated_body
from apps.core.enums import ApiRole
from apps.core.errors import ValidationFailed
from apps.core.idempotency import run_idempotent
from apps.core.openapi import (
    IDEMPOTENCY_KEY,
    error_responses,
    location_header,
    money_schema,
    replayed_header,
)
from apps.customers import services
from apps.customers.api_selectors import (
    customer_document_for,
    gift_card_document_for,
    list_customer_summaries,
)
from apps.customers.selectors import customer_document

WRITERS = {ApiRole.CUSTOMER_SERVICE}
# No card is loaded with more than a million in its currency's major units (cents here);
# it also keeps a balance far inside what every platform's gift card API takes.
MAX_GIFT_CARD_AMOUNT = 10**8


def _actor(request) -> str:
    return f"api:{request.user.pk}"


CUSTOMER_SUMMARY = inline_serializer("CustomerSummary", fields={
    "id": serializers.IntegerField(), "name": serializers.CharField(),
    "emails": serializers.ListField(child=serializers.CharField()),
    "phones": serializers.ListField(child=serializers.CharField()),
    "loyalty": inline_serializer("CustomerLoyaltyBalance", fields={"balance": serializers.IntegerField()}),
    "store_credit": inline_serializer("CustomerStoreCreditBalance",
                                      fields={"balance": money_schema("CreditBalance")}),
    "merged_into": serializers.IntegerField(allow_null=True),
})
CUSTOMER_LIST = inline_serializer("CustomerList", fields={
    "customers": serializers.ListField(child=CUSTOMER_SUMMARY),
    "next": serializers.CharField(allow_null=True,
                                  help_text="The cursor of the next page; null on the last."),
})
CUSTOMER_DOCUMENT = inline_serializer("Customer", fields={
    "id": serializers.IntegerField(), "name": serializers.CharField(),
    "emails": serializers.ListField(child=serializers.CharField()),
    "phones": serializers.ListField(child=serializers.CharField()),
    "external_ids": inline_serializer("CustomerExternalId", many=True, fields={
        "platform": serializers.CharField(), "id": serializers.CharField()}),
    "orders": inline_serializer("CustomerOrder", many=True, fields={
        "id": serializers.IntegerField(), "channel": serializers.CharField(),
        "location": serializers.CharField(), "total": money_schema("CustomerOrderTotal"),
        "placed_at": serializers.DateTimeField()}),
    "loyalty": inline_serializer("CustomerLoyalty", fields={
        "balance": serializers.IntegerField(),
        "ledger": serializers.ListField(child=serializers.DictField())}),
    "store_credit": inline_serializer("CustomerStoreCredit",
                                      fields={"balance": money_schema("StoreCreditBalance")}),
    "merged_into": serializers.IntegerField(allow_null=True,
                                            help_text="The survivor, for a merged customer."),
})
MERGE_PREVIEW = inline_serializer("CustomerMergePreview", fields={
    "survivor": serializers.IntegerField(), "other": serializers.IntegerField(),
    "moves": serializers.DictField(), "blockers": serializers.ListField(child=serializers.DictField()),
    "can_merge": serializers.BooleanField()})
MERGE_DONE = inline_serializer("CustomerMergeDone", fields={
    "merge": serializers.IntegerField(), "survivor": serializers.IntegerField(),
    "other": serializers.IntegerField(), "moved": serializers.DictField(child=serializers.IntegerField()),
    "customer": CUSTOMER_DOCUMENT})
MERGE_UNDONE = inline_serializer("CustomerMergeUndone", fields={
    "merge": serializers.IntegerField(), "survivor": serializers.IntegerField(),
    "other": serializers.IntegerField(), "undone_at": serializers.DateTimeField()})
GIFT_CARD_ISSUED = inline_serializer("GiftCardIssued", fields={
    "code": serializers.CharField(), "balance": money_schema("GiftCardBalance")})
GIFT_CARD = inline_serializer("GiftCard", fields={
    "code": serializers.CharField(), "balance": money_schema("GiftCardCurrentBalance"),
    "expires_at": serializers.DateTimeField(allow_null=True),
    "ledger": serializers.ListField(child=serializers.DictField())})

STAFF_WRITE_403 = "`forbidden` (only customer_service staff keys write here)"
WRITE_422 = ("`required`, `invalid`, `unknown_field`, `invalid_body`, `min_value`, `max_value`, "
             "`invalid_characters`, `idempotency_key_missing`, `idempotency_key_reused`")


class MergeInput(InputSerializer):
    other = StrictIntegerField(min_value=1, max_value=MAX_ID, help_text="The customer merged into this one.")
    dry_run = serializers.BooleanField(default=False, help_text="Only preview: what moves, what blocks it.")


class GiftCardAmount(MoneySerializer):
    amount = StrictIntegerField(min_value=1, max_value=MAX_GIFT_CARD_AMOUNT,
                                help_text="Minor units (cents), more than zero.")


class GiftCardInput(InputSerializer):
    amount = GiftCardAmount(help_text="Loaded onto the new card.")


class CustomerListApi(APIView):
    @extend_schema(operation_id="customers_list", parameters=[
        OpenApiParameter("q", {"type": "string", "maxLength": MAX_QUERY_LENGTH}, description=(
            "Name, email, phone (any punctuation), a platform's customer id, an order number or "
            "external id.")),
        OpenApiParameter("cursor", {"type": "string", "minLength": 1, "maxLength": MAX_CURSOR_LENGTH},
                         description="The `next` of the previous page, unchanged."),
    ], responses={200: CUSTOMER_LIST, **error_responses(
        s422="`max_length`, `invalid_cursor`, `unknown_parameter`")})
    def get(self, request):
        params = request.query_params
        refuse_unknown(params, {"q", "cursor"})
        after = None
        if "cursor" in params:
            (after,) = decode_cursor(params["cursor"], arity=1)
            if isinstance(after, bool) or not isinstance(after, int):
                raise invalid_cursor()
        summaries, last = list_customer_summaries(
            client=request.user, q=query_text(params, "q", MAX_QUERY_LENGTH), after_id=after)
        return Response({"customers": summaries, "next": encode_cursor(last) if last else None})


class CustomerDetailApi(APIView):
    @extend_schema(operation_id="customers_retrieve", responses={
        200: CUSTOMER_DOCUMENT,
        **error_responses(s404="`not_found`: no such customer, or not one this key may see")})
    def get(self, request, customer_id: int):
        return Response(customer_document_for(client=request.user, customer_id=customer_id))


class CustomerMergeApi(APIView):
    @extend_schema(
        operation_id="customers_merge", request=MergeInput,
        responses={200: MERGE_PREVIEW, 201: MERGE_DONE, **error_responses(
            s403=STAFF_WRITE_403, s404="`not_found` (either customer)",
            s409="`merge_refused`, with one error per reason: `same_customer`, `survivor_is_merged`, "
                 "`already_merged`; `request_in_progress`",
            s422=WRITE_422)},
        parameters=[
            IDEMPOTENCY_KEY, location_header(201), replayed_header(201)],
        description="Merge `other` into this customer (201 with the merge's id), or with `dry_run` "
                    "preview it (200; nothing changes; no Idempotency-Key needed).")
    def post(self, request, customer_id: int):
        require_role(request, WRITERS, action="merge customers")
        data = validated_body(MergeInput, request)
        if data["dry_run"]:
            preview = services.preview_customer_merge(survivor_id=customer_id, other_id=data["other"])
            return Response(preview.as_dict())
        key, request_hash = idempotency_inputs(request)

        def merge() -> tuple[int, dict]:
            done = services.merge_customers(survivor_id=customer_id, other_id=data["other"],
                                            actor_label=_actor(request))
            return 201, {"merge": done.pk, "survivor": done.survivor_id, "other": done.other_id,
                         "moved": _moved_counts(done.moved),
                         "customer": customer_document(customer_id=done.survivor_id)}

        result = run_idempotent(client_id=request.user.pk, key=key, request_hash=request_hash, perform=merge)
        return idempotent_response(result, location=f"/api/v1/customers/{result.body['survivor']}")


def _moved_counts(moved: dict) -> dict:
    counts = {name: len(moved[name]) for name in ("orders", "emails", "phones", "external_ids", "gift_cards")}
    counts["loyalty_entries"] = len(moved["loyalty"]["entries"]) if moved["loyalty"] else 0
    counts["store_credit_entries"] = sum(len(part["entries"]) for part in moved["store_credit"])
    return counts


class CustomerMergeUndoApi(APIView):
    @extend_schema(
        operation_id="customer_merges_undo", request=None,
        responses={200: MERGE_UNDONE, **error_responses(
            s403=STAFF_WRITE_403, s404="`not_found`",
            s409="`merge_refused`, with one error per reason: `merge_already_undone`, "
                 "`later_merges_depend`, `rows_changed_since`, `balance_spent_since`; `request_in_progress`",
            s422="`invalid_body` (this action takes no body), `invalid_characters`, "
                 "`idempotency_key_missing`, `idempotency_key_reused`")},
        parameters=[IDEMPOTENCY_KEY, replayed_header(200)])
    def post(self, request, merge_id: int):
        require_role(request, WRITERS, action="undo customer merges")
        key, request_hash = idempotency_inputs(request)
        if request.data:
            raise ValidationFailed("This action takes no body.", extra={"code": "invalid_body"})

        def undo() -> tuple[int, dict]:
            merge = services.undo_customer_merge(merge_id=merge_id, actor_label=_actor(request))
            return 200, {"merge": merge.pk, "survivor": merge.survivor_id, "other": merge.other_id,
                         "undone_at": merge.undone_at.isoformat()}

        return idempotent_response(run_idempotent(client_id=request.user.pk, key=key,
                                                  request_hash=request_hash, perform=undo))


class GiftCardIssueApi(APIView):
    @extend_schema(
        operation_id="gift_cards_create", request=GiftCardInput,
        responses={201: GIFT_CARD_ISSUED, **error_responses(
            s403=STAFF_WRITE_403, s409="`request_in_progress`",
            s422=f"{WRITE_422}, `currency` (an unsupported currency)")},
        parameters=[IDEMPOTENCY_KEY, location_header(201), replayed_header(201)])
    def post(self, request):
        require_role(request, WRITERS, action="issue gift cards")
        key, request_hash = idempotency_inputs(request)
        amount = validated_body(GiftCardInput, request)["amount"]

        def issue() -> tuple[int, dict]:
            card = services.issue_gift_card(amount=amount["amount"], currency=amount["currency"],
                                            actor=_actor(request))
            return 201, {"code": card.code, "balance": {"amount": card.balance, "currency": card.currency}}

        result = run_idempotent(client_id=request.user.pk, key=key, request_hash=request_hash, perform=issue)
        return idempotent_response(result, location=f"/api/v1/gift-cards/{result.body['code']}")


class GiftCardDetailApi(APIView):
    @extend_schema(operation_id="gift_cards_retrieve", responses={
        200: GIFT_CARD, **error_responses(s404="`not_found`: no gift card with this code")})
    def get(self, request, code: str):
        return Response(gift_card_document_for(client=request.user, code=code))


__all__ = ["CustomerDetailApi", "CustomerListApi", "CustomerMergeApi", "CustomerMergeUndoApi",
           "GiftCardDetailApi", "GiftCardIssueApi"]
