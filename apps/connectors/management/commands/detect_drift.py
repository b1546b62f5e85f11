from django.core.management.base import BaseCommand

from apps.connectors.services.drift import detect_drift


class Command(BaseCommand):
    help = "Compare every platform's counts with Concord's; repair small drift, flag the rest."

    def handle(self, *args, **options):
        for connection, outcome in detect_drift().items():
            self.stdout.write(f"{connection}: {outcome}")
