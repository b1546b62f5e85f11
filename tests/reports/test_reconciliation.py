"""The three-way reconciliation: tenders against processor records against payouts and
deposits, every difference a classified line, the lines adding up to the day's difference."""

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.core.enums import ExceptionKind, ExceptionStatus
from apps.core.models import AuditEntry, ExceptionItem
from apps.inventory.services import upsert_location
from apps.reports.enums import ReconciliationClass as C
from apps.reports.enums import ReconciliationStatus
from apps.reports.models import ReconciliationDay
from apps.reports.reconciliation import mark_day_reviewed, reconcile_days
from apps.reports.services import (
    PayoutEntryFact,
    PayoutFact,
    ProcessorFact,
    import_deposit_file,
    record_payout,
    record_processor_payment,
)
from tests.reports.conftest import refund_at, sale, utc

DAY = date(2026, 11, 24)
TODAY = date(2026, 11, 26)  # two days later: money not paid out yet is in transit, not overdue


def processor_payment(order, *, fee=60, tip=None, at=None, reference=None, amount=None, method="CARD"):
    tender = order.payments.get()
    return record_processor_payment(fact=ProcessorFact(
        platform=tender.platform, platform_id=reference or tender.reference,
        platform_payment_id=reference or tender.reference,
        amount=tender.amount if amount is None else amount, tip=tender.tip_amount if tip is None else tip,
        fee=fee, currency="USD", occurred_at=at or order.placed_at, status="COMPLETED", method=method,
        location=order.location))


def payout(platform, payout_id, entries, *, location, arrival=date(2026, 11, 25), at=None):
    facts = [PayoutEntryFact(platform_entry_id=f"{payout_id}-{n}", entry_type=kind,
                             platform_type=kind.upper(), gross=gross, fee=fee, net=gross - fee,
                             currency="USD", source_payment_id=payment_id,
                             occurred_at=at or utc(2026, 11, 24, 20))
             for n, (kind, payment_id, gross, fee) in enumerate(entries)]
    return record_payout(fact=PayoutFact(platform=platform, platform_payout_id=payout_id, status="PAID",
                                         amount=sum(f.net for f in facts), currency="USD", location=location,
                                         arrival_date=arrival), entries=facts)


def the_day(location, platform="square", day=DAY) -> ReconciliationDay:
    return ReconciliationDay.objects.get(business_day=day, location=location, platform=platform)


def classes(day: ReconciliationDay) -> dict[str, int]:
    found: dict[str, int] = {}
    for line in day.lines.all():
        found[line.classification] = found.get(line.classification, 0) + line.amount
    return found


def assert_lines_add_up(day: ReconciliationDay) -> None:
    assert sum(line.amount for line in day.lines.all()) == day.difference == day.sold - day.paid_out


@pytest.mark.django_db
def test_a_paid_out_sale_is_reconciled_and_its_fee_explains_the_difference(shop):
    order = sale("OAK", "s1", utc(2026, 11, 24, 18), [("BURRITO", 2)], tip=200)  # 1900 + 200 tip
    processor_payment(order, fee=60)
    payout("square", "po-1", [("charge", "pay-s1", 2100, 60)], location=shop.oak)

    reconcile_days(first_day=DAY, last_day=DAY, today=TODAY)

    day = the_day(shop.oak)
    assert (day.sold, day.processor_gross, day.fees, day.paid_out) == (2100, 2100, 60, 2040)
    assert classes(day) == {C.FEE: 60}
    assert day.status == ReconciliationStatus.RECONCILED and day.unexplained == 0
    assert_lines_add_up(day)


@pytest.mark.django_db
def test_money_not_paid_out_yet_is_in_transit_then_overdue(shop):
    order = sale("OAK", "s1", utc(2026, 11, 24, 18), [("BURRITO", 1)])
    processor_payment(order, fee=30)

    reconcile_days(first_day=DAY, last_day=DAY, today=TODAY)
    assert classes(the_day(shop.oak)) == {C.FEE: 30, C.IN_TRANSIT: 920}
    assert the_day(shop.oak).status == ReconciliationStatus.RECONCILED

    reconcile_days(first_day=DAY, last_day=DAY, today=date(2026, 12, 20))
    day = the_day(shop.oak)
    assert classes(day) == {C.FEE: 30, C.OVERDUE_PAYOUT: 920}
    assert day.status == ReconciliationStatus.UNEXPLAINED
    assert_lines_add_up(day)


@pytest.mark.django_db
def test_a_sale_the_processor_lacks_opens_a_variance_that_a_later_run_closes(shop):
    order = sale("OAK", "s1", utc(2026, 11, 24, 18), [("BURRITO", 1)])

    reconcile_days(first_day=DAY, last_day=DAY, today=TODAY)
    day = the_day(shop.oak)
    assert classes(day) == {C.MISSING_AT_PROCESSOR: 950}
    assert day.status == ReconciliationStatus.UNEXPLAINED and day.unexplained == 950
    variance = ExceptionItem.objects.get(kind=ExceptionKind.RECONCILIATION_VARIANCE)
    assert variance.status == ExceptionStatus.OPEN and variance.data["order_id"] == order.pk
    assert variance.value_amount == 950 and variance.location_code == "OAK"

    processor_payment(order, fee=30)
    payout("square", "po-1", [("charge", "pay-s1", 950, 30)], location=shop.oak)
    reconcile_days(first_day=DAY, last_day=DAY, today=TODAY)

    assert the_day(shop.oak).status == ReconciliationStatus.RECONCILED
    variance.refresh_from_db()
    assert variance.status == ExceptionStatus.RESOLVED
    assert ReconciliationDay.objects.count() == 1  # recomputed in place, not added


@pytest.mark.django_db
def test_processor_records_concord_lacks_tips_and_sales_across_the_cutoff(shop):
    tipped = sale("OAK", "tip", utc(2026, 11, 24, 18), [("BURRITO", 1)], tip=100)
    late = sale("OAK", "late", utc(2026, 11, 25, 7, 50), [("TACO", 1)])  # 23:50 in Oakland on the 24th
    processor_payment(tipped, fee=0, tip=150)  # the processor saw a bigger tip
    processor_payment(late, fee=0, at=utc(2026, 11, 25, 8, 10))  # its day: the 25th
    record_processor_payment(fact=ProcessorFact(
        platform="square", platform_id="stranger", platform_payment_id="stranger", amount=500, currency="USD",
        occurred_at=utc(2026, 11, 24, 19), status="COMPLETED", method="CARD", location=shop.oak))

    reconcile_days(first_day=DAY, last_day=date(2026, 11, 25), today=TODAY)

    day = the_day(shop.oak)
    assert classes(day) == {C.TIP: -50, C.ACROSS_CUTOFF: 375, C.MISSING_IN_CONCORD: -500,
                            C.IN_TRANSIT: 1100 + 500}  # what the processor has, to be paid
    assert day.status == ReconciliationStatus.UNEXPLAINED  # the stranger needs a person
    next_day = the_day(shop.oak, day=date(2026, 11, 25))
    assert classes(next_day) == {C.ACROSS_CUTOFF: -375, C.IN_TRANSIT: 375}
    assert next_day.status == ReconciliationStatus.RECONCILED
    assert_lines_add_up(day)
    assert_lines_add_up(next_day)


@pytest.mark.django_db
def test_a_chargeback_in_a_payout_is_explained(shop):
    order = sale("OAK", "s1", utc(2026, 11, 24, 18), [("BURRITO", 1)])
    processor_payment(order, fee=30)
    payout("square", "po-1", [("charge", "pay-s1", 950, 30), ("dispute", "pay-s1", -950, 1500)],
           location=shop.oak)

    reconcile_days(first_day=DAY, last_day=DAY, today=TODAY)

    day = the_day(shop.oak)
    assert classes(day) == {C.FEE: 30, C.CHARGEBACK: 2450}
    assert day.status == ReconciliationStatus.RECONCILED
    assert_lines_add_up(day)


@pytest.mark.django_db
def test_a_toast_deposit_file_reconciles_the_day_and_its_statement_fees(shop):
    bkn = upsert_location(code="BKN", name="Brooklyn", timezone_name="America/New_York",
                          business_day_starts_at=4)
    from tests.conftest import stock
    stock(bkn, shop.burrito, 10)
    order = sale("BKN", "t1", utc(2026, 11, 24, 18), [("BURRITO", 2)], tip=100)
    tender = order.payments.get()
    tender.platform = "toast"
    tender.save(update_fields=["platform"])
    processor_payment(order, fee=50)

    reconcile_days(first_day=DAY, last_day=DAY, today=TODAY)
    assert classes(the_day(bkn, "toast")) == {C.FEE: 50, C.IN_TRANSIT: 1950}

    content = (b"Location,Settled Date,Sales Date,Payment Amount,Refund Amount,Fee Amount,"
               b"Withholding Amount,Payout Amount,Payout Status\n"
               b"Brooklyn,11/25/2026,11/24/2026,20.00,0.00,0.62,0.00,19.38,SENT\n")
    result = import_deposit_file(platform="toast", name="payouts.csv", content=content)
    assert result.created, result.problems
    reconcile_days(first_day=DAY, last_day=DAY, today=TODAY)

    day = the_day(bkn, "toast")
    assert day.paid_out == 1938
    assert classes(day) == {C.FEE: 50 + 12}  # 12 cents more on the statement than per payment
    assert day.status == ReconciliationStatus.RECONCILED
    assert_lines_add_up(day)


@pytest.mark.django_db
def test_a_deposit_of_a_fee_adjustment_alone_is_paid_out_on_its_settled_day(shop):
    bkn = upsert_location(code="BKN", name="Brooklyn", timezone_name="America/New_York",
                          business_day_starts_at=4)
    content = (b"Location,Settled Date,Sales Date,Payment Amount,Refund Amount,Fee Amount,"
               b"Withholding Amount,Payout Amount,Payout Status\n"
               b"Brooklyn,11/24/2026,,0.00,0.00,-1.13,0.00,1.13,SENT\n")  # Toast gives fees back
    assert import_deposit_file(platform="toast", name="payouts.csv", content=content).created

    reconcile_days(first_day=DAY, last_day=DAY, today=TODAY)

    day = the_day(bkn, "toast")
    assert (day.paid_out, classes(day)) == (113, {C.FEE: -113})
    assert day.status == ReconciliationStatus.RECONCILED


@pytest.mark.django_db
def test_a_deposit_in_two_overlapping_exports_is_paid_out_once(shop):
    bkn = upsert_location(code="BKN", name="Brooklyn", timezone_name="America/New_York",
                          business_day_starts_at=4)
    from tests.conftest import stock
    stock(bkn, shop.burrito, 10)
    order = sale("BKN", "t1", utc(2026, 11, 24, 18), [("BURRITO", 2)])
    order.payments.update(platform="toast")
    processor_payment(order, fee=62)
    header = (b"Location,Settled Date,Sales Date,Payment Amount,Refund Amount,Fee Amount,"
              b"Withholding Amount,Payout Amount,Payout Status\n")
    monday = b"Brooklyn,11/25/2026,11/24/2026,19.00,0.00,0.62,0.00,18.38,SENT\n"
    tuesday = b"Brooklyn,11/26/2026,11/25/2026,0.00,0.00,0.00,0.00,0.00,SENT\n"

    # Finance downloads Monday's Payouts Overview, then one for Monday and Tuesday.
    assert import_deposit_file(platform="toast", name="mon.csv", content=header + monday).created
    assert import_deposit_file(platform="toast", name="mon-tue.csv",
                               content=header + monday + tuesday).created
    reconcile_days(first_day=DAY, last_day=DAY, today=TODAY)

    day = the_day(bkn, "toast")
    assert (day.paid_out, classes(day)) == (1838, {C.FEE: 62})
    assert day.status == ReconciliationStatus.RECONCILED


@pytest.mark.django_db
def test_cash_at_the_register_is_not_expected_in_a_payout(shop):
    order = sale("OAK", "cash", utc(2026, 11, 24, 18), [("TACO", 2)])
    processor_payment(order, fee=0, method="CASH")
    order.payments.update(tender_type="cash")

    reconcile_days(first_day=DAY, last_day=DAY, today=date(2027, 1, 31))

    day = the_day(shop.oak)
    assert classes(day) == {C.NON_CARD: 750}
    assert day.status == ReconciliationStatus.RECONCILED


@pytest.mark.django_db
def test_cash_the_till_gives_back_is_no_refund_of_the_processor(shop):
    # A cash sale rung at Square, returned in part through Concord: the till pays it back (a
    # drawer payout), so Square never sees that refund and nothing is missing there.
    order = sale("OAK", "cash", utc(2026, 11, 24, 18), [("TACO", 2)])
    processor_payment(order, fee=0, method="CASH")
    order.payments.update(tender_type="cash")
    refund = refund_at(order, 300, utc(2026, 11, 24, 20))
    assert refund.parts.get().reference.startswith("drawer-payout:")

    reconcile_days(first_day=DAY, last_day=DAY, today=TODAY)

    day = the_day(shop.oak)
    assert classes(day) == {C.NON_CARD: 750}
    assert (day.sold, day.status) == (750, ReconciliationStatus.RECONCILED)


@pytest.mark.django_db
def test_finance_marks_a_day_reviewed_and_a_recomputation_keeps_it(shop, django_user_model):
    order = sale("OAK", "s1", utc(2026, 11, 24, 18), [("BURRITO", 1)])
    processor_payment(order, fee=30)
    reconcile_days(first_day=DAY, last_day=DAY, today=TODAY)
    user = django_user_model.objects.create_user("fin", password="x")

    mark_day_reviewed(day_id=the_day(shop.oak).pk, user=user, note="fees look right")
    reconcile_days(first_day=DAY, last_day=DAY, today=TODAY)

    day = the_day(shop.oak)
    assert day.reviewed_by == user and day.review_note == "fees look right"
    assert AuditEntry.objects.filter(action="reconciliation.reviewed", object_id=str(day.pk)).exists()


# A random day of sales at two processors: each sale may be missing at the processor, carry
# another tip or another day, be paid out exactly, differently or not yet; a stranger record
# and a dispute may join. Whatever happens, every day's lines add up to its difference and
# the days together hold every cent sold and paid out.
sale_shape = st.fixed_dictionaries({
    "units": st.integers(1, 3), "tip": st.sampled_from([0, 100, 250]),
    "seen": st.sampled_from(["same", "missing", "next_day", "tip_differs"]),
    "paid": st.sampled_from(["exact", "none", "short"]), "fee": st.integers(0, 90),
})


_examples = iter(range(10_000))


@pytest.mark.django_db
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sales=st.lists(sale_shape, min_size=1, max_size=5), stranger=st.booleans(), dispute=st.booleans())
def test_every_cent_is_classified(shop, sales, stranger, dispute):
    # Each example on days of its own: the database keeps the earlier examples' rows.
    k = next(_examples)
    day = date(2026, 1, 5) + timedelta(days=3 * k)
    noon = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=20)  # noon in Oakland
    sold = paid = 0
    entries = []
    for n, shape in enumerate(sales):
        ref = f"h{k}-{n}"
        order = sale("OAK", ref, noon + timedelta(minutes=n), [("TACO", shape["units"])], tip=shape["tip"])
        value = 375 * shape["units"] + shape["tip"]
        sold += value
        if shape["seen"] == "missing":
            continue
        at = noon + timedelta(days=1) if shape["seen"] == "next_day" else order.placed_at
        tip = shape["tip"] + 50 if shape["seen"] == "tip_differs" else shape["tip"]
        processor_payment(order, fee=shape["fee"], tip=tip, at=at)
        gross = value - shape["tip"] + tip
        if shape["paid"] != "none" and shape["seen"] != "next_day":
            short = 7 if shape["paid"] == "short" else 0
            entries.append(("charge", f"pay-{ref}", gross - short, shape["fee"]))
            paid += gross - short - shape["fee"]
    if stranger:
        record_processor_payment(fact=ProcessorFact(
            platform="square", platform_id=f"x-{k}", amount=999, currency="USD",
            occurred_at=noon, status="COMPLETED", method="CARD", location=shop.oak))
    if dispute:
        entries.append(("dispute", "", -400, 1500))
        paid += -400 - 1500
    if entries:
        payout("square", f"po-{k}", entries, location=shop.oak, arrival=day + timedelta(days=1), at=noon)

    days = reconcile_days(first_day=day, last_day=day + timedelta(days=1), today=day + timedelta(days=2))

    for each in days:
        assert_lines_add_up(each)
        unexplained = [line for line in each.lines.all() if not line.explained]
        assert (each.status == ReconciliationStatus.RECONCILED) == (not unexplained)
    first = the_day(shop.oak, day=day)
    assert first.sold == sold
    assert first.paid_out == paid
