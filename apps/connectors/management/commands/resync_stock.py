from django.core.management.base import BaseCommand, CommandError

from apps.connectors.enums import Platform
from apps.connectors.selectors import active_connections
from apps.connectors.services.stock_sync import start_stock_sync_over


class Command(BaseCommand):
    help = ("A platform's counts started over (a restored account; the demo's emulators at each "
            "start): forget what was pushed to it, read its counts again and push every item.")

    def add_arguments(self, parser):
        parser.add_argument("platforms", nargs="*", metavar="PLATFORM",
                            help="shopify, square, toast, clover (default: every connected one)")

    def handle(self, *args, platforms, **options):
        unknown = sorted(set(platforms) - set(Platform.values))
        if unknown:
            raise CommandError(f"Unknown platform {', '.join(unknown)}; "
                               f"choose from {', '.join(Platform.values)}.")
        links = active_connections().filter(pushes_stock=True)
        if platforms:
            links = links.filter(platform__in=platforms)
        for link in links:
            queued = start_stock_sync_over(link)
            self.stdout.write(f"{link.platform} at {link.location.code}: {queued} items to push again.")
