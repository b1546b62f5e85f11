from django.core.management.base import BaseCommand, CommandError

from apps.backoffice.services import create_staff_user
from apps.core.errors import DomainError
from apps.core.roles import ROLE_BY_SLUG


class Command(BaseCommand):
    help = ("Create a back-office user with one role; a generated password is printed once, "
            "as the last line.")

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=list(ROLE_BY_SLUG))
        parser.add_argument("--location", action="append", default=[], metavar="CODE",
                            help="A location the user works at (repeat for several).")
        parser.add_argument("--password", help="Use this password instead of a generated one.")

    def handle(self, *args, username, role, location, password, **options):
        try:
            user, given_password = create_staff_user(
                username=username, role=role, location_codes=location, password=password,
                actor_label="cli")
        except DomainError as exc:
            raise CommandError(exc.detail) from exc
        where = f" at {', '.join(sorted(code.upper() for code in location))}" if location else ""
        self.stdout.write(f"Created {role} {user.username!r}{where}.")
        if password is None:
            self.stdout.write("This password is shown once; store it now:")
            self.stdout.write(given_password)
