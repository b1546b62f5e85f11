import pytest
from django.core.management import call_command

from apps.inventory.models import StockLevel
from apps.inventory.selectors import list_ledger_mismatches
from apps.inventory.services import adjust_stock, set_item_86d


def test_check_stock_ledger_passes_when_levels_match(shop, capsys):
    call_command("check_stock_ledger")
    assert "Stock ledger OK" in capsys.readouterr().out


def test_check_stock_ledger_exits_non_zero_on_a_difference(shop, capsys):
    StockLevel.objects.filter(variant=shop.taco).update(on_hand=39)  # a write that skipped the ledger
    with pytest.raises(SystemExit) as exit_info:
        call_command("check_stock_ledger")
    assert exit_info.value.code == 1
    assert "on_hand 39 vs ledger 40" in capsys.readouterr().err


def test_a_count_sets_on_hand_through_the_ledger(shop):
    level = adjust_stock(location_id=shop.oak.pk, variant_id=shop.taco.pk, counted=12, actor="test")
    assert level.on_hand == 12
    assert list_ledger_mismatches() == []


def test_86_and_back(shop):
    assert set_item_86d(location_id=shop.oak.pk, variant_id=shop.taco.pk, is_86d=True).is_86d
    assert not set_item_86d(location_id=shop.oak.pk, variant_id=shop.taco.pk, is_86d=False).is_86d
