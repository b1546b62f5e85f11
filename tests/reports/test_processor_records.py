"""Processor records and payouts: recorded once per platform id, updated on a re-read,
linked to our tenders and refund parts, and held to their sums by the database."""

from datetime import UTC, date, datetime

import pytest
from django.db import IntegrityError, transaction

from apps.orders import services as orders
from apps.orders.enums import PaymentStatus
from apps.reports.models import Payout, PayoutEntry, ProcessorRecord
from apps.reports.services import (
    PayoutEntryFact,
    PayoutFact,
    ProcessorFact,
    record_payout,
    record_processor_payment,
    record_processor_refund,
)
from apps.returns.models import Refund, RefundPart

PAID_AT = datetime(2026, 11, 25, 3, 30, tzinfo=UTC)  # 19:30 on the 24th in Oakland


def register_sale(*, reference="sq-pay-1", amount=1125, tip=0):
    order, _ = orders.record_external_order(order=orders.ExternalOrderInput(
        channel="register", source_name="Square", external_id=f"sale-{reference}", location_code="OAK",
        lines=(orders.LineInput("TACO", 3),), placed_at=PAID_AT, fulfillment_type="in_store",
        already_fulfilled=True, platform="square",
        tenders=(orders.TenderFact(type="card", amount=amount, tip=tip, platform="square",
                                   reference=reference, status=PaymentStatus.PAID),)))
    return order


def payment_fact(**overrides):
    values = {"platform": "square", "platform_id": "sq-pay-1", "amount": 1125, "tip": 200, "fee": 0,
              "currency": "USD", "occurred_at": PAID_AT, "status": "APPROVED", "method": "CARD",
              "card_brand": "VISA"}
    return ProcessorFact(**{**values, **overrides})


@pytest.fixture
def oakland(shop):
    shop.oak.timezone = "America/Los_Angeles"
    shop.oak.save(update_fields=["timezone"])
    return shop


def test_a_payment_is_recorded_once_and_a_reread_brings_its_fee_and_status(oakland):
    order = register_sale()
    first = record_processor_payment(fact=payment_fact())
    again = record_processor_payment(fact=payment_fact(fee=46, status="COMPLETED"))

    assert ProcessorRecord.objects.count() == 1
    assert again.pk == first.pk
    assert (again.amount, again.tip, again.gross, again.fee, again.net) == (1125, 200, 1325, 46, 1279)
    assert again.status == "COMPLETED"
    assert again.payment == order.payments.get()
    assert again.order == order
    assert again.location == oakland.oak
    assert again.business_day == date(2026, 11, 24)  # the store's day, not UTC's 25th
    assert again.kind == "payment"


def test_a_payment_read_before_its_sale_links_when_read_again(oakland):
    record_processor_payment(fact=payment_fact(location=oakland.oak))
    assert ProcessorRecord.objects.get().payment is None

    order = register_sale()
    record = record_processor_payment(fact=payment_fact(location=oakland.oak))

    assert record.payment == order.payments.get()
    assert record.order == order


def test_the_platforms_own_business_day_wins(oakland):
    record = record_processor_payment(fact=payment_fact(business_day=date(2026, 11, 23)))
    assert record.business_day == date(2026, 11, 23)


def test_a_refund_is_stored_negative_and_linked_to_the_part_concord_sent(oakland):
    order = register_sale()
    tender = order.payments.get()
    refund = Refund.objects.create(order=order, status="pending", amount=500, currency="USD")
    part = RefundPart.objects.create(refund=refund, payment=tender, amount=500, platform="square",
                                     status="sent", reference="sq-ref-1")

    record = record_processor_refund(fact=payment_fact(
        platform_id="sq-ref-1", platform_payment_id="sq-pay-1", amount=500, tip=0, fee=-15,
        status="COMPLETED"))

    assert (record.kind, record.amount, record.gross) == ("refund", -500, -500)
    assert (record.fee, record.net) == (-15, -485)
    assert record.refund_part == part
    assert record.payment == tender
    assert record.order == order


def test_a_refund_made_at_the_pos_links_to_the_tender_it_refunds(oakland):
    order = register_sale()
    record = record_processor_refund(fact=payment_fact(platform_id="pos-ref", platform_payment_id="sq-pay-1",
                                                       amount=300, tip=0))
    assert record.refund_part is None
    assert record.payment == order.payments.get()


def test_the_database_refuses_a_record_that_does_not_add_up(oakland):
    with pytest.raises(IntegrityError), transaction.atomic():
        ProcessorRecord.objects.create(platform="square", platform_id="x", kind="payment", amount=100, tip=0,
                                       gross=100, fee=3, net=100, currency="USD", occurred_at=PAID_AT,
                                       business_day=date(2026, 11, 24), status="COMPLETED")
    with pytest.raises(IntegrityError), transaction.atomic():
        ProcessorRecord.objects.create(platform="square", platform_id="y", kind="refund", amount=100, tip=0,
                                       gross=100, fee=0, net=100, currency="USD", occurred_at=PAID_AT,
                                       business_day=date(2026, 11, 24), status="COMPLETED")
    assert ProcessorRecord.objects.count() == 0


def square_payout(status="SENT"):
    return PayoutFact(platform="square", platform_payout_id="po_1", status=status, amount=1229,
                      currency="USD", arrival_date=date(2026, 11, 26), bank_reference="E2E-1")


def square_entries():
    return [
        PayoutEntryFact(platform_entry_id="pe_1", entry_type="charge", platform_type="CHARGE", gross=1325,
                        fee=46, net=1279, currency="USD", source_payment_id="sq-pay-1"),
        PayoutEntryFact(platform_entry_id="pe_2", entry_type="refund", platform_type="REFUND", gross=-50,
                        fee=0, net=-50, currency="USD", source_payment_id="sq-pay-1",
                        source_refund_id="sq-ref-9"),
    ]


def test_a_payout_is_recorded_with_its_entries_linked_and_a_reread_changes_only_its_status(oakland):
    order = register_sale()
    record = record_processor_payment(fact=payment_fact(fee=46))
    payout = record_payout(fact=square_payout(), entries=square_entries())
    again = record_payout(fact=square_payout("PAID"), entries=square_entries())

    assert again.pk == payout.pk
    assert Payout.objects.get().status == "PAID"
    assert PayoutEntry.objects.count() == 2
    charge = PayoutEntry.objects.get(platform_entry_id="pe_1")
    assert charge.processor_record == record
    assert charge.payment == order.payments.get()
    refund = PayoutEntry.objects.get(platform_entry_id="pe_2")
    assert refund.payment == order.payments.get()  # the refund itself was never read: its tender is
    assert sum(e.net for e in again.entries.all()) == again.amount


def test_payout_lines_read_before_their_payments_link_later(oakland):
    from apps.reports.processor_services import link_payout_entries

    record_payout(fact=square_payout(), entries=square_entries())
    assert PayoutEntry.objects.filter(payment__isnull=False).count() == 0
    order = register_sale()
    record_processor_payment(fact=payment_fact(fee=46))

    link_payout_entries(platform="square")

    charge = PayoutEntry.objects.get(platform_entry_id="pe_1")
    assert charge.payment == order.payments.get()
    assert charge.processor_record.platform_id == "sq-pay-1"


def test_an_entry_whose_net_is_not_gross_less_fee_is_refused_except_a_shopify_adjustment(oakland):
    bad = PayoutEntryFact(platform_entry_id="pe_x", entry_type="charge", platform_type="CHARGE", gross=100,
                          fee=3, net=100, currency="USD")
    with pytest.raises(IntegrityError):
        record_payout(fact=square_payout(), entries=[bad])
    assert Payout.objects.count() == 0

    adjustment = PayoutEntryFact(platform_entry_id="bt_1", entry_type="adjustment",
                                 platform_type="adjustment", gross=-150, fee=-25, net=-175, currency="USD")
    shopify = PayoutFact(platform="shopify", platform_payout_id="623721858", status="paid", amount=-175,
                         currency="USD")
    payout = record_payout(fact=shopify, entries=[adjustment])
    assert payout.entries.get().net == -175


# ---------------------------------------------------------------- fees reported apart (Shopify)


def shopify_payment_fact(**overrides):
    """An order transaction as the Shopify reader gives it: no fee of its own (fee None)."""
    return payment_fact(**{"platform": "shopify", "platform_id": "389404470", "tip": 0, "fee": None,
                           "method": "shopify_payments", **overrides})


def shopify_charge_payout(fee=39):
    return PayoutFact(platform="shopify", platform_payout_id="623721858", status="paid",
                      amount=1125 - fee, currency="USD"), [
        PayoutEntryFact(platform_entry_id="bt_1", entry_type="charge", platform_type="charge/charge",
                        gross=1125, fee=fee, net=1125 - fee, currency="USD", source_payment_id="389404470")]


def test_a_fee_reported_apart_sets_the_records_fee_and_net_once(oakland):
    from apps.reports.services import ProcessorFeeFact, record_processor_fees

    record = record_processor_payment(fact=shopify_payment_fact())
    assert (record.fee, record.net) == (0, 1125)
    fees = [ProcessorFeeFact(platform_id="389404470", kind="payment", fee=39),
            ProcessorFeeFact(platform_id="389404470", kind="refund", fee=7),  # no such refund: ignored
            ProcessorFeeFact(platform_id="unknown", kind="payment", fee=5)]

    assert record_processor_fees(platform="shopify", fees=fees) == 1
    assert record_processor_fees(platform="shopify", fees=fees) == 0

    record.refresh_from_db()
    assert (record.gross, record.fee, record.net) == (1125, 39, 1086)
    assert ProcessorRecord.objects.count() == 1
    # The order transaction read again (a repeated webhook) keeps the fee it does not carry.
    again = record_processor_payment(fact=shopify_payment_fact(status="success"))
    assert (again.fee, again.net, again.status) == (39, 1086, "success")


def test_a_record_read_after_its_payout_line_takes_the_lines_fee(oakland):
    payout, entries = shopify_charge_payout(fee=39)
    record_payout(fact=payout, entries=entries)

    record = record_processor_payment(fact=shopify_payment_fact())

    assert (record.fee, record.net) == (39, 1086)
    assert PayoutEntry.objects.get().fee == record.fee


def test_a_refunds_fee_given_back_is_negative_and_a_charges_line_is_not_a_refunds(oakland):
    from apps.reports.services import ProcessorFeeFact, record_processor_fees

    payout, entries = shopify_charge_payout()
    record_payout(fact=payout, entries=[*entries, PayoutEntryFact(
        platform_entry_id="bt_9", entry_type="charge", platform_type="charge/charge", gross=300, fee=9,
        net=291, currency="USD", source_payment_id="389404471")])
    refund = record_processor_refund(fact=shopify_payment_fact(platform_id="389404471", amount=300,
                                                               platform_payment_id="389404470"))
    assert (refund.fee, refund.net) == (0, -300)  # a charge line naming its id is not its fee

    record_processor_fees(platform="shopify", fees=[
        ProcessorFeeFact(platform_id="389404471", kind="refund", fee=-9)])

    refund.refresh_from_db()
    assert (refund.gross, refund.fee, refund.net) == (-300, -9, -291)
