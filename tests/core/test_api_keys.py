"""API keys: a channel key works only on the orders its own client placed; a revoked key is
refused on its next request in every process; the memo of keys stays bounded."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import requests

from apps.core.api_auth import KEY_CACHE_SIZE, _active_client, active_client_by_hash, hash_key
from apps.core.cache import ttl_memo
from apps.core.enums import ApiRole
from apps.core.models import ApiClient, AuditEntry
from apps.core.services import revoke_api_client
from apps.orders.models import Order
from apps.orders.selectors import get_order
from tests.helpers import database_url_of_this_test, levels, post_order, row_counts, simple_order

BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture
def vendors(shop, make_client):
    """Two phone vendors and a custom web checkout, each with an order of its own."""
    keys = {"pieline": make_client("phone", "PieLine"), "callhero": make_client("phone", "CallHero"),
            "checkout": make_client("web", "Custom checkout")}
    orders = {name: post_order(api, simple_order(), key=f"{name}-order").json()["id"]
              for name, api in keys.items()}
    return keys, orders


def transition(api, order_id, action, key):
    return api.post(f"/api/v1/orders/{order_id}/{action}", HTTP_IDEMPOTENCY_KEY=key)


class TestChannelKeysSeeOnlyTheirOwnOrders:
    @pytest.mark.parametrize("reader, owner", [
        ("pieline", "callhero"), ("callhero", "pieline"),  # two phone vendors, same channel
        ("checkout", "pieline"), ("pieline", "checkout"),  # web and phone
    ])
    def test_another_clients_order_reads_as_not_found(self, vendors, reader, owner):
        keys, orders = vendors
        response = keys[reader].get(f"/api/v1/orders/{orders[owner]}")

        assert response.status_code == 404
        assert response.json() == {"errors": [{"code": "not_found", "detail": f"No order {orders[owner]}."}]}
        # exactly what an id that does not exist gets: nothing tells the order is there
        missing = keys[reader].get("/api/v1/orders/99999999").json()
        assert missing["errors"][0]["code"] == "not_found"

    @pytest.mark.parametrize("action", ["cancel", "ready", "fulfill"])
    def test_another_clients_order_cannot_be_moved_and_nothing_changes(self, vendors, action):
        keys, orders = vendors
        stock_before, counts_before = levels(), row_counts()
        audit_before = AuditEntry.objects.count()

        for reader, owner in (("callhero", "pieline"), ("checkout", "pieline"), ("pieline", "checkout")):
            response = transition(keys[reader], orders[owner], action, f"{reader}-{action}")
            assert response.status_code == 404
            assert response.json()["errors"][0]["code"] == "not_found"

        assert set(Order.objects.values_list("status", flat=True)) == {"accepted"}
        assert levels() == stock_before
        # the refused requests leave no idempotency record, movement, outbox or audit row
        assert row_counts() == counts_before
        assert AuditEntry.objects.count() == audit_before

    def test_each_client_reads_and_cancels_its_own_order(self, vendors):
        keys, orders = vendors
        for name, api in keys.items():
            assert api.get(f"/api/v1/orders/{orders[name]}").json()["id"] == orders[name]
            response = transition(api, orders[name], "cancel", f"{name}-cancel")
            assert response.status_code == 200
            assert response.json()["status"] == "canceled"

    def test_every_write_records_the_acting_client(self, vendors):
        keys, orders = vendors
        transition(keys["callhero"], orders["callhero"], "ready", "r")
        transition(keys["callhero"], orders["callhero"], "cancel", "c")

        trail = AuditEntry.objects.filter(object_type="Order", object_id=str(orders["callhero"]))
        assert sorted(trail.values_list("action", "actor_client_id")) == sorted([
            ("order.placed", keys["callhero"].api_client.pk),
            ("order.ready", keys["callhero"].api_client.pk),
            ("order.canceled", keys["callhero"].api_client.pk),
        ])

    def test_a_staff_key_sees_every_channels_orders(self, vendors):
        _, orders = vendors
        staff = ApiClient.objects.create(name="Helpdesk", channel="web", role=ApiRole.CUSTOMER_SERVICE,
                                         key_prefix="ck_x", key_hash="x" * 64)
        assert {get_order(order_id, client=staff).pk for order_id in orders.values()} == set(orders.values())


class TestRevocation:
    def test_a_revoked_key_is_refused_on_its_next_request_in_this_process(self, shop, phone):
        assert phone.get("/api/v1/locations").status_code == 200  # the key is now remembered
        revoke_api_client(client_id=phone.api_client.pk, actor_label="test")

        response = phone.get("/api/v1/locations")
        assert response.status_code == 401
        assert response.json()["errors"][0]["code"] == "invalid_api_key"
        revoked = ApiClient.objects.get(pk=phone.api_client.pk)
        assert (revoked.is_active, revoked.revoked_at is not None) == (False, True)
        assert AuditEntry.objects.filter(action="api_client.revoked", object_id=str(revoked.pk)).exists()

    def test_a_key_deactivated_in_the_admin_is_refused_at_once(self, shop, phone):
        assert phone.get("/api/v1/locations").status_code == 200
        phone.api_client.is_active = False
        phone.api_client.save()  # what the admin's change form does
        assert phone.get("/api/v1/locations").status_code == 401

    def test_revoking_twice_or_an_unknown_client_says_so(self, shop, phone):
        revoke_api_client(client_id=phone.api_client.pk)
        with pytest.raises(Exception, match="already revoked"):
            revoke_api_client(client_id=phone.api_client.pk)
        with pytest.raises(Exception, match="No API client"):
            revoke_api_client(client_id=987654)


@pytest.mark.django_db(transaction=True)
def test_a_key_revoked_by_another_process_is_refused_on_the_next_request(shop, phone, live_server):
    """The server (live_server) has the key in its memo; `manage.py revoke_api_key` runs
    in a process of its own; the server's very next request with the key is refused."""
    url = f"{live_server.url}/api/v1/locations"
    headers = {"Authorization": f"Bearer {phone.raw_key}"}
    for _ in range(2):
        assert requests.get(url, headers=headers, timeout=10).status_code == 200
    assert active_client_by_hash(hash_key(phone.raw_key)) is not None  # remembered here

    revoke = subprocess.run(
        [sys.executable, "manage.py", "revoke_api_key", str(phone.api_client.pk)], cwd=BASE_DIR,
        env={**__import__("os").environ, "DATABASE_URL": database_url_of_this_test()},
        capture_output=True, text=True, timeout=120,
    )
    assert revoke.returncode == 0, revoke.stderr
    assert f"Revoked API client #{phone.api_client.pk}" in revoke.stdout

    response = requests.get(url, headers=headers, timeout=10)
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "invalid_api_key"


def test_the_key_memo_is_bounded(shop, phone):
    for n in range(KEY_CACHE_SIZE + 50):
        active_client_by_hash(f"{n:064x}")
    assert _active_client.cache_len() == KEY_CACHE_SIZE


def test_a_memo_forgets_the_least_recently_used_first():
    calls = []

    @ttl_memo(60, maxsize=2)
    def double(n):
        calls.append(n)
        return 2 * n

    assert [double(1), double(2), double(1), double(3)] == [2, 4, 2, 6]  # 2 is now the oldest
    assert [double(1), double(2)] == [2, 4]
    assert calls == [1, 2, 3, 2]


def test_the_admin_revokes_a_key_through_the_service_and_the_audit_names_who(shop, phone, admin_client,
                                                                             admin_user):
    assert phone.get("/api/v1/locations").status_code == 200
    response = admin_client.post("/admin/core/apiclient/", {
        "action": "revoke", "_selected_action": [phone.api_client.pk]})

    assert response.status_code == 302
    assert phone.get("/api/v1/locations").status_code == 401
    entry = AuditEntry.objects.get(action="api_client.revoked")
    assert (entry.object_id, entry.actor_user) == (str(phone.api_client.pk), admin_user)
    assert ApiClient.objects.get(pk=phone.api_client.pk).revoked_at is not None
