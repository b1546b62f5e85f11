from django.core.management.base import BaseCommand, CommandError

from apps.core.enums import ApiRole, Channel
from apps.core.errors import DomainError
from apps.core.services import create_api_client


class Command(BaseCommand):
    help = ("Create an API client and print its key once (last line): a channel key "
            "(--channel) or a staff key (--role).")

    def add_arguments(self, parser):
        kind = parser.add_mutually_exclusive_group(required=True)
        kind.add_argument("--channel", choices=Channel.values,
                          help="A channel key: places orders on this channel, sees only its own.")
        kind.add_argument("--role", choices=ApiRole.values,
                          help="A staff key: reads orders and customers of every channel.")
        parser.add_argument("--name", required=True)

    def handle(self, *args, channel, role, name, **options):
        try:
            client, raw_key = create_api_client(name=name, channel=channel or "", role=role or "",
                                                actor_label="cli")
        except DomainError as exc:
            raise CommandError(exc.detail) from exc
        what = f"the {channel} channel" if channel else f"the {role} role"
        self.stdout.write(f"Created API client #{client.pk} {client.name!r} for {what}.")
        self.stdout.write("This key is shown once; store it now:")
        self.stdout.write(raw_key)
