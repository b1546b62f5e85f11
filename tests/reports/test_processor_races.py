"""Races on real Postgres: the same payment or payout read by several workers at once, and
the same deposit file imported by several people at once, are each recorded once."""

from datetime import UTC, date, datetime

import pytest

from apps.reports.models import DepositImport, DepositRow, Payout, PayoutEntry, ProcessorRecord
from apps.reports.services import (
    PayoutEntryFact,
    PayoutFact,
    ProcessorFact,
    import_deposit_file,
    record_payout,
    record_processor_payment,
)
from tests.factories import LocationFactory
from tests.helpers import run_concurrently

from .test_import_deposits import TOAST_PAYOUTS

pytestmark = pytest.mark.django_db(transaction=True)
WORKERS = 6


def test_a_payment_read_by_several_workers_at_once_is_one_record():
    fact = ProcessorFact(
        platform="square",
        platform_id="pay-race",
        amount=1000,
        tip=100,
        fee=30,
        currency="USD",
        occurred_at=datetime(2026, 11, 24, 18, tzinfo=UTC),
        status="COMPLETED",
    )

    records = run_concurrently(WORKERS, lambda i: record_processor_payment(fact=fact).pk)

    assert len(set(records)) == 1
    assert ProcessorRecord.objects.get().net == 1070


def test_a_payout_read_by_several_workers_at_once_is_one_payout_with_its_entries_once():
    payout = PayoutFact(
        platform="square",
        platform_payout_id="po-race",
        status="SENT",
        amount=970,
        currency="USD",
        arrival_date=date(2026, 11, 26),
    )
    entries = [
        PayoutEntryFact(
            platform_entry_id=f"pe-race-{n}",
            entry_type="charge",
            platform_type="CHARGE",
            gross=100 * n,
            fee=n,
            net=99 * n,
            currency="USD",
        )
        for n in (1, 2, 3, 4)
    ]

    run_concurrently(WORKERS, lambda i: record_payout(fact=payout, entries=entries).pk)

    assert (Payout.objects.count(), PayoutEntry.objects.count()) == (1, 4)


def test_a_file_imported_by_several_people_at_once_is_imported_once():
    LocationFactory(code="OAK", name="Oakland")

    results = run_concurrently(
        WORKERS,
        lambda i: import_deposit_file(
            platform="toast", name=f"payouts-{i}.csv", content=TOAST_PAYOUTS.encode()
        ),
    )

    assert sum(result.created for result in results) == 1
    assert all(result.already_imported for result in results if not result.created)
    assert (DepositImport.objects.count(), DepositRow.objects.count(), Payout.objects.count()) == (1, 1, 1)
