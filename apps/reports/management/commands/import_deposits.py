"""`manage.py import_deposits --platform toast|clover|bank FILE`: import a deposit file."""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from apps.reports.enums import DepositPlatform
from apps.reports.services import import_deposit_file


class Command(BaseCommand):
    help = ("Import a Toast export (PaymentDetails.csv or Payouts Overview), a Clover deposit report "
            "or a bank statement (CSV). A malformed file is refused whole; the same file twice changes "
            "nothing.")

    def add_arguments(self, parser):
        parser.add_argument("--platform", required=True, choices=DepositPlatform.values)
        parser.add_argument("file")
        parser.add_argument("--user", default="", help="The username recorded as importing it.")

    def handle(self, *args, platform, file, user, **options):
        path = Path(file)
        try:
            content = path.read_bytes()
        except OSError as error:
            raise CommandError(f"cannot read {file}: {error.strerror}") from None
        importer = None
        if user:
            importer = get_user_model().objects.filter(username=user).first()
            if importer is None:
                raise CommandError(f"no user {user!r}")
        result = import_deposit_file(platform=platform, name=path.name, content=content, user=importer)
        if result.problems:
            for problem in result.problems:
                self.stderr.write(f"{path.name}: {problem}")
            raise CommandError(result.message)
        self.stdout.write(result.message)
