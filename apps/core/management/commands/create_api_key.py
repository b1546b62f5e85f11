from django.core.management.base import BaseCommand, CommandError

from apps.core.enums import Channel
from apps.core.errors import DomainError
from apps.core.services import create_api_client


class Command(BaseCommand):
    help = "Create an API client bound to one channel and print its key once (last line)."

    def add_arguments(self, parser):
        parser.add_argument("--channel", required=True, choices=Channel.values)
        parser.add_argument("--name", required=True)

    def handle(self, *args, channel, name, **options):
        try:
            client, raw_key = create_api_client(name=name, channel=channel, actor_label="cli")
        except DomainError as exc:
            raise CommandError(exc.detail) from exc
        self.stdout.write(f"Created API client #{client.pk} {client.name!r} for the {channel} channel.")
        self.stdout.write("This key is shown once; store it now:")
        self.stdout.write(raw_key)
