"""manage.py seed_volume: a small history that holds together like real sales do."""

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from apps.core.models import ExceptionItem
from apps.customers.models import LoyaltyAccount, StoredValueAccount
from apps.demo import volume
from apps.inventory.models import StockLevel, StockMovement
from apps.orders.models import Order, OrderLine, Payment
from apps.returns.models import Refund, RefundLine, RefundPart


def scalar(sql: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


@pytest.fixture
def seeded(db):
    call_command("seed_demo", stdout=io.StringIO())
    stock_before = list(StockLevel.objects.order_by("pk").values_list("pk", "on_hand", "committed"))
    movements_before = StockMovement.objects.count()
    out = io.StringIO()
    call_command("seed_volume", "--orders", "1500", "--days", "30", "--seed", "5", stdout=out)
    return {"out": out.getvalue(), "stock": stock_before, "movements": movements_before}


def test_it_writes_orders_on_every_channel_and_store_over_the_days(seeded):
    orders = Order.objects.filter(external_id__startswith="vol-")
    assert orders.count() == 1500
    assert "1500 orders" in seeded["out"]
    assert set(orders.values_list("channel", flat=True)) == {"web", "register", "phone"}
    assert set(orders.values_list("location__code", flat=True)) == {"OAK", "BKN", "CHI"}
    assert set(orders.values_list("status", flat=True)) == {"fulfilled", "canceled"}
    now = timezone.now()
    assert not orders.filter(placed_at__gt=now).exists()
    assert not orders.filter(placed_at__lt=now - timedelta(days=32)).exists()
    assert orders.filter(placed_at__gte=now - timedelta(days=1)).exists()  # today's dashboard has sales
    repeat = orders.exclude(customer=None).values("customer").annotate(n=Count("id")).filter(n__gt=1)
    assert repeat.exists()


def test_tenders_pay_each_order_and_carry_what_the_platform_reports(seeded):
    assert scalar("""SELECT count(*) FROM orders_order o
                     LEFT JOIN (SELECT order_id, SUM(amount) s FROM orders_payment GROUP BY order_id) p
                     ON p.order_id = o.id WHERE COALESCE(p.s, 0) <> o.total_amount""") == 0
    types = set(Payment.objects.values_list("tender_type", flat=True))
    assert {"card", "cash", "gift_card", "loyalty", "pay_at_pickup"} <= types
    cards = Payment.objects.filter(tender_type="card")
    assert cards.filter(platform="square", processing_fee_amount__gt=0).exists()
    assert cards.filter(platform="shopify", processing_fee_amount__gt=0).exists()
    assert not cards.filter(platform__in=["toast", "clover"], processing_fee_amount__gt=0).exists()
    assert cards.filter(tip_amount__gt=0).exists() and not cards.filter(reference="").exists()
    assert scalar("""SELECT count(*) FROM orders_order o WHERE tip_amount <>
                     (SELECT COALESCE(SUM(tip_amount), 0) FROM orders_payment WHERE order_id = o.id)""") == 0
    assert Order.objects.filter(discount_amount__gt=0).exists()
    assert not Payment.objects.filter(order__status="canceled").exclude(status="voided").exists()


def test_refunds_add_up_on_orders_lines_and_tenders(seeded):
    refunds = Refund.objects.all()
    assert refunds.count() > 10
    assert refunds.filter(lines=None).exists() and refunds.exclude(lines=None).exists()  # money alone, goods
    assert RefundLine.objects.exclude(location=None).exists()  # returned at another store
    assert not refunds.filter(created_at__lt=F("order__placed_at")).exists()  # never before the sale
    assert not refunds.filter(created_at__gt=timezone.now()).exists()
    refunds_with_orders = refunds.select_related("order")
    assert [r for r in refunds_with_orders if r.created_at - r.order.placed_at > timedelta(days=1)]
    for order in Order.objects.filter(refunded_amount__gt=0):
        assert order.refunded_amount == order.refunds.aggregate(s=Sum("amount"))["s"]
    for payment in Payment.objects.filter(refunded_amount__gt=0):
        assert payment.refunded_amount == payment.refund_parts.aggregate(s=Sum("amount"))["s"]
    for line in OrderLine.objects.filter(refunded_quantity__gt=0):
        totals = line.refund_lines.aggregate(q=Sum("quantity"), a=Sum("amount"))
        assert (line.refunded_quantity, line.refunded_amount) == (totals["q"], totals["a"])
    assert RefundPart.objects.count() == refunds.count()


def test_every_balance_equals_its_ledger_and_none_is_negative(seeded):
    loyalty = LoyaltyAccount.objects.annotate(ledger=Sum("entries__points"))
    assert loyalty.filter(balance__gt=0).exists()
    assert all(account.balance == (account.ledger or 0) for account in loyalty)
    stored = StoredValueAccount.objects.annotate(ledger=Sum("entries__amount"))
    assert {account.kind for account in stored} == {"gift_card", "store_credit"}
    assert all(account.balance == (account.ledger or 0) >= 0 for account in stored)
    assert scalar("SELECT count(*) FROM customers_loyaltyentry WHERE kind = 'reverse'") > 0
    redeemed = Payment.objects.filter(tender_type="loyalty").aggregate(s=Sum("points"))["s"]
    assert redeemed == -scalar("SELECT SUM(points) FROM customers_loyaltyentry WHERE kind = 'redeem'")


def test_the_liabilities_rollup_takes_in_the_history(seeded):
    from apps.reports.liabilities import ledger_movements, rolled_up_until
    from apps.reports.models import DailyLiabilityMovement

    rolled = set(DailyLiabilityMovement.objects.values_list("day", "liability", "currency", "kind", "total",
                                                            "entries"))

    assert len(rolled) > 30
    assert rolled == {tuple(movement) for movement in ledger_movements(since=None, until=rolled_up_until())}


def test_exceptions_are_tied_to_orders_and_the_recent_ones_are_open(seeded):
    items = ExceptionItem.objects.all()
    assert items.exists()
    assert all(Order.objects.filter(pk=item.data["order_id"]).exists() for item in items)
    assert not items.filter(Q(status="open"), created_at__lt=timezone.now() - timedelta(days=15)).exists()


def test_stock_is_untouched_and_the_ledger_still_holds(seeded):
    levels = StockLevel.objects.order_by("pk").values_list("pk", "on_hand", "committed")
    assert list(levels) == seeded["stock"]
    assert StockMovement.objects.count() == seeded["movements"]
    call_command("check_stock_ledger", stdout=io.StringIO())


def test_a_second_run_is_refused_and_changes_nothing(seeded):
    with pytest.raises(CommandError, match="already here"):
        call_command("seed_volume", "--orders", "10", stdout=io.StringIO())
    assert Order.objects.count() == 1500


def test_an_unknown_location_is_refused(db):
    call_command("seed_demo", stdout=io.StringIO())
    with pytest.raises(CommandError, match="No location XYZ"):
        call_command("seed_volume", "--orders", "10", "--locations", "OAK,XYZ", stdout=io.StringIO())
    assert not Order.objects.exists()


def test_the_function_adds_more_with_new_customers_and_cards(db):
    call_command("seed_demo", stdout=io.StringIO())
    volume.seed_volume(orders=50, location_codes=["OAK"], days=3, seed=1)
    volume.seed_volume(orders=50, location_codes=["OAK", "BKN"], days=3, seed=1)
    assert Order.objects.count() == 100
