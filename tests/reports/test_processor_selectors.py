"""Reads of the processor records: per-day totals as the processors recorded them, and the
records no tender of ours matches."""

from datetime import UTC, date, datetime

from apps.reports.processor_selectors import (
    list_payouts,
    list_unmatched_processor_records,
    processor_day_totals,
)
from apps.reports.services import (
    PayoutFact,
    ProcessorFact,
    record_payout,
    record_processor_payment,
    record_processor_refund,
)

from .test_processor_records import register_sale


def fact(platform_id, amount, *, tip=0, fee=0, day=24, location=None):
    return ProcessorFact(
        platform="square",
        platform_id=platform_id,
        amount=amount,
        tip=tip,
        fee=fee,
        currency="USD",
        occurred_at=datetime(2026, 11, day, 20, tzinfo=UTC),
        status="COMPLETED",
        location=location,
    )


def test_day_totals_and_unmatched_records(shop):
    register_sale(reference="sq-pay-1")
    record_processor_payment(fact=fact("sq-pay-1", 1125, tip=200, fee=46))
    record_processor_payment(
        fact=fact("sq-pay-2", 500, fee=20, location=shop.oak)
    )  # a sale Concord does not have
    record_processor_refund(fact=fact("sq-ref-1", 300, fee=-5, location=shop.oak))
    record_processor_payment(fact=fact("sq-pay-3", 999, day=26))  # outside the range

    [row] = processor_day_totals(first_day=date(2026, 11, 24), last_day=date(2026, 11, 25))

    assert row["business_day"] == date(2026, 11, 24)
    assert (row["payments"], row["payments_gross"], row["refunds"], row["refunds_gross"]) == (
        2,
        1825,
        1,
        -300,
    )
    assert (row["tips"], row["fees"], row["net"], row["unmatched"]) == (200, 61, 1825 - 300 - 61, 2)
    unmatched = list_unmatched_processor_records(first_day=date(2026, 11, 24), last_day=date(2026, 11, 25))
    assert [r.platform_id for r in unmatched] == ["sq-pay-2", "sq-ref-1"]


def test_payouts_by_arrival_date(shop):
    for number, arrival in ((1, date(2026, 11, 25)), (2, date(2026, 11, 27))):
        record_payout(
            fact=PayoutFact(
                platform="square",
                platform_payout_id=f"po-{number}",
                status="PAID",
                amount=100 * number,
                currency="USD",
                arrival_date=arrival,
            ),
            entries=[],
        )

    payouts = list_payouts(first_day=date(2026, 11, 24), last_day=date(2026, 11, 26))

    assert [p.platform_payout_id for p in payouts] == ["po-1"]
