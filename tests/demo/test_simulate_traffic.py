"""The demo's deliveries: a long `make run` keeps selling instead of running dry."""

import pytest
from django.core.management import CommandError, call_command

from apps.core.models import OutboxEvent
from apps.demo.management.commands import simulate_traffic
from apps.demo.management.commands.simulate_traffic import receive_deliveries
from apps.inventory.models import StockLevel, StockMovement
from apps.inventory.selectors import list_ledger_mismatches


def test_a_delivery_tops_up_only_the_items_running_low_through_the_ledger(shop, monkeypatch):
    monkeypatch.setattr(simulate_traffic, "SELLING_SKUS", ["BURRITO", "TACO", "SCARCE"])
    announced = OutboxEvent.objects.count()

    assert receive_deliveries(below=5, units=24) == 1

    levels = {level.variant.sku: level.on_hand for level in StockLevel.objects.select_related("variant")}
    assert levels == {"BURRITO": 50, "TACO": 40, "SCARCE": 27}
    receipt = StockMovement.objects.get(reference="simulated delivery")
    assert (receipt.reason, receipt.on_hand_delta) == ("receipt", 24)
    assert OutboxEvent.objects.count() == announced + 1  # every platform hears of it
    assert list_ledger_mismatches() == []
    assert receive_deliveries(below=5, units=24) == 0  # nothing is low any more


def test_an_86d_item_is_not_restocked(shop, monkeypatch):
    monkeypatch.setattr(simulate_traffic, "SELLING_SKUS", ["SCARCE"])
    StockLevel.objects.filter(variant=shop.scarce).update(is_86d=True)
    assert receive_deliveries(below=5, units=24) == 0


@pytest.mark.parametrize("arguments", [["--restock-below", "-1"], ["--restock-units", "0"],
                                       ["--restock-every", "0"]])
def test_delivery_settings_out_of_range_are_refused(db, arguments):
    with pytest.raises(CommandError, match="restock"):
        call_command("simulate_traffic", "--seconds", "1", *arguments)


def test_a_negative_pickup_delay_is_refused(db):
    with pytest.raises(CommandError, match="pickup-after"):
        call_command("simulate_traffic", "--seconds", "1", "--pickup-after", "-1")
