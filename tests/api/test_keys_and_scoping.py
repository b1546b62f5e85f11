"""Staff keys and channel keys on every endpoint of API v1 part 2: two phone keys and a
web key never see each other's orders or customers; staff keys see every channel;
finance only reads; refused writes change nothing."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apps.core.api_auth import hash_key
from apps.core.models import ApiClient, AuditEntry, IdempotencyRecord
from apps.customers.models import Customer, CustomerMerge, StoredValueAccount
from apps.orders.models import Order
from tests.api.conftest import SHOPPERS
from tests.helpers import post_order, row_counts, simple_order

CHANNEL_KEYS = ("pieline", "callhero", "checkout")


def customer_id_of(world, name):
    return world[name]["customer"]["id"]


class TestCreateApiKey:
    @pytest.mark.parametrize("role", ["customer_service", "finance"])
    def test_a_staff_key_has_its_role_and_no_channel(self, db, role):
        out = StringIO()
        call_command("create_api_key", "--role", role, "--name", "Helpdesk", stdout=out)

        raw_key = out.getvalue().strip().splitlines()[-1]
        client = ApiClient.objects.get(key_hash=hash_key(raw_key))
        assert (client.name, client.role, client.channel) == ("Helpdesk", role, "")
        assert f"for the {role} role" in out.getvalue()

    def test_a_channel_key_is_still_made_with_channel(self, db):
        out = StringIO()
        call_command("create_api_key", "--channel", "web", "--name", "Checkout", stdout=out)
        client = ApiClient.objects.get(key_hash=hash_key(out.getvalue().strip().splitlines()[-1]))
        assert (client.channel, client.role) == ("web", "")

    @pytest.mark.parametrize("args", [["--channel", "web", "--role", "finance"], [],
                                      ["--role", "admin"]])
    def test_a_key_is_one_kind_or_refused(self, db, args):
        with pytest.raises(CommandError):
            call_command("create_api_key", *args, "--name", "X", stdout=StringIO(), stderr=StringIO())
        assert ApiClient.objects.count() == 0


class TestOrders:
    @pytest.mark.parametrize("reader", CHANNEL_KEYS)
    def test_a_channel_key_lists_only_its_own_orders(self, keys, world, reader):
        listed = keys[reader].get("/api/v1/orders").json()

        assert [order["id"] for order in listed["orders"]] == [world[reader]["id"]]
        assert listed["next"] is None
        for other in CHANNEL_KEYS:
            if other != reader:  # not even when searched for by number, name or phone
                for q in (str(world[other]["id"]), SHOPPERS[other]["name"], SHOPPERS[other]["phone"]):
                    assert keys[reader].get("/api/v1/orders", {"q": q}).json()["orders"] == []

    @pytest.mark.parametrize("staff", ["helpdesk", "finance"])
    def test_a_staff_key_lists_and_reads_every_channels_orders(self, keys, world, staff):
        listed = keys[staff].get("/api/v1/orders").json()["orders"]

        assert sorted(order["id"] for order in listed) == sorted(order["id"] for order in world.values())
        assert {order["channel"] for order in listed} == {"phone", "web"}
        for order in world.values():
            assert keys[staff].get(f"/api/v1/orders/{order['id']}").json() == order | {
                "status": "accepted"}

    def test_a_staff_key_places_no_order(self, keys, world):
        before = row_counts()
        response = post_order(keys["helpdesk"], simple_order(), key="staff-order")
        assert response.status_code == 403
        assert response.json()["errors"][0]["code"] == "forbidden"
        assert row_counts() == before

    def test_finance_moves_no_order_and_customer_service_may(self, keys, world):
        order_id = world["pieline"]["id"]
        response = keys["finance"].post(f"/api/v1/orders/{order_id}/cancel", HTTP_IDEMPOTENCY_KEY="c1")
        assert response.status_code == 403
        assert response.json()["errors"][0]["code"] == "forbidden"
        assert Order.objects.get(pk=order_id).status == "accepted"
        assert not IdempotencyRecord.objects.filter(client=keys["finance"].api_client).exists()

        response = keys["helpdesk"].post(f"/api/v1/orders/{order_id}/cancel", HTTP_IDEMPOTENCY_KEY="c1")
        assert (response.status_code, response.json()["status"]) == (200, "canceled")


class TestCustomers:
    @pytest.mark.parametrize("reader", CHANNEL_KEYS)
    def test_a_channel_key_sees_only_the_customers_of_its_own_orders(self, keys, world, reader):
        listed = keys[reader].get("/api/v1/customers").json()
        assert [c["id"] for c in listed["customers"]] == [customer_id_of(world, reader)]

        for other in CHANNEL_KEYS:
            if other == reader:
                continue
            by_phone = keys[reader].get("/api/v1/customers", {"q": SHOPPERS[other]["phone"]}).json()
            assert by_phone["customers"] == []
            response = keys[reader].get(f"/api/v1/customers/{customer_id_of(world, other)}")
            assert response.status_code == 404
            assert response.json()["errors"][0]["code"] == "not_found"

        own = keys[reader].get(f"/api/v1/customers/{customer_id_of(world, reader)}").json()
        assert [order["id"] for order in own["orders"]] == [world[reader]["id"]]

    def test_a_channel_key_sees_only_its_own_orders_of_a_shared_customer(self, keys, world):
        # Ana calls the other phone vendor too: one customer, two clients' orders
        other = post_order(keys["callhero"], simple_order(customer=SHOPPERS["pieline"]), key="ana-2").json()
        ana = customer_id_of(world, "pieline")
        assert other["customer"]["id"] == ana

        seen_by = {name: [o["id"] for o in keys[name].get(f"/api/v1/customers/{ana}").json()["orders"]]
                   for name in ("pieline", "callhero", "helpdesk")}
        assert seen_by == {"pieline": [world["pieline"]["id"]], "callhero": [other["id"]],
                           "helpdesk": [other["id"], world["pieline"]["id"]]}

    @pytest.mark.parametrize("staff", ["helpdesk", "finance"])
    def test_a_staff_key_finds_any_shopper_by_phone_with_balances(self, keys, world, staff):
        assert keys[staff].get("/api/v1/customers", {"query": "Ben"}).json()["errors"][0]["code"] == (
            "unknown_parameter")
        found = keys[staff].get("/api/v1/customers", {"q": "(510) 555-0177"}).json()
        assert found == {"customers": [{
            "id": customer_id_of(world, "callhero"), "name": "Ben Okafor",
            "emails": ["ben@example.com"], "phones": ["+15105550177"], "loyalty": {"balance": 0},
            "store_credit": {"balance": {"amount": 0, "currency": "USD"}}, "merged_into": None}],
            "next": None}


class TestWritesAreForCustomerService:
    @pytest.mark.parametrize("writer", [*CHANNEL_KEYS, "finance"])
    def test_others_are_refused_and_nothing_changes(self, keys, world, writer):
        ana, ben = customer_id_of(world, "pieline"), customer_id_of(world, "callhero")
        merge = CustomerMerge.objects.create(survivor_id=ana, other_id=ben, moved={}, before={})
        before = (row_counts(), StoredValueAccount.objects.count(), AuditEntry.objects.count())
        api = keys[writer]

        answers = [
            api.post(f"/api/v1/customers/{ana}/merge", {"other": ben}, format="json",
                     HTTP_IDEMPOTENCY_KEY="m"),
            api.post(f"/api/v1/customers/{ana}/merge", {"other": ben, "dry_run": True}, format="json"),
            api.post(f"/api/v1/customer-merges/{merge.pk}/undo", HTTP_IDEMPOTENCY_KEY="u"),
            api.post("/api/v1/gift-cards", {"amount": {"amount": 2500, "currency": "USD"}}, format="json",
                     HTTP_IDEMPOTENCY_KEY="g"),
        ]

        assert [(a.status_code, a.json()["errors"][0]["code"]) for a in answers] == [(403, "forbidden")] * 4
        assert (row_counts(), StoredValueAccount.objects.count(), AuditEntry.objects.count()) == before
        assert Customer.objects.filter(merged_into__isnull=False).count() == 0
        assert CustomerMerge.objects.get().undone_at is None


def test_a_customer_page_is_built_in_a_constant_number_of_queries(keys, world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.customers.services import adjust_points, issue_store_credit

    def queries_for_a_page():
        with CaptureQueriesContext(connection) as captured:
            body = keys["helpdesk"].get("/api/v1/customers").json()
        return len(captured), len(body["customers"])

    queries_for_a_page()  # the key is now remembered
    few, listed = queries_for_a_page()
    for n in range(8):
        shopper = {"name": f"S{n}", "email": f"s{n}@example.com"}
        order = post_order(keys["pieline"], simple_order(customer=shopper), key=f"more-{n}").json()
        adjust_points(customer_id=order["customer"]["id"], points=10 + n, reason="welcome")
        issue_store_credit(customer_id=order["customer"]["id"], amount=100, currency="USD")
    assert queries_for_a_page() == (few, listed + 8)
