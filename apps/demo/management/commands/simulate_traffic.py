"""Demo traffic on all three channels, through the same doors real traffic uses, the
deliveries that keep a long demo stocked, and customers picking up their web and phone
orders: the store closes each ticket at its POS (the emulator's order-state call), and
the order is fulfilled in Concord when the POS tells it, so committed stock does not only
grow."""

import random
import time
import uuid
from datetime import timedelta
from decimal import Decimal

import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from apps.connectors.selectors import tickets_awaiting_pickup
from apps.core.services import create_api_client
from apps.demo import demo_data
from apps.inventory.enums import MovementReason
from apps.inventory.selectors import levels_running_low
from apps.inventory.services import adjust_stock

KITCHEN = ("Food", "Sides", "Drinks", "Desserts")
SELLING_SKUS = [v["sku"] for p in demo_data.PRODUCTS if p["category"] in KITCHEN for v in p["variants"]]
RARE_SKUS = ["MOLCAJETE", "COMAL", "TEE-LOGO-M"]
REGULARS = [("Ana Ruiz", "+15105550123"), ("Sam Lee", "+15105550142"), ("Priya Patel", "+15105550167"),
            ("Jon Okafor", "+15105550188")]
PICKUP_CHECK_SECONDS = 5.0
BASE_URLS = {"shopify": "SHOPIFY_BASE_URL", "square": "SQUARE_BASE_URL", "toast": "TOAST_BASE_URL",
             "clover": "CLOVER_BASE_URL"}


def close_picked_up_tickets(session: requests.Session, *, waited: float, limit: int = 100) -> int:
    """Web and phone orders placed more than `waited` seconds ago are picked up: their
    tickets are closed at the POS as staff would close them. Returns how many closed."""
    closed = 0
    placed_before = timezone.now() - timedelta(seconds=waited)
    for platform, ticket in tickets_awaiting_pickup(placed_before=placed_before, limit=limit):
        url = getattr(settings, BASE_URLS[platform], "")
        if not url:
            continue
        # 409: already closed or voided there, and Concord will hear of it.
        response = session.post(f"{url}/__emulator/order-state", timeout=10,
                                json={"order_id": ticket, "state": "closed"})
        closed += response.ok
    return closed


def receive_deliveries(*, below: int, units: int) -> int:
    """A truck at every store: each selling item with fewer than `below` available gets
    `units` more, received through the inventory service, so every platform hears of it.
    Without it a demo sells out in about half an hour."""
    low = levels_running_low(skus=SELLING_SKUS, below=below)
    for level in low:
        adjust_stock(location_id=level.location_id, variant_id=level.variant_id, delta=units,
                     reason=MovementReason.RECEIPT, reference="simulated delivery", actor="simulate_traffic")
    return len(low)


class Command(BaseCommand):
    help = ("Place web orders (Shopify checkout), register sales (at each store's POS) and phone "
            "orders (through the API) at a steady rate.")

    def add_arguments(self, parser):
        parser.add_argument("--rate", type=float, default=1.0, help="orders per second (all channels)")
        parser.add_argument("--seconds", type=float, default=0, help="stop after this long (0: never)")
        parser.add_argument("--mix", default="web=0.4,register=0.4,phone=0.2")
        parser.add_argument("--seed", type=int, default=None)
        parser.add_argument("--restock-below", type=int, default=5,
                            help="each delivery tops up items with fewer available than this (0: none)")
        parser.add_argument("--restock-units", type=int, default=24, help="units received per item")
        parser.add_argument("--restock-every", type=float, default=60.0, help="seconds between deliveries")
        parser.add_argument("--pickup-after", type=float, default=30.0,
                            help="seconds until a web or phone order is picked up and its ticket "
                                 "closed at the store's POS (0: never)")

    def handle(self, *args, rate, seconds, mix, seed, restock_below, restock_units, restock_every,
               pickup_after, **options):
        if rate <= 0:
            raise CommandError("--rate must be positive.")
        if restock_below < 0 or restock_units <= 0 or restock_every <= 0:
            raise CommandError("--restock-below must be 0 or more; --restock-units and --restock-every "
                               "must be positive.")
        if pickup_after < 0:
            raise CommandError("--pickup-after must be 0 (never) or more.")
        weights = self._parse_mix(mix)
        rng = random.Random(seed)
        _, key = create_api_client(name="simulate_traffic", channel="phone", actor_label="simulate_traffic")
        session = requests.Session()
        deadline = time.monotonic() + seconds if seconds else None
        counts = {}
        next_at = next_delivery = next_pickup = time.monotonic()
        while deadline is None or time.monotonic() < deadline:
            if restock_below and time.monotonic() >= next_delivery:
                received = receive_deliveries(below=restock_below, units=restock_units)
                if received:
                    self.stdout.write(f"deliveries: {received} items restocked")
                next_delivery += restock_every
            if pickup_after and time.monotonic() >= next_pickup:
                picked_up = self._pick_up(session, pickup_after)
                counts["picked up"] = counts.get("picked up", 0) + picked_up
                next_pickup += PICKUP_CHECK_SECONDS
            channel = rng.choices(list(weights), weights=list(weights.values()))[0]
            try:
                outcome = getattr(self, f"_{channel}")(session, rng, key)
            except requests.RequestException as error:
                outcome = f"unreachable ({error.__class__.__name__})"
            counts[f"{channel} {outcome}"] = counts.get(f"{channel} {outcome}", 0) + 1
            next_at += rng.expovariate(rate)
            time.sleep(max(0.0, next_at - time.monotonic()))
            if sum(counts.values()) % 20 == 0:
                self.stdout.write(", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
        self.stdout.write(", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))

    def _pick_up(self, session, waited: float) -> int:
        try:
            return close_picked_up_tickets(session, waited=waited)
        except requests.RequestException:
            return 0  # a POS emulator is down: its customers wait for the next round

    def _parse_mix(self, mix: str) -> dict:
        try:
            weights = {name: float(value) for name, value in (part.split("=") for part in mix.split(","))}
        except ValueError:
            raise CommandError("--mix looks like web=0.4,register=0.4,phone=0.2") from None
        unknown = set(weights) - {"web", "register", "phone"}
        if unknown:
            raise CommandError(f"Unknown channels in --mix: {', '.join(sorted(unknown))}")
        return weights

    def _lines(self, rng):
        skus = rng.sample(SELLING_SKUS, rng.randint(1, 3))
        if rng.random() < 0.05:
            skus[0] = rng.choice(RARE_SKUS)
        return [{"sku": sku, "quantity": rng.randint(1, 2)} for sku in skus]

    def _emulator_sale(self, session, platform, store, lines, *, tip=0, customer=None):
        """A sale at the platform, taxed by the platform at the store's rate (the platform
        computes it; Concord keeps its figures), paid by card with `tip`."""
        url = getattr(settings, BASE_URLS[platform])
        if not url:
            return "off"
        body = {"location": store["code"], "lines": lines, "tender": {"type": "card", "tip": tip},
                "tax_percentage": str(Decimal(store["tax_rate_bps"]) / 100)}
        if customer:
            body["customer"] = customer
        response = session.post(f"{url}/__emulator/sale", json=body, timeout=10)
        return "accepted" if response.ok and response.json().get("accepted") else "refused"

    def _web(self, session, rng, key):
        store = rng.choice(demo_data.LOCATIONS)
        return self._emulator_sale(session, "shopify", store, self._lines(rng), customer=self._shopper(rng))

    def _register(self, session, rng, key):
        store = rng.choice(demo_data.LOCATIONS)
        tip = rng.choice([0, 0, 100, 150, 200])
        shopper = self._shopper(rng) if rng.random() < 0.3 else None  # a regular who gives a number
        return self._emulator_sale(session, store["pos"], store, self._lines(rng),
                                   tip=tip, customer=shopper)

    def _shopper(self, rng):
        """One of a few regulars, the same people the phone line hears from, so one shopper
        shows up on several channels as one customer."""
        name, phone = rng.choice(REGULARS)
        first = name.split()[0].lower()
        return {"name": name, "phone": phone, "email": f"{first}@example.com"}

    def _phone(self, session, rng, key):
        body = {"location": rng.choice(demo_data.LOCATIONS)["code"], "source_name": "Demo phone line",
                "fulfillment": {"type": "pickup"}, "lines": self._lines(rng),
                "customer": dict(zip(("name", "phone"), rng.choice(REGULARS), strict=True))}
        response = session.post(f"{settings.CONCORD_PUBLIC_URL}/api/v1/orders", json=body, timeout=10,
                                headers={"Authorization": f"Bearer {key}",
                                         "Idempotency-Key": uuid.uuid4().hex})
        return str(response.status_code)
