"""The reconciliation's reads match inside Postgres and send back only what needs a line of
its own; these hold the cases the exact-match sums must not swallow."""

from datetime import date

import pytest

from apps.inventory.models import Location
from apps.reports.business_day import location_bounds, location_day
from apps.reports.enums import ReconciliationClass as C
from apps.reports.reconciliation import reconcile_days
from apps.reports.reconciliation_reads import match_tenders
from apps.reports.services import ProcessorFact, record_processor_refund
from apps.returns import services as returns
from apps.returns.models import RefundPart
from tests.reports.conftest import sale, utc
from tests.reports.test_reconciliation import assert_lines_add_up, classes, processor_payment, the_day

DAY = date(2026, 11, 24)
pytestmark = pytest.mark.django_db


def all_bounds(day, shop):
    return {location: location_bounds(day, day, location) for location in Location.objects.all()}


def test_exact_matches_come_back_as_one_sum_per_day_and_the_rest_as_rows(shop):
    exact = sale("OAK", "exact", utc(2026, 11, 24, 18), [("BURRITO", 1)])
    other = sale("OAK", "other", utc(2026, 11, 24, 19), [("TACO", 2)])
    processor_payment(exact, fee=30)
    processor_payment(other, fee=20, amount=700)  # the processor took 50 less

    found = match_tenders(first_day=DAY, last_day=DAY, bounds=all_bounds(DAY, shop))

    assert found.matched == {(DAY, shop.oak.pk, "square"): ("USD", 950)}
    assert list(found.tenders) == [("payment", other.payments.get().pk)]
    assert [(record.gross, record.tender_key) for record in found.records] == [
        (700, ("payment", other.payments.get().pk))]


def test_a_record_weeks_after_its_sale_is_found_by_its_tender(shop):
    """A record outside the week-wide window around the days is looked up by its tender."""
    order = sale("OAK", "late", utc(2026, 11, 24, 18), [("BURRITO", 1)])
    processor_payment(order, fee=0, at=utc(2026, 12, 10, 18))

    reconcile_days(first_day=DAY, last_day=DAY, today=date(2026, 11, 25))

    day = the_day(shop.oak)
    assert classes(day) == {C.ACROSS_CUTOFF: 950}
    assert day.lines.get().note == "the processor has it on 2026-12-10"
    assert_lines_add_up(day)


def test_a_refund_the_processor_recorded_nets_out_of_the_day_it_was_given(shop):
    order = sale("OAK", "s1", utc(2026, 11, 24, 18), [("BURRITO", 2)])
    processor_payment(order, fee=0)
    refund = returns.refund_order(order_id=order.pk, amount=500, reason="late", actor="test")
    part = refund.parts.get()
    RefundPart.objects.filter(pk=part.pk).update(status="completed", reference="rf-1")
    record_processor_refund(fact=ProcessorFact(
        platform="square", platform_id="rf-1", platform_payment_id="pay-s1", amount=500, currency="USD",
        occurred_at=refund.created_at, status="COMPLETED", method="CARD", location=shop.oak))
    day = location_day(refund.created_at, shop.oak)

    found = match_tenders(first_day=day, last_day=day, bounds=all_bounds(day, shop))
    assert found.matched == {(day, shop.oak.pk, "square"): ("USD", -500)}
    assert not found.tenders and not found.records

    reconcile_days(first_day=day, last_day=day, today=day)
    refund_day = the_day(shop.oak, day=day)
    assert (refund_day.sold, refund_day.processor_gross) == (-500, -500)
    assert classes(refund_day) == {C.REFUND_LATER_PAYOUT: -500}
    assert_lines_add_up(refund_day)
