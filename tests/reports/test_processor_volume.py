"""seed_volume's processor money: every paid card tender and card refund part has its
processor record, and the Square and Shopify records are paid out, once each, in payouts
that equal their entries."""

import io

import pytest
from django.core.management import call_command
from django.db.models import Count, F, Sum

from apps.orders.models import Payment
from apps.reports.models import Payout, PayoutEntry, ProcessorRecord
from apps.returns.models import RefundPart


@pytest.fixture
def seeded(db):
    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_volume", "--orders", "600", "--days", "10", "--seed", "7", stdout=io.StringIO())


def test_each_paid_card_tender_and_card_refund_has_its_processor_record(seeded):
    cards = Payment.objects.filter(tender_type="card", status="paid").exclude(platform="")
    payments = ProcessorRecord.objects.filter(kind="payment")
    assert payments.count() == cards.count() > 0
    assert not payments.exclude(gross=F("payment__amount") + F("payment__tip_amount")).exists()
    assert not payments.exclude(fee=F("payment__processing_fee_amount")).exists()
    assert not payments.exclude(platform_id=F("payment__reference")).exists()
    card_parts = RefundPart.objects.filter(payment__tender_type="card").exclude(platform="")
    refunds = ProcessorRecord.objects.filter(kind="refund")
    assert refunds.count() == card_parts.count() > 0
    assert not refunds.exclude(gross=-F("refund_part__amount")).exists()
    assert set(ProcessorRecord.objects.values_list("platform", flat=True)) == {"square", "shopify", "toast",
                                                                               "clover"}


def test_square_and_shopify_records_are_paid_out_once_in_payouts_equal_to_their_entries(seeded):
    paid_out = ProcessorRecord.objects.filter(platform__in=["square", "shopify"])
    assert PayoutEntry.objects.count() == paid_out.count()
    assert not PayoutEntry.objects.values("processor_record").annotate(n=Count("id")).filter(n__gt=1).exists()
    assert set(Payout.objects.values_list("platform", flat=True)) == {"square", "shopify"}
    totals = Payout.objects.annotate(entries_net=Sum("entries__net"))
    assert not totals.exclude(amount=F("entries_net")).exists()
    assert not PayoutEntry.objects.exclude(net=F("gross") - F("fee")).exists()
    days = PayoutEntry.objects.values_list("payout__arrival_date", "processor_record__business_day")
    assert {(arrival - day).days for arrival, day in days} == {1}
