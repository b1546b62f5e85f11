from django.core.management.base import BaseCommand, CommandError

from apps.connectors.models import InboundEvent
from apps.connectors.services.intake import replay_event


class Command(BaseCommand):
    help = "Process a stored inbound event again (webhook or polled record); the outcome is idempotent."

    def add_arguments(self, parser):
        parser.add_argument("event_ids", nargs="+", type=int, metavar="ID")

    def handle(self, *args, event_ids, **options):
        for event_id in event_ids:
            event = InboundEvent.objects.filter(pk=event_id).first()
            if event is None:
                raise CommandError(f"No stored event #{event_id}.")
            outcome = replay_event(event_id)
            event.refresh_from_db()
            self.stdout.write(f"#{event_id} {event.platform} {event.topic} {event.event_id}: {outcome}"
                              + (f" ({event.last_error})" if event.last_error else ""))
