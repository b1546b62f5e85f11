from django.core.management.base import BaseCommand

from apps.inventory.selectors import list_ledger_mismatches


class Command(BaseCommand):
    help = "Verify every stock level equals the sum of its movements; exit 1 on any difference."

    def handle(self, *args, **options):
        mismatches = list_ledger_mismatches()
        for m in mismatches:
            self.stderr.write(
                f"level #{m['level_id']}: on_hand {m['on_hand']} vs ledger {m['ledger_on_hand']}, "
                f"committed {m['committed']} vs ledger {m['ledger_committed']}"
            )
        if mismatches:
            self.stderr.write(f"{len(mismatches)} stock level(s) disagree with the ledger.")
            raise SystemExit(1)
        self.stdout.write("Stock ledger OK: every level equals the sum of its movements.")
