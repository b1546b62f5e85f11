"""The demo's cash drawers: each store gets its standard float and its last seven business
days counted, once; seeding again counts nothing twice."""

import io
from datetime import timedelta

from django.core.management import call_command
from django.utils import timezone

from apps.demo.cash_drawers import VARIANCES
from apps.inventory.models import Location
from apps.reports.business_day import location_day
from apps.reports.models import CashDrawerCount, CashDrawerFloat


def test_the_demo_counts_the_last_week_of_each_store_once(db):
    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())

    assert sorted(CashDrawerFloat.objects.values_list("location__code", "amount")) == [
        ("BKN", 20_000), ("CHI", 20_000), ("OAK", 20_000)]
    for location in Location.objects.all():
        yesterday = location_day(timezone.now(), location) - timedelta(days=1)
        days = set(CashDrawerCount.objects.filter(location=location).values_list("business_day", flat=True))
        assert days == {yesterday - timedelta(days=n) for n in range(7)}
    # No sales yet: each count is the float, give or take the day's variance.
    for count in CashDrawerCount.objects.all():
        assert count.counted - count.opening_float == VARIANCES[count.business_day.toordinal() % 7]
