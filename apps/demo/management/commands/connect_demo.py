from django.core.management.base import BaseCommand

from apps.connectors.models import PlatformConnection
from apps.demo import demo_data, dev_credentials
from apps.inventory.models import Location


class Command(BaseCommand):
    help = ("Wire the demo stores to the emulators: each store's POS (Square, Toast, Clover) takes "
            "its web and phone orders; Shopify has one location per store. Idempotent.")

    def handle(self, *args, **options):
        for spec in demo_data.LOCATIONS:
            location = Location.objects.get(code=spec["code"])
            self._connect(spec["pos"], location, receives_orders=True)
            self._connect("shopify", location, receives_orders=False)
        self.stdout.write(f"{PlatformConnection.objects.count()} platform connections.")

    def _connect(self, platform, location, *, receives_orders):
        PlatformConnection.objects.update_or_create(
            platform=platform, location=location,
            defaults={"external_location_id": dev_credentials.platform_location_id(platform, location.code),
                      "receives_orders": receives_orders, "pushes_stock": True, "is_enabled": True},
        )
