import time

from django.core.management.base import BaseCommand, CommandError

from apps.demo import volume


class Command(BaseCommand):
    help = ("Write a realistic history of N orders over the last days at the demo stores (customers, "
            "tenders, refunds, ledgers, exceptions), with COPY, all or nothing. Refuses to run twice: "
            "volume data is already there after the first run.")

    def add_arguments(self, parser):
        parser.add_argument("--orders", type=int, required=True)
        parser.add_argument("--locations", default="OAK,BKN,CHI", help="location codes, comma separated")
        parser.add_argument("--days", type=int, default=365)
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, orders, locations, days, seed, **options):
        if orders < 1 or days < 1:
            raise CommandError("--orders and --days must be at least 1.")
        already = volume.existing_volume_orders()
        if already:
            raise CommandError(f"Volume data is already here ({already} orders); seed_volume adds it once. "
                               "Use a fresh database (make clean-db) for another volume.")
        started = time.monotonic()
        try:
            summary = volume.seed_volume(orders=orders, days=days, seed=seed,
                                         location_codes=[code.strip() for code in locations.split(",")
                                                         if code.strip()])
        except ValueError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"Volume written in {time.monotonic() - started:.1f} s: {summary.orders} orders, "
            f"{summary.lines} lines, {summary.tenders} tenders, {summary.refunds} refunds, "
            f"{summary.customers} customers, {summary.gift_cards} gift cards, "
            f"{summary.loyalty_entries} loyalty and {summary.stored_value_entries} stored-value entries, "
            f"{summary.exceptions} exceptions.")
