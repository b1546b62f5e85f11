import json

import pytest

from apps.core.models import AuditEntry, IdempotencyRecord, OutboxEvent
from apps.inventory.models import StockLevel
from apps.inventory.services import set_item_86d
from apps.orders.models import Order
from tests.helpers import CONTRACT_EXAMPLE, levels, post_order, row_counts, simple_order


def level_of(shop, variant):
    return StockLevel.objects.get(location=shop.oak, variant=variant)


class TestPlaceOrder:
    def test_contract_example_is_priced_from_the_catalog_and_reserves_stock(self, shop, phone):
        response = post_order(phone, CONTRACT_EXAMPLE)

        assert response.status_code == 201, response.json()
        body = response.json()
        assert body["channel"] == "phone"
        assert body["source_name"] == "PieLine"
        assert body["external_id"] == "call-8812"
        assert body["status"] == "accepted"
        assert body["lines"][0]["unit_price"] == {"amount": 1150, "currency": "USD"}
        assert body["lines"][0]["modifiers"] == [{"sku": "EXTRA-GUAC", "name": "Extra guacamole",
                                                  "quantity": 1,
                                                  "price_delta": {"amount": 200, "currency": "USD"}}]
        assert body["total"] == {"amount": 2300, "currency": "USD"}
        assert body["customer"]["phone"] == "+15105550123"
        assert body["fulfillment"] == {"type": "pickup", "at": "2026-11-25T18:30:00+00:00",
                                       "address": None}
        assert response["Location"] == f"/api/v1/orders/{body['id']}"
        level = level_of(shop, shop.burrito)
        assert (level.on_hand, level.committed) == (50, 2)

    def test_totals_with_modifiers_and_several_lines_are_exact(self, shop, phone):
        body = simple_order()
        body["lines"] = [
            {"sku": "BURRITO", "quantity": 3, "modifiers": [{"sku": "EXTRA-GUAC", "quantity": 2},
                                                            {"sku": "EXTRA-CHEESE"}]},
            {"sku": "TACO", "quantity": 7},
            {"sku": "TACO", "quantity": 1, "modifiers": [{"sku": "EXTRA-CHEESE", "quantity": 1}]},
        ]
        response = post_order(phone, body)

        assert response.status_code == 201, response.json()
        lines = response.json()["lines"]
        # burrito 950 + 2*200 + 100 = 1450, x3 = 4350; taco 375 x7 = 2625; taco+cheese 475
        assert [line["total"]["amount"] for line in lines] == [4350, 2625, 475]
        assert response.json()["total"] == {"amount": 7450, "currency": "USD"}
        assert level_of(shop, shop.taco).committed == 8

    def test_the_channel_comes_from_the_key(self, shop, make_client):
        web = make_client("web", name="Custom checkout")
        response = post_order(web, simple_order(), key="w1")
        assert response.json()["channel"] == "web"
        assert Order.objects.get().api_client == web.api_client

    def test_every_order_write_writes_an_outbox_row(self, shop, phone):
        response = post_order(phone, simple_order())
        event = OutboxEvent.objects.get(topic="order.created")
        assert event.topic == "order.created"
        assert event.aggregate_id == response.json()["id"]
        assert event.payload["variant_ids"] == [shop.burrito.pk]
        # written in the same statement: the key's audit entry of the order
        audit = AuditEntry.objects.get(action="order.placed")
        assert (audit.object_type, audit.object_id, audit.actor_client_id, audit.actor_user_id, audit.data) \
            == ("Order", str(event.aggregate_id), phone.api_client.pk, None, {})
        assert audit.created_at == event.created_at

    def test_expected_total_mismatch_is_409_price_changed_with_the_current_total(self, shop, phone):
        before = row_counts()
        body = {**CONTRACT_EXAMPLE, "expected_total": {"amount": 2200, "currency": "USD"}}
        response = post_order(phone, body)

        assert response.status_code == 409
        error = response.json()["errors"][0]
        assert error["code"] == "price_changed"
        assert error["current_total"] == {"amount": 2300, "currency": "USD"}
        assert row_counts() == before

    def test_too_little_stock_names_each_short_line(self, shop, phone):
        before, stock_before = row_counts(), levels()
        body = simple_order()
        body["lines"] = [{"sku": "SCARCE", "quantity": 4}, {"sku": "BURRITO", "quantity": 1},
                         {"sku": "TACO", "quantity": 41}]
        response = post_order(phone, body)

        assert response.status_code == 409
        assert response.json() == {"errors": [
            {"code": "insufficient_stock", "field": "lines[0].quantity", "sku": "SCARCE",
             "requested": 4, "available": 3, "detail": "4 × SCARCE requested, 3 available at OAK."},
            {"code": "insufficient_stock", "field": "lines[2].quantity", "sku": "TACO",
             "requested": 41, "available": 40, "detail": "41 × TACO requested, 40 available at OAK."},
        ]}
        assert row_counts() == before
        assert levels() == stock_before

    def test_safety_stock_is_not_sold(self, shop, phone):
        StockLevel.objects.filter(variant=shop.scarce).update(safety_stock=1)
        assert post_order(phone, simple_order("SCARCE", 3)).status_code == 409
        assert post_order(phone, simple_order("SCARCE", 2), key="k2").status_code == 201

    def test_an_86d_item_is_refused(self, shop, phone):
        set_item_86d(location_id=shop.oak.pk, variant_id=shop.taco.pk, is_86d=True)
        before = row_counts()
        response = post_order(phone, simple_order("TACO"))

        assert response.status_code == 409
        assert response.json()["errors"][0]["code"] == "item_unavailable"
        assert response.json()["errors"][0]["field"] == "lines[0].sku"
        assert row_counts() == before

    def test_a_modifier_of_another_product_is_refused(self, shop, phone):
        body = simple_order("SCARCE")
        body["lines"][0]["modifiers"] = [{"sku": "EXTRA-GUAC"}]
        response = post_order(phone, body)
        assert response.status_code == 422
        assert response.json()["errors"][0]["code"] == "modifier_not_allowed"

    def test_a_reused_external_id_is_a_conflict(self, shop, phone):
        assert post_order(phone, simple_order(external_id="call-1"), key="a").status_code == 201
        response = post_order(phone, simple_order(external_id="call-1"), key="b")
        assert response.status_code == 409
        assert response.json()["errors"][0]["code"] == "duplicate_external_id"
        assert Order.objects.count() == 1


class TestIdempotency:
    def test_same_key_and_body_replays_the_same_answer(self, shop, phone):
        first = post_order(phone, CONTRACT_EXAMPLE, key="same")
        second = post_order(phone, CONTRACT_EXAMPLE, key="same")

        assert second.status_code == first.status_code == 201
        assert second.json() == first.json()
        assert second["Idempotent-Replayed"] == "true"
        assert "Idempotent-Replayed" not in first
        assert Order.objects.count() == 1
        assert level_of(shop, shop.burrito).committed == 2

    def test_same_key_with_another_body_is_422(self, shop, phone):
        post_order(phone, simple_order(quantity=1), key="same")
        response = post_order(phone, simple_order(quantity=2), key="same")

        assert response.status_code == 422
        assert response.json()["errors"][0]["code"] == "idempotency_key_reused"
        assert Order.objects.count() == 1

    def test_keys_are_scoped_per_client(self, shop, make_client):
        one, two = make_client(name="one"), make_client(name="two")
        assert post_order(one, simple_order(), key="shared").status_code == 201
        assert post_order(two, simple_order(quantity=2), key="shared").status_code == 201
        assert Order.objects.count() == 2

    def test_a_refused_request_does_not_bind_its_key(self, shop, phone):
        assert post_order(phone, simple_order("SCARCE", 4), key="k").status_code == 409
        assert not IdempotencyRecord.objects.exists()
        assert post_order(phone, simple_order("SCARCE", 3), key="k").status_code == 201

    def test_a_replay_survives_a_later_price_change(self, shop, phone):
        first = post_order(phone, CONTRACT_EXAMPLE, key="same")
        shop.burrito.price_amount = 999
        shop.burrito.save()
        replay = post_order(phone, CONTRACT_EXAMPLE, key="same")
        assert replay.status_code == 201
        assert replay.json() == first.json()

    def test_missing_key_is_refused(self, shop, phone):
        response = phone.post("/api/v1/orders", data=json.dumps(simple_order()),
                              content_type="application/json")
        assert response.status_code == 422
        assert response.json()["errors"][0]["code"] == "idempotency_key_missing"
        assert Order.objects.count() == 0


class TestReadOrders:
    def test_read_back_an_order(self, shop, phone):
        created = post_order(phone, CONTRACT_EXAMPLE).json()
        response = phone.get(f"/api/v1/orders/{created['id']}")
        assert response.status_code == 200
        assert response.json() == created

    def test_another_channels_order_is_not_found(self, shop, phone, make_client):
        created = post_order(phone, simple_order()).json()
        web = make_client("web")
        response = web.get(f"/api/v1/orders/{created['id']}")
        assert response.status_code == 404
        assert response.json()["errors"][0]["code"] == "not_found"


class TestTransitions:
    def post(self, api, order_id, action, key):
        return api.post(f"/api/v1/orders/{order_id}/{action}", HTTP_IDEMPOTENCY_KEY=key)

    def test_fulfil_moves_committed_out_of_on_hand(self, shop, phone):
        order = post_order(phone, simple_order(quantity=2)).json()
        assert self.post(phone, order["id"], "ready", "r").json()["status"] == "ready"
        response = self.post(phone, order["id"], "fulfill", "f")

        assert response.status_code == 200
        assert response.json()["status"] == "fulfilled"
        level = level_of(shop, shop.burrito)
        assert (level.on_hand, level.committed) == (48, 0)
        assert OutboxEvent.objects.filter(topic="order.fulfilled").count() == 1

    def test_cancel_releases_the_reservation(self, shop, phone):
        order = post_order(phone, simple_order(quantity=2)).json()
        response = self.post(phone, order["id"], "cancel", "c")

        assert response.json()["status"] == "canceled"
        assert response.json()["tenders"][0]["status"] == "voided"
        level = level_of(shop, shop.burrito)
        assert (level.on_hand, level.committed) == (50, 0)

    def test_an_illegal_transition_is_409_and_changes_nothing(self, shop, phone):
        order = post_order(phone, simple_order(quantity=2)).json()
        self.post(phone, order["id"], "cancel", "c")
        stock_before, before = levels(), row_counts()
        response = self.post(phone, order["id"], "fulfill", "f")

        assert response.status_code == 409
        assert response.json()["errors"][0]["code"] == "invalid_transition"
        assert levels() == stock_before
        assert row_counts() == before

    def test_transitions_are_idempotent(self, shop, phone):
        order = post_order(phone, simple_order(quantity=2)).json()
        first = self.post(phone, order["id"], "fulfill", "f")
        again = self.post(phone, order["id"], "fulfill", "f")
        assert again.status_code == 200
        assert again["Idempotent-Replayed"] == "true"
        assert again.json() == first.json()
        assert level_of(shop, shop.burrito).on_hand == 48

    def test_a_key_used_for_one_action_cannot_be_used_for_another(self, shop, phone):
        order = post_order(phone, simple_order(quantity=2)).json()
        self.post(phone, order["id"], "ready", "k")
        response = self.post(phone, order["id"], "cancel", "k")
        assert response.status_code == 422
        assert response.json()["errors"][0]["code"] == "idempotency_key_reused"

    def test_unknown_order_is_404(self, shop, phone):
        response = self.post(phone, 999999, "cancel", "c")
        assert response.status_code == 404


@pytest.mark.parametrize("body, field, code", [
    ({"lines": [{"sku": "BURRITO", "quantity": 0}]}, "lines[0].quantity", "min_value"),
    ({"lines": [{"sku": "BURRITO", "quantity": -3}]}, "lines[0].quantity", "min_value"),
    ({"lines": [{"sku": "BURRITO", "quantity": 10**9}]}, "lines[0].quantity", "max_value"),
    ({"lines": [{"sku": "BURRITO", "quantity": "2"}]}, "lines[0].quantity", "invalid"),
    ({"lines": [{"sku": "BURRITO", "quantity": 1.5}]}, "lines[0].quantity", "invalid"),
    ({"lines": [{"sku": "BURRITO", "quantity": True}]}, "lines[0].quantity", "invalid"),
    ({"lines": [{"sku": 12, "quantity": 1}]}, "lines[0].sku", "invalid"),
    ({"lines": []}, "lines", "min_length"),
    ({"lines": "BURRITO"}, "lines", "not_a_list"),
    ({"lines": [{"sku": "NOPE", "quantity": 1}]}, "lines[0].sku", "unknown_sku"),
    ({"lines": [{"sku": "BURRITO", "quantity": 1, "modifiers": [{"sku": "NOPE"}]}]},
     "lines[0].modifiers[0].sku", "unknown_sku"),
    ({"location": "NOWHERE"}, "location", "unknown_location"),
    ({"location": None}, "location", "required"),
    ({"fulfillment": {"type": "teleport"}}, "fulfillment.type", "invalid_choice"),
    ({"fulfillment": {"type": "delivery"}}, "fulfillment.address", "required"),
    ({"customer": {"phone": "call me maybe"}}, "customer.phone", "invalid_phone"),
    ({"customer": {"email": "not-an-email"}}, "customer.email", "invalid"),
    ({"expected_total": {"amount": 1.5, "currency": "USD"}}, "expected_total.amount", "invalid"),
    ({"tender": {"type": "iou"}}, "tender.type", "invalid_choice"),
    ({"surprise": 1}, "surprise", "unknown_field"),
])
def test_bad_input_is_422_in_the_error_shape_and_leaves_nothing(shop, phone, body, field, code):
    before, stock_before = row_counts(), levels()
    response = post_order(phone, {**simple_order(), **body})

    assert response.status_code == 422, response.json()
    errors = response.json()["errors"]
    assert {"field": field, "code": code}.items() <= errors[0].items(), errors
    assert errors[0]["detail"]
    assert row_counts() == before
    assert levels() == stock_before


@pytest.mark.parametrize("payload, status, code", [
    ("{not json", 400, "malformed_json"),
    ("[1, 2]", 422, "invalid_body"),
    ("", 400, "malformed_json"),
])
def test_a_body_that_is_not_an_order_object_is_refused(shop, phone, payload, status, code):
    response = post_order(phone, payload)
    assert response.status_code == status
    assert response.json()["errors"][0]["code"] == code
    assert Order.objects.count() == 0


class TestAuthentication:
    def test_missing_key_is_401(self, shop, client):
        response = post_order(client, simple_order())
        assert response.status_code == 401
        assert response.json()["errors"][0]["code"] == "not_authenticated"

    def test_bad_key_is_401(self, shop, client):
        response = post_order(client, simple_order(), HTTP_AUTHORIZATION="Bearer ck_wrong")
        assert response.status_code == 401
        assert response.json()["errors"][0]["code"] == "invalid_api_key"

    def test_revoked_key_is_401(self, shop, phone):
        phone.api_client.is_active = False
        phone.api_client.save()
        assert post_order(phone, simple_order()).status_code == 401

    def test_a_register_key_cannot_place_refusable_orders(self, shop, make_client):
        register = make_client("register", name="Till")
        response = post_order(register, simple_order())
        assert response.status_code == 403
        assert response.json()["errors"][0]["code"] == "channel_not_allowed"
        assert Order.objects.count() == 0

    def test_wrong_content_type_is_415(self, shop, phone):
        response = phone.post("/api/v1/orders", data="location=OAK",
                              content_type="application/x-www-form-urlencoded",
                              HTTP_IDEMPOTENCY_KEY="k")
        assert response.status_code == 415
        assert response.json()["errors"][0]["code"] == "unsupported_media_type"
