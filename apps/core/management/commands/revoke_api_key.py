from django.core.management.base import BaseCommand, CommandError

from apps.core.errors import DomainError
from apps.core.services import revoke_api_client


class Command(BaseCommand):
    help = "Revoke an API client's key: every process refuses it from its next request."

    def add_arguments(self, parser):
        parser.add_argument("client_id", type=int, help="The API client's id (create_api_key prints it).")

    def handle(self, *args, client_id, **options):
        try:
            client = revoke_api_client(client_id=client_id, actor_label="cli")
        except DomainError as exc:
            raise CommandError(exc.detail) from exc
        self.stdout.write(f"Revoked API client #{client.pk} {client.name!r} ({client.key_prefix}…).")
