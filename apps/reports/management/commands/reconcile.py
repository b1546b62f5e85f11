"""`manage.py reconcile [--from YYYY-MM-DD] [--to YYYY-MM-DD]`: recompute the reconciliation
of those business days (default: the last 14) and print each day that needs a person."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from apps.core.errors import ValidationFailed
from apps.reports.enums import ReconciliationStatus
from apps.reports.periods import parse_day
from apps.reports.reconciliation import RECONCILE_RECENT_DAYS, reconcile_days


class Command(BaseCommand):
    help = "Reconcile sales, processor records and payouts for a range of business days."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="first", help="first business day (default: 14 days ago)")
        parser.add_argument("--to", dest="last", help="last business day (default: today)")

    def handle(self, *args, first=None, last=None, **options):
        today = timezone.now().date()
        try:
            first_day = parse_day(first, "from") if first else today - timedelta(days=RECONCILE_RECENT_DAYS)
            last_day = parse_day(last, "to") if last else today
        except ValidationFailed as error:
            raise CommandError(str(error)) from None
        if last_day < first_day:
            raise CommandError("--to is before --from.")
        days = reconcile_days(first_day=first_day, last_day=last_day)
        open_days = [day for day in days if day.status != ReconciliationStatus.RECONCILED]
        for day in open_days:
            where = day.location.code if day.location_id else "bank"
            self.stdout.write(f"{day.business_day} {where} {day.platform}: unexplained {day.unexplained} "
                              f"{day.currency} of a {day.difference} difference")
        self.stdout.write(f"{len(days)} day(s) reconciled, {len(open_days)} with unexplained differences.")
