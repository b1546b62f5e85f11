"""The money readers end to end, over HTTP against the emulators: a card sale with a tip at
each platform, its processor record with the platform's fee, the platform's settlement
(`POST /__emulator/settle`) read back as a payout whose lines are linked to our tender, or
for Toast and Clover the export files imported as deposits."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from apps.connectors.clover import money as clover_money
from apps.connectors.services.money import read_all_money
from apps.connectors.shopify import money as shopify_money
from apps.connectors.toast import poller as toast_poller
from apps.orders.models import Payment
from apps.reports.models import DepositRow, Payout, ProcessorRecord
from apps.reports.services import import_deposit_file

from .connector_support import control as control_at
from .connector_support import drain
from .test_platform_money import clover, shopify, square, toast  # noqa: F401 (fixtures)
from .test_square_connector import control, settle

pytestmark = pytest.mark.django_db(transaction=True)


def settle_money(emulator) -> dict:
    through = (timezone.now() + timedelta(days=5)).isoformat()
    return control_at(emulator, "POST", "settle", {"through": through})


def export(emulator, path: str, **params) -> bytes:
    answer = requests.get(f"{emulator.url}/__emulator/exports/{path}", params=params, timeout=10)
    answer.raise_for_status()
    return answer.content


def test_square_payment_and_payout_are_read_and_linked(square):  # noqa: F811
    sale = control(
        square,
        "sale",
        {
            "location": "OAK",
            "lines": [{"sku": "TACO-ASADA", "quantity": 2}],
            "tender": {"type": "card", "tip": 150},
        },
    )
    settle(square)
    tender = Payment.objects.get(reference=sale["payment_id"])

    settle_money(square)
    settle(square)  # the payout.sent webhook arrives and is applied
    found = read_all_money(platform="square")

    assert found["square:OAK"]["payments"] == 1
    record = ProcessorRecord.objects.get(platform_id=sale["payment_id"])
    assert (record.payment, record.tip, record.fee) == (tender, 150, square.card_fee(tender.amount + 150))
    payout = Payout.objects.get(platform="square")
    assert payout.amount == sum(payout.entries.values_list("net", flat=True))
    charge = payout.entries.get(entry_type="charge")
    assert (charge.payment, charge.processor_record, charge.gross) == (tender, record, tender.amount + 150)
    assert charge.fee == record.fee
    read_all_money(platform="square")
    assert (ProcessorRecord.objects.count(), Payout.objects.count()) == (1, 1)


def test_shopify_transactions_and_payout_are_read_and_linked(shopify):  # noqa: F811
    control(shopify, "sale", {"location": "OAK", "lines": [{"sku": "HOT-SAUCE", "quantity": 2}]})
    settle(shopify)
    tender = Payment.objects.get(platform="shopify")
    record = ProcessorRecord.objects.get(platform="shopify")
    assert (record.payment, record.gross) == (tender, tender.amount)
    shopify_money.read_money(shopify_link())  # no payout yet: the fee is on the pending balance
    record.refresh_from_db()
    assert record.fee > 0 and not Payout.objects.exists()

    settle_money(shopify)
    shopify_money.read_money(shopify_link())

    payout = Payout.objects.get(platform="shopify")
    charge = payout.entries.get(entry_type="charge")
    assert (charge.payment, charge.processor_record, charge.gross) == (tender, record, tender.amount)
    record.refresh_from_db()  # its fee came with the charge's balance transaction
    assert (record.fee, record.net) == (charge.fee, charge.net) and record.fee > 0
    payout_row = payout.entries.get(entry_type="payout")
    assert payout_row.net == -payout.amount
    assert sum(e.net for e in payout.entries.exclude(entry_type="payout")) == payout.amount


def shopify_link():
    from apps.connectors.models import PlatformConnection

    return PlatformConnection.objects.get(platform="shopify")


def test_toast_payments_come_with_the_poll_and_its_exports_import_as_deposits(toast):  # noqa: F811
    sale = control_at(
        toast.emulator,
        "POST",
        "sale",
        {
            "location": "BKN",
            "lines": [{"sku": "TACO-ASADA", "quantity": 3}],
            "tender": {"type": "card", "tip": 200},
        },
    )
    assert toast_poller.poll(toast.link) == 1
    drain(toast.emulator)
    tender = Payment.objects.get(platform="toast")
    record = ProcessorRecord.objects.get(platform="toast")
    assert (record.payment, record.tip, record.fee) == (tender, 200, tender.processing_fee_amount)
    assert record.fee > 0

    settle_money(toast.emulator)
    details = export(
        toast.emulator,
        "toast/PaymentDetails.csv",
        location="BKN",
        business_date=record.business_day.strftime("%Y%m%d"),
    )
    payouts = export(toast.emulator, "toast/payouts.csv")
    first = import_deposit_file(platform="toast", name="PaymentDetails.csv", content=details)
    second = import_deposit_file(platform="toast", name="payouts.csv", content=payouts)

    assert first.created and second.created, (first.problems, second.problems)
    row = DepositRow.objects.get(kind="payment")
    assert (row.payment, row.amount, row.tip) == (tender, tender.amount, 200)
    assert row.fee == record.fee  # the export's V/MC/D Fees column
    payout = Payout.objects.get(platform="toast")
    assert payout.amount == tender.amount + 200 - record.fee
    assert payout.location == toast.link.location
    assert not import_deposit_file(platform="toast", name="again.csv", content=payouts).created
    assert sale["order_id"]


def test_clover_payments_are_read_and_its_deposit_report_imports(clover):  # noqa: F811
    control_at(
        clover.emulator,
        "POST",
        "sale",
        {
            "location": "CHI",
            "lines": [{"sku": "TACO-ASADA", "quantity": 2}],
            "tender": {"type": "card", "tip": 125},
        },
    )
    drain(clover.emulator)
    tender = Payment.objects.get(platform="clover")

    assert clover_money.read_money(clover.link) == {"payments": 1, "refunds": 0}
    record = ProcessorRecord.objects.get(platform="clover")
    assert (record.payment, record.amount, record.tip, record.fee) == (tender, tender.amount, 125, 0)

    settle_money(clover.emulator)
    result = import_deposit_file(
        platform="clover", name="deposits.csv", content=export(clover.emulator, "clover/deposits.csv")
    )

    assert result.created, result.problems
    payout = Payout.objects.get(platform="clover")
    assert payout.location == clover.link.location
    row = payout.deposit_rows.get()
    assert row.amount == tender.amount + 125
    assert payout.amount == row.amount - row.fee > 0
