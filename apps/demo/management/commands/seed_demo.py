import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from apps.catalog.services import upsert_modifier_group, upsert_product
from apps.core.roles import ADMIN, ensure_roles
from apps.demo import demo_data
from apps.demo.cash_drawers import count_past_drawers
from apps.inventory.enums import MovementReason
from apps.inventory.selectors import levels_by_variant
from apps.inventory.services import adjust_stock, upsert_location


class Command(BaseCommand):
    help = "Create the demo merchant (idempotent): locations, catalog, opening stock, an admin user."

    def handle(self, *args, **options):
        with transaction.atomic():
            ensure_roles()
            locations = [upsert_location(code=loc["code"], name=loc["name"],
                                         timezone_name=loc["timezone"], currency=demo_data.CURRENCY,
                                         tax_rate_bps=loc["tax_rate_bps"],
                                         tax_exempt_categories=loc["tax_exempt"],
                                         business_day_starts_at=loc.get("business_day_starts_at", 0))
                         for loc in demo_data.LOCATIONS]
            for code, (name, minimum, maximum, modifiers) in demo_data.MODIFIER_GROUPS.items():
                upsert_modifier_group(code=code, name=name, min_selected=minimum,
                                      max_selected=maximum, modifiers=modifiers)
            variants = {}
            for product in demo_data.PRODUCTS:
                saved = upsert_product(name=product["name"], category=product["category"],
                                       variants=product["variants"], currency=demo_data.CURRENCY,
                                       modifier_group_codes=product["modifier_groups"],
                                       tax_category=demo_data.tax_category(product))
                variants.update({v.sku: v for v in saved.variants.all()})
            received = self._receive_opening_stock(locations, variants)
        self.stdout.write(f"Demo merchant ready: {len(locations)} locations, {len(variants)} variants, "
                          f"opening stock received for {received} new stock levels.")
        self._ensure_admin()
        self._count_past_drawers()

    def _receive_opening_stock(self, locations, variants) -> int:
        received = 0
        for location in locations:
            stocked = levels_by_variant(location_id=location.pk)
            for sku, variant in sorted(variants.items()):
                if variant.pk in stocked:
                    continue
                adjust_stock(location_id=location.pk, variant_id=variant.pk,
                             delta=demo_data.opening_stock(location.code, sku),
                             reason=MovementReason.RECEIPT, reference="opening stock", actor="seed_demo")
                received += 1
        return received

    def _count_past_drawers(self) -> None:
        admin = get_user_model().objects.filter(username="admin").first()
        if admin is not None:
            counted = count_past_drawers(user=admin)
            self.stdout.write(f"Cash drawers: {counted} past business days counted.")

    def _ensure_admin(self) -> None:
        User = get_user_model()
        if User.objects.filter(username="admin").exists():
            return
        password = secrets.token_urlsafe(12)
        user = User.objects.create_superuser("admin", "admin@example.com", password)
        from django.contrib.auth.models import Group

        user.groups.add(Group.objects.get(name=ADMIN))
        self.stdout.write(self.style.WARNING(
            f"Admin user created. Username: admin  Password: {password}  (shown once; "
            "change it with `python manage.py changepassword admin`)"))
