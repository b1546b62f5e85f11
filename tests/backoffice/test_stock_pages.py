"""Stock pages: levels, adjust and count with a reason, 86, transfers, each location's fence."""

import pytest
from django.test import Client

from apps.core.models import AuditEntry, OutboxEvent
from apps.inventory.exceptions import InsufficientStock
from apps.inventory.models import StockLevel, StockMovement
from apps.inventory.selectors import list_ledger_mismatches
from apps.inventory.services import transfer_stock

pytestmark = pytest.mark.django_db


def level(location, variant) -> StockLevel:
    return StockLevel.objects.get(location=location, variant=variant)


def test_a_store_manager_lists_only_their_stock_and_searches_it(stores, signed_in):
    client = signed_in("store_manager", "OAK")
    page = client.get("/stock/")
    assert page.status_code == 200
    assert {lvl.location.code for lvl in page.context["page"]} == {"OAK"}
    found = client.get("/stock/", {"q": "burr"})
    assert [lvl.variant.sku for lvl in found.context["page"]] == ["BURRITO"]
    assert client.get("/stock/", {"location": "BKN"}).context["page"].paginator.count == 0


def test_stock_list_filters_by_state(stores, signed_in):
    client = signed_in("admin")
    low = client.get("/stock/", {"state": "low"})
    assert [(lvl.location.code, lvl.variant.sku) for lvl in low.context["page"]] == [("OAK", "SCARCE")]


def test_the_stock_list_pages_by_code_with_next_and_previous_not_older_and_newer(stores, signed_in,
                                                                                   monkeypatch):
    monkeypatch.setattr("apps.inventory.views.PAGE_SIZE", 2)
    client = signed_in("admin")

    first = client.get("/stock/").content.decode()
    second = client.get("/stock/", {"page": 2}).content.decode()

    assert "Next →" in first and "Older" not in first
    assert "← Previous" in second and "Newer" not in second


def test_adjust_with_a_reason_writes_the_ledger(stores, signed_in):
    client = signed_in("store_manager", "OAK")
    response = client.post("/stock/OAK/BURRITO/", {"action": "change", "kind": "delta", "quantity": "-3",
                                                   "note": "dropped tray"})
    assert response.status_code == 302
    assert level(stores.oak, stores.shop.burrito).on_hand == 47
    movement = StockMovement.objects.filter(level__location=stores.oak).order_by("-id").first()
    assert (movement.reason, movement.on_hand_delta, movement.reference, movement.actor) == (
        "adjustment", -3, "dropped tray", "store_manager-OAK")
    page = client.get("/stock/OAK/BURRITO/")
    assert b"dropped tray" in page.content and b"Adjustment" in page.content


def test_a_count_sets_on_hand(stores, signed_in):
    client = signed_in("admin")
    client.post("/stock/OAK/TACO/", {"action": "change", "kind": "count", "quantity": "12",
                                     "note": "recount"})
    assert level(stores.oak, stores.shop.taco).on_hand == 12
    assert list_ledger_mismatches() == []


def test_a_change_without_a_reason_says_so_next_to_the_field_and_changes_nothing(stores, signed_in):
    client = signed_in("store_manager", "OAK")
    before = StockMovement.objects.count()
    response = client.post("/stock/OAK/BURRITO/", {"action": "change", "kind": "count", "quantity": "-1"})
    assert response.status_code == 200
    form = response.context["change_form"]
    assert form.errors == {"note": ["Say why the stock changes (damaged, recount, delivery #...)."],
                           "quantity": ["A counted quantity cannot be negative."]}
    assert b'class="field-error" id="id_note-error"' in response.content
    assert StockMovement.objects.count() == before


def test_86_and_un86_reach_every_channel_through_the_outbox(stores, signed_in):
    client = signed_in("store_manager", "OAK")
    client.post("/stock/OAK/TACO/", {"action": "86"})
    assert level(stores.oak, stores.shop.taco).is_86d is True
    event = OutboxEvent.objects.filter(topic="stock.changed").order_by("-id").first()
    assert event.payload == {"location_id": stores.oak.pk, "variant_id": stores.shop.taco.pk, "cause": "86d"}
    assert AuditEntry.objects.filter(action="stock.86d").count() == 1
    assert "86’d" in client.get("/stock/OAK/TACO/").content.decode()
    client.post("/stock/OAK/TACO/", {"action": "un86"})
    assert level(stores.oak, stores.shop.taco).is_86d is False


def test_a_store_manager_gets_403_for_another_store_and_changes_nothing(stores, signed_in):
    client = signed_in("store_manager", "OAK")
    assert client.get("/stock/BKN/BURRITO/").status_code == 403
    assert client.get("/stock/BKN/NO-SUCH-SKU/").status_code == 403
    assert client.get("/stock/NOWHERE/BURRITO/").status_code == 403
    before = StockMovement.objects.count()
    assert client.post("/stock/BKN/BURRITO/", {"action": "86"}).status_code == 403
    assert client.post("/stock/BKN/BURRITO/", {"action": "change", "kind": "delta", "quantity": "5",
                                               "note": "x"}).status_code == 403
    assert StockMovement.objects.count() == before
    assert level(stores.bkn, stores.shop.burrito).is_86d is False


@pytest.mark.parametrize("role", ["finance", "customer_service"])
def test_roles_that_only_read_stock_cannot_change_it(stores, signed_in, role):
    client = signed_in(role)
    page = client.get("/stock/BKN/BURRITO/")
    assert page.status_code == 200 and b"change-form" not in page.content
    assert client.post("/stock/BKN/BURRITO/", {"action": "86"}).status_code == 403
    assert level(stores.bkn, stores.shop.burrito).is_86d is False


def test_anonymous_is_sent_to_sign_in_from_stock_pages(stores):
    for path in ("/stock/", "/stock/OAK/BURRITO/"):
        response = Client().get(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/?next=")


def test_a_manager_of_two_stores_transfers_between_them(stores, signed_in):
    client = signed_in("store_manager", "OAK", "BKN")
    response = client.post("/stock/OAK/BURRITO/", {"action": "transfer", "to_location": "BKN",
                                                   "quantity": "4", "note": "weekend"})
    assert response.status_code == 302
    assert level(stores.oak, stores.shop.burrito).on_hand == 46
    assert level(stores.bkn, stores.shop.burrito).on_hand == 24
    moves = StockMovement.objects.filter(reason__in=["transfer_out", "transfer_in"]).order_by("id")
    assert [(m.level.location.code, m.reason, m.on_hand_delta, m.reference) for m in moves] == [
        ("OAK", "transfer_out", -4, "OAK → BKN: weekend"), ("BKN", "transfer_in", 4, "OAK → BKN: weekend")]
    assert list_ledger_mismatches() == []


def test_a_transfer_to_a_store_not_yours_is_refused(stores, signed_in):
    client = signed_in("store_manager", "OAK")
    response = client.post("/stock/OAK/BURRITO/", {"action": "transfer", "to_location": "BKN",
                                                   "quantity": "4"})
    assert response.status_code == 200
    assert "to_location" in response.context["transfer_form"].errors
    assert level(stores.bkn, stores.shop.burrito).on_hand == 20


def test_a_transfer_of_more_than_is_available_is_refused_next_to_the_quantity(stores, signed_in):
    client = signed_in("admin")
    response = client.post("/stock/OAK/SCARCE/", {"action": "transfer", "to_location": "BKN",
                                                  "quantity": "4"})
    assert response.context["transfer_form"].errors == {"quantity": ["Only 3 available to transfer."]}
    assert level(stores.oak, stores.shop.scarce).on_hand == 3


def test_transfer_stock_moves_nothing_when_short(stores):
    with pytest.raises(InsufficientStock):
        transfer_stock(from_location_id=stores.oak.pk, to_location_id=stores.bkn.pk,
                       variant_id=stores.shop.scarce.pk, quantity=5)
    assert level(stores.oak, stores.shop.scarce).on_hand == 3
    assert not StockLevel.objects.filter(location=stores.bkn, variant=stores.shop.scarce,
                                         on_hand__gt=0).exists()
    assert not StockMovement.objects.filter(reason__startswith="transfer").exists()
