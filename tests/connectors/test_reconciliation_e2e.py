"""The reconciliation end to end, over HTTP against the emulators: sales and refunds made at
the platforms reach Concord, the connectors read the processors' payments, fees and payouts
(or finance imports the Toast and Clover files), and each day reconciles with every cent
of the difference classified."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.connectors.clover import money as clover_money
from apps.connectors.services.money import read_all_money
from apps.connectors.toast import poller as toast_poller
from apps.reports.enums import ReconciliationClass as C
from apps.reports.enums import ReconciliationStatus
from apps.reports.models import ProcessorRecord, ReconciliationDay
from apps.reports.reconciliation import reconcile_days
from apps.reports.services import import_deposit_file
from apps.returns.models import RefundPart
from tests.connectors.connector_support import control as control_at
from tests.connectors.connector_support import drain
from tests.connectors.test_money_readers_e2e import export, settle_money
from tests.connectors.test_platform_money import clover, shopify, square, toast  # noqa: F401 (fixtures)
from tests.connectors.test_square_connector import control, settle

pytestmark = pytest.mark.django_db(transaction=True)


def reconcile_all() -> list[ReconciliationDay]:
    days = sorted(set(ProcessorRecord.objects.values_list("business_day", flat=True)))
    today = timezone.now().date()
    result = reconcile_days(first_day=days[0] - timedelta(days=1), last_day=days[-1] + timedelta(days=1),
                            today=today)
    for day in result:
        assert sum(line.amount for line in day.lines.all()) == day.difference == day.sold - day.paid_out
    return result


def by_class(day: ReconciliationDay) -> dict[str, int]:
    found: dict[str, int] = {}
    for line in day.lines.all():
        found[line.classification] = found.get(line.classification, 0) + line.amount
    return found


def test_square_sales_a_register_refund_and_the_payout_reconcile(square):  # noqa: F811
    first = control(square, "sale", {"location": "OAK", "lines": [{"sku": "TACO-ASADA", "quantity": 2}],
                                     "tender": {"type": "card", "tip": 150}})
    control(square, "sale", {"location": "OAK", "lines": [{"sku": "TACO-ASADA", "quantity": 1}],
                             "tender": {"type": "card"}})
    settle(square)
    control(square, "refund", {"order_id": first["order_id"], "amount": 300})
    settle(square)
    settle_money(square)
    settle(square)
    read_all_money(platform="square")

    (day,) = [d for d in reconcile_all() if d.platform == "square"]
    fees = sum(ProcessorRecord.objects.filter(platform="square").values_list("fee", flat=True))
    assert day.status == ReconciliationStatus.RECONCILED, by_class(day)
    assert by_class(day) == {C.FEE: fees}
    assert day.sold == day.processor_gross > 0 and day.paid_out == day.sold - fees


def test_a_shopify_day_reconciles_to_the_fees_on_its_balance_transactions(shopify):  # noqa: F811
    first = control(shopify, "sale", {"location": "OAK", "lines": [{"sku": "HOT-SAUCE", "quantity": 2}]})
    control(shopify, "sale", {"location": "OAK", "lines": [{"sku": "HOT-SAUCE", "quantity": 1}]})
    settle(shopify)
    control(shopify, "refund", {"order_id": first["order_id"], "amount": 300})
    settle(shopify)
    settle_money(shopify)
    read_all_money(platform="shopify")
    read_all_money(platform="shopify")  # a second read changes nothing

    records = ProcessorRecord.objects.filter(platform="shopify")
    fees = sum(records.values_list("fee", flat=True))
    assert records.count() == 3 and fees > 0
    (day,) = [d for d in reconcile_all() if d.platform == "shopify"]
    assert day.status == ReconciliationStatus.RECONCILED, by_class(day)
    assert by_class(day) == {C.FEE: fees}
    assert day.fees == fees and day.paid_out == day.sold - fees
    assert day.sold == day.processor_gross > 0


def test_a_toast_day_reconciles_once_its_payouts_file_is_imported(toast):  # noqa: F811
    control_at(toast.emulator, "POST", "sale", {
        "location": "BKN", "lines": [{"sku": "TACO-ASADA", "quantity": 3}],
        "tender": {"type": "card", "tip": 200}})
    assert toast_poller.poll(toast.link) == 1
    drain(toast.emulator)
    (before,) = [d for d in reconcile_all() if d.platform == "toast"]
    assert set(by_class(before)) <= {C.FEE, C.IN_TRANSIT, C.ACROSS_CUTOFF}

    settle_money(toast.emulator)
    result = import_deposit_file(platform="toast", name="payouts.csv", content=export(toast.emulator,
                                                                                      "toast/payouts.csv"))
    assert result.created, result.problems

    days = [d for d in reconcile_all() if d.platform == "toast"]
    assert all(d.status == ReconciliationStatus.RECONCILED for d in days), [by_class(d) for d in days]
    assert sum(d.paid_out for d in days) > 0


def test_a_clover_day_reconciles_with_the_deposit_reports_fees(clover):  # noqa: F811
    control_at(clover.emulator, "POST", "sale", {
        "location": "CHI", "lines": [{"sku": "TACO-ASADA", "quantity": 2}],
        "tender": {"type": "card", "tip": 125}})
    drain(clover.emulator)
    clover_money.read_money(clover.link)
    settle_money(clover.emulator)
    result = import_deposit_file(platform="clover", name="deposits.csv",
                                 content=export(clover.emulator, "clover/deposits.csv"))
    assert result.created, result.problems

    days = [d for d in reconcile_all() if d.platform == "clover"]
    assert all(d.status == ReconciliationStatus.RECONCILED for d in days), [by_class(d) for d in days]
    (paid,) = [d for d in days if d.paid_out]
    assert set(by_class(paid)) == {C.FEE}  # Clover reports no fee per payment: the statement's explains it


def test_toast_pos_refunds_are_linked_to_their_parts_and_counted_once(toast):  # noqa: F811
    # Two partial refunds of one payment at the POS: Toast shows the refunded total so far.
    sale = control_at(toast.emulator, "POST", "sale", {
        "location": "BKN", "lines": [{"sku": "TACO-ASADA", "quantity": 3}], "tender": {"type": "card"}})
    toast_poller.poll(toast.link)
    drain(toast.emulator)
    for amount in (300, 200):
        control_at(toast.emulator, "POST", "refund", {"order_id": sale["order_id"], "amount": amount})
        toast_poller.poll(toast.link)
        drain(toast.emulator)

    parts = list(RefundPart.objects.order_by("id"))
    records = list(ProcessorRecord.objects.filter(platform="toast", kind="refund").order_by("id"))
    assert [part.amount for part in parts] == [300, 200]
    assert [(record.refund_part_id, -record.gross) for record in records] == [(p.pk, p.amount) for p in parts]
    (day,) = [d for d in reconcile_all() if d.platform == "toast"]
    assert not set(by_class(day)) & {C.MISSING_IN_CONCORD, C.MISSING_AT_PROCESSOR, C.AMOUNT_MISMATCH}
