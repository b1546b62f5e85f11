from django.core.management.base import BaseCommand

from apps.connectors.heartbeat import start_heartbeat
from apps.connectors.tasks import sync_loop_task, sync_once


class Command(BaseCommand):
    help = ("Run the sync engine in the foreground: one pass, or a loop (what the scheduled "
            "django-q2 task runs): outbox fan-out, inbound events, deliveries.")

    def add_arguments(self, parser):
        parser.add_argument("--loop", type=float, default=0, metavar="SECONDS",
                            help="keep passing for this long")

    def handle(self, *args, loop, **options):
        if loop:
            start_heartbeat()  # a worker in all but name: /healthz counts it alive
            self.stdout.write(sync_loop_task(loop))
        else:
            self.stdout.write(str(sync_once()))
