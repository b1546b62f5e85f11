"""Merge preview, merge and undo over HTTP; gift cards issued and read; every write
replayed by its Idempotency-Key; points earned on a web order spent on a phone order."""

import json

import pytest

from apps.core.models import IdempotencyRecord
from apps.customers.models import Customer, CustomerMerge, StoredValueAccount
from apps.customers.services import issue_gift_card
from apps.orders.models import Order
from tests.helpers import post_order, simple_order


def post(api, path, body=None, key=None):
    extra = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    if body is None:
        return api.post(path, **extra)
    return api.post(path, data=json.dumps(body), content_type="application/json", **extra)


@pytest.fixture
def twins(keys, world):
    """Ana called PieLine; later 'A. Ruiz' ordered on the web with another email and phone."""
    web = post_order(keys["checkout"], simple_order(customer={
        "name": "A. Ruiz", "email": "ana.work@example.com", "phone": "+15105550100"}), key="twin").json()
    return world["pieline"]["customer"]["id"], web["customer"]["id"], web["id"]


class TestMerge:
    def test_a_dry_run_previews_and_changes_nothing(self, keys, twins):
        ana, twin, _ = twins
        response = post(keys["helpdesk"], f"/api/v1/customers/{ana}/merge", {"other": twin, "dry_run": True})

        assert response.status_code == 200
        preview = response.json()
        assert (preview["survivor"], preview["other"], preview["can_merge"], preview["blockers"]) == (
            ana, twin, True, [])
        moves = preview["moves"]
        assert (moves["orders"], moves["emails"], moves["phones"]) == (1, 1, 1)
        assert not CustomerMerge.objects.exists()
        assert Customer.objects.get(pk=twin).merged_into_id is None

    def test_merge_then_read_then_undo(self, keys, twins):
        ana, twin, twin_order = twins
        staff = keys["helpdesk"]

        response = post(staff, f"/api/v1/customers/{ana}/merge", {"other": twin}, key="merge-1")

        assert response.status_code == 201
        merged = response.json()
        merge = CustomerMerge.objects.get()
        assert (merged["merge"], merged["survivor"], merged["other"]) == (merge.pk, ana, twin)
        assert merged["moved"] == {"orders": 1, "emails": 1, "phones": 1, "external_ids": 0, "gift_cards": 0,
                                   "loyalty_entries": 0, "store_credit_entries": 0}
        assert sorted(merged["customer"]["emails"]) == ["ana.work@example.com", "ana@example.com"]
        assert response["Location"] == f"/api/v1/customers/{ana}"
        # the other id answers with its survivor; its order is now Ana's
        assert staff.get(f"/api/v1/customers/{twin}").json()["merged_into"] == ana
        assert Order.objects.get(pk=twin_order).customer_id == ana
        assert [o["id"] for o in staff.get("/api/v1/orders", {"customer": twin}).json()["orders"]] == [
            o.pk for o in Order.objects.filter(customer_id=ana).order_by("-placed_at", "-pk")]

        undone = post(staff, f"/api/v1/customer-merges/{merge.pk}/undo", key="undo-1")

        assert undone.status_code == 200
        answer = undone.json()
        assert (answer["merge"], answer["survivor"], answer["other"]) == (merge.pk, ana, twin)
        assert staff.get(f"/api/v1/customers/{twin}").json()["merged_into"] is None
        assert Order.objects.get(pk=twin_order).customer_id == twin

    def test_writes_replay_by_their_key(self, keys, twins):
        ana, twin, _ = twins
        staff = keys["helpdesk"]
        first = post(staff, f"/api/v1/customers/{ana}/merge", {"other": twin}, key="m")
        again = post(staff, f"/api/v1/customers/{ana}/merge", {"other": twin}, key="m")

        assert (again.status_code, again.json(), again["Idempotent-Replayed"]) == (201, first.json(), "true")
        assert CustomerMerge.objects.count() == 1
        reused = post(staff, f"/api/v1/customers/{twin}/merge", {"other": ana}, key="m")
        assert (reused.status_code, reused.json()["errors"][0]["code"]) == (422, "idempotency_key_reused")

        merge_id = first.json()["merge"]
        undo = post(staff, f"/api/v1/customer-merges/{merge_id}/undo", key="u")
        undo_again = post(staff, f"/api/v1/customer-merges/{merge_id}/undo", key="u")
        assert (undo_again.status_code, undo_again.json(), undo_again["Idempotent-Replayed"]) == (
            200, undo.json(), "true")

    def test_refused_merges_are_409_with_each_reason_and_bind_no_key(self, keys, twins):
        ana, twin, _ = twins
        staff = keys["helpdesk"]

        same = post(staff, f"/api/v1/customers/{ana}/merge", {"other": ana}, key="same")
        assert same.status_code == 409
        assert [e["code"] for e in same.json()["errors"]] == ["same_customer"]

        post(staff, f"/api/v1/customers/{ana}/merge", {"other": twin}, key="ok")
        again = post(staff, f"/api/v1/customers/{ana}/merge", {"other": twin}, key="again")
        into_tombstone = post(staff, f"/api/v1/customers/{twin}/merge", {"other": ana}, key="back")
        assert (again.status_code, [e["code"] for e in again.json()["errors"]]) == (409, ["already_merged"])
        assert into_tombstone.status_code == 409
        assert {e["code"] for e in into_tombstone.json()["errors"]} == {"survivor_is_merged"}
        assert not IdempotencyRecord.objects.filter(key__in=["same", "again", "back"]).exists()

        merge = CustomerMerge.objects.get()
        post(staff, f"/api/v1/customer-merges/{merge.pk}/undo", key="u1")
        twice = post(staff, f"/api/v1/customer-merges/{merge.pk}/undo", key="u2")
        assert (twice.status_code, twice.json()["errors"][0]["code"]) == (409, "merge_already_undone")

    @pytest.mark.parametrize("path, body, key, status, code", [
        ("/api/v1/customers/99999999/merge", {"other": 1}, "k", 404, "not_found"),
        ("/api/v1/customer-merges/99999999/undo", None, "k", 404, "not_found"),
        ("/api/v1/customers/{ana}/merge", {"other": "{twin}"}, "k", 422, "invalid"),
        ("/api/v1/customers/{ana}/merge", {"other": 0}, "k", 422, "min_value"),
        ("/api/v1/customers/{ana}/merge", {"other": "{twin_id}", "extra": 1}, "k", 422, "unknown_field"),
        ("/api/v1/customers/{ana}/merge", {"other": "{twin_id}"}, None, 422, "idempotency_key_missing"),
    ])
    def test_bad_requests(self, keys, twins, path, body, key, status, code):
        ana, twin, _ = twins
        path = path.format(ana=ana)
        if body and body.get("other") == "{twin_id}":
            body = {**body, "other": twin}
        response = post(keys["helpdesk"], path, body, key=key)
        assert response.status_code == status
        assert code in [e["code"] for e in response.json()["errors"]]
        assert not CustomerMerge.objects.exists()


class TestGiftCards:
    def test_issue_read_and_replay(self, keys, shop):
        staff = keys["helpdesk"]
        body = {"amount": {"amount": 2500, "currency": "USD"}}

        issued = post(staff, "/api/v1/gift-cards", body, key="card-1")
        again = post(staff, "/api/v1/gift-cards", body, key="card-1")

        assert issued.status_code == 201
        card = issued.json()
        assert card["balance"] == {"amount": 2500, "currency": "USD"} and len(card["code"]) == 16
        assert issued["Location"] == f"/api/v1/gift-cards/{card['code']}"
        assert (again.status_code, again.json(), again["Idempotent-Replayed"]) == (201, card, "true")
        assert StoredValueAccount.objects.filter(kind="gift_card").count() == 1

        read = staff.get(f"/api/v1/gift-cards/{card['code'].lower()}").json()
        assert (read["code"], read["balance"]) == (card["code"], card["balance"])
        assert [(e["kind"], e["amount"]["amount"]) for e in read["ledger"]] == [("issue", 2500)]

        second = post(staff, "/api/v1/gift-cards", body, key="card-2").json()
        assert second["code"] != card["code"]

    @pytest.mark.parametrize("body, code", [
        ({"amount": {"amount": 0, "currency": "USD"}}, "min_value"),
        ({"amount": {"amount": 10**8 + 1, "currency": "USD"}}, "max_value"),
        ({"amount": {"amount": 500, "currency": "XXQ"}}, "invalid"),
        ({"amount": 500}, "invalid"),
        ({}, "required"),
    ])
    def test_bad_amounts_issue_nothing(self, keys, shop, body, code):
        response = post(keys["helpdesk"], "/api/v1/gift-cards", body, key="bad")
        assert response.status_code == 422
        assert code in [e["code"] for e in response.json()["errors"]]
        assert not StoredValueAccount.objects.exists()
        assert not IdempotencyRecord.objects.exists()

    def test_unknown_code_is_404(self, keys, shop):
        response = keys["finance"].get("/api/v1/gift-cards/NOSUCHCARD")
        assert (response.status_code, response.json()["errors"][0]["code"]) == (404, "not_found")

    def test_a_channel_key_reads_a_balance_but_not_another_clients_order_ids(self, keys, shop):
        card = issue_gift_card(amount=3000, currency="USD")
        spent_by = {}
        for name in ("pieline", "callhero"):
            body = simple_order(tenders=[{"type": "gift_card", "code": card.code,
                                          "amount": {"amount": 500, "currency": "USD"}},
                                         {"type": "pay_at_pickup"}])
            spent_by[name] = post_order(keys[name], body, key=f"spend-{name}").json()["id"]

        seen = keys["pieline"].get(f"/api/v1/gift-cards/{card.code}").json()

        assert seen["balance"] == {"amount": 2000, "currency": "USD"}
        assert sorted(filter(None, (e["order"] for e in seen["ledger"]))) == [spent_by["pieline"]]
        staff_view = keys["finance"].get(f"/api/v1/gift-cards/{card.code}").json()
        assert sorted(filter(None, (e["order"] for e in staff_view["ledger"]))) == sorted(spent_by.values())


def test_points_earned_on_the_web_are_spent_on_the_phone(keys, shop):
    """A web checkout order paid by card earns the shopper points; the same shopper calls
    a phone vendor (matched by phone, written another way) and pays part in points; a
    register integration's staff key finds the balance by phone."""
    web_body = simple_order(quantity=2, customer={"name": "Dee Lopez", "email": "dee@example.com",
                                                  "phone": "+15105550142"})
    web_body["tenders"] = [{"type": "card", "reference": "pi_1"}]
    web = post_order(keys["checkout"], web_body, key="web-1").json()
    earned = web["loyalty"]["earned_points"]
    assert (web["tenders"][0]["status"], earned) == ("paid", web["total"]["amount"] // 100)
    staff = keys["helpdesk"]
    found = staff.get("/api/v1/customers", {"q": "510-555-0142"}).json()["customers"]
    assert [(c["id"], c["loyalty"]["balance"]) for c in found] == [(web["customer"]["id"], earned)]

    phone_body = simple_order(customer={"name": "Dee", "phone": "(510) 555-0142"})
    phone_body["tenders"] = [{"type": "loyalty", "points": earned}, {"type": "pay_at_pickup"}]
    call = post_order(keys["pieline"], phone_body, key="call-1")

    assert call.status_code == 201, call.content
    order = call.json()
    assert order["customer"]["id"] == web["customer"]["id"]
    assert order["loyalty"]["redeemed_points"] == earned
    assert [(t["type"], t["status"]) for t in order["tenders"]] == [
        ("loyalty", "paid"), ("pay_at_pickup", "pending")]
    document = staff.get(f"/api/v1/customers/{web['customer']['id']}").json()
    assert document["loyalty"]["balance"] == 0
    assert sorted(o["id"] for o in document["orders"]) == sorted([web["id"], order["id"]])
    assert sorted(o["channel"] for o in document["orders"]) == ["phone", "web"]


def test_an_order_that_matched_nobody_has_no_customer_but_a_contact(keys, shop):
    order = post_order(keys["pieline"], simple_order(customer={"name": "Walk-in"}), key="anon").json()
    assert order["customer"] is None
    assert order["contact"] == {"name": "Walk-in", "phone": "", "email": ""}
