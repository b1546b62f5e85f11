"""A realistic history of sales for benchmarks and demos (`manage.py seed_volume`).

Days of orders at the demo stores on three channels, with customers (some coming back),
lines, tax, discounts, tenders (cards with the platform's reference, fee and tip where the
platform has them, cash, gift cards, store credit, loyalty points), canceled orders, partial
and later refunds (some returned at another store) with their parts, the loyalty and
stored-value ledgers (every balance is the sum of its entries) and some exceptions.

Everything is generated in Python, chronologically, one chunk of days at a time, and
streamed into Postgres with COPY in one transaction. Each kind of row is written by its own
part (`write_orders`, `write_tenders`, `write_refunds`, ...; CHUNK_PARTS), so another kind
of record (a processor's payments and payouts) is one more part.

Volume rows are told apart by their marks: orders' external ids start with `vol-`,
customers' emails end in `@volume.example`, gift card codes start with `VOL`, refunds'
actor and exceptions' dedupe keys name `seed_volume`.

Stock: the orders are history, sold and handed over before today, so they move no stock
(no movements, no change to levels): today's levels and the stock ledger stay as they were,
and refunds restock nothing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.utils import timezone

from apps.catalog.models import Variant
from apps.connectors.enums import DeliveryKind, DeliveryStatus
from apps.connectors.models import Delivery
from apps.core import money, topics
from apps.core.enums import Channel, ExceptionKind, ExceptionStatus
from apps.core.models import AuditEntry, ExceptionItem, OutboxEvent
from apps.customers.enums import LoyaltyEntryKind, StoredValueEntryKind, StoredValueKind
from apps.customers.models import (
    Customer,
    CustomerEmail,
    CustomerPhone,
    LoyaltyAccount,
    LoyaltyEntry,
    StoredValueAccount,
    StoredValueEntry,
)
from apps.customers.services.loyalty import get_loyalty_program
from apps.demo.bulk_copy import IdPool, copy_rows
from apps.demo.volume_money import WRITTEN_MODELS as MONEY_MODELS
from apps.demo.volume_money import settle_volume_payouts, write_processor_records
from apps.inventory.models import Location, StockLevel
from apps.orders.enums import FulfillmentType, OrderStatus, PaymentStatus, StockMode, TenderType
from apps.orders.models import Order, OrderLine, Payment
from apps.reports.liability_rollup import rebuild_liability_rollup
from apps.returns.enums import RefundPartStatus, RefundStatus
from apps.returns.models import Refund, RefundLine, RefundPart

EXTERNAL_ID_PREFIX = "vol-"
EMAIL_DOMAIN = "volume.example"
GIFT_CARD_PREFIX = "VOL"
ACTOR = "seed_volume"
CHUNK_ORDERS = 20_000

# The store's register and its card fees (PLATFORM_MONEY.md §3: Square reports a fee on
# the tender, Shopify on the transaction; Toast and Clover report none on a payment).
POS_PLATFORM = {"OAK": "square", "BKN": "toast", "CHI": "clover"}
PLATFORM_LABEL = {"square": "Square", "toast": "Toast", "clover": "Clover", "shopify": "Shopify"}
CARD_FEE = {"square": (260, 10), "shopify": (290, 30)}  # basis points, fixed minor units
PHONE_SOURCES = ["PieLine", "CallHero"]
CHANNEL_MIX = [(Channel.REGISTER, 0.55), (Channel.WEB, 0.30), (Channel.PHONE, 0.15)]
OPEN_HOURS = (10, 22)

FIRST_NAMES = ["Ana", "Ben", "Carla", "Diego", "Elena", "Farid", "Grace", "Hiro", "Imani", "Jonas",
               "Kemi", "Luis", "Maya", "Noor", "Omar", "Priya", "Quinn", "Rosa", "Sam", "Tariq",
               "Uma", "Victor", "Wen", "Ximena", "Yusuf", "Zoe", "Aaron", "Bea", "Chen", "Dara",
               "Eli", "Fatima", "Gus", "Hana", "Ivan", "Jade", "Kofi", "Lena", "Marco", "Nia"]
LAST_NAMES = ["Ruiz", "Okafor", "Nguyen", "Smith", "Garcia", "Kim", "Patel", "Cohen", "Rossi",
              "Silva", "Haddad", "Tanaka", "Johnson", "Murphy", "Lopez", "Novak", "Mensah",
              "Walker", "Dubois", "Schmidt", "Ortiz", "Ali", "Park", "Brown", "Costa", "Reyes",
              "Sato", "Evans", "Moreau", "Khan"]
REFUND_REASONS = ["damaged", "wrong item", "changed mind", "cold food", "missing item", "goodwill"]


@dataclass
class VolumeSummary:
    orders: int = 0
    lines: int = 0
    tenders: int = 0
    refunds: int = 0
    customers: int = 0
    gift_cards: int = 0
    exceptions: int = 0
    loyalty_entries: int = 0
    stored_value_entries: int = 0


@dataclass
class Store:
    location: Location
    zone: ZoneInfo
    platform: str
    variants: list[tuple]  # (id, sku, name, price, taxed)


@dataclass
class Chunk:
    """One chunk of days: every row to write, as tuples in each writer's field order."""

    orders: list[tuple] = field(default_factory=list)
    lines: list[tuple] = field(default_factory=list)
    tenders: list[tuple] = field(default_factory=list)
    refunds: list[tuple] = field(default_factory=list)
    refund_lines: list[tuple] = field(default_factory=list)
    refund_parts: list[tuple] = field(default_factory=list)
    loyalty_entries: list[tuple] = field(default_factory=list)
    stored_value_accounts: list[tuple] = field(default_factory=list)
    stored_value_entries: list[tuple] = field(default_factory=list)
    exceptions: list[tuple] = field(default_factory=list)
    outbox: list[tuple] = field(default_factory=list)
    audit: list[tuple] = field(default_factory=list)
    deliveries: list[tuple] = field(default_factory=list)


@dataclass
class VolumeRun:
    """What lasts across chunks: the stores, customers and the balances spent from."""

    rng: random.Random
    stores: list[Store]
    start: datetime
    now: datetime
    currency: str
    ids: IdPool
    points_per_unit: int
    point_value: int
    customers: list[tuple] = field(default_factory=list)  # (id, name, email, phone)
    loyalty_account: dict[int, int] = field(default_factory=dict)  # customer id -> account id
    points: dict[int, int] = field(default_factory=dict)  # customer id -> balance
    store_credit: dict[int, list[int]] = field(default_factory=dict)  # customer -> [account, balance]
    gift_cards: list[list[int]] = field(default_factory=list)  # [account id, balance]
    summary: VolumeSummary = field(default_factory=VolumeSummary)
    exception_rate: float = 1 / 400


def existing_volume_orders() -> int:
    return Order.objects.filter(external_id__startswith=EXTERNAL_ID_PREFIX).count()


def seed_volume(*, orders: int, location_codes: list[str], days: int = 365, seed: int = 1,
                chunk_orders: int = CHUNK_ORDERS, exception_rate: float = 1 / 400,
                now: datetime | None = None) -> VolumeSummary:
    """Write `orders` orders of history over the last `days` days, all or nothing. Another
    call adds more (new customers and cards numbered after those already there)."""
    with transaction.atomic():
        run = _start_run(location_codes=location_codes, days=days, seed=seed, now=now)
        run.exception_rate = exception_rate
        seed_customers(run, count=max(20, orders // 4))
        seed_gift_cards(run, count=max(5, orders // 50))
        for chunk in generate_chunks(run, orders=orders, days=days, chunk_orders=chunk_orders):
            for part in CHUNK_PARTS:
                part(run, chunk)
        settle_balances(run)
        settle_volume_payouts()
        # The history is dated in the past, behind the liabilities rollup's watermark.
        rebuild_liability_rollup()
    with connection.cursor() as cursor:  # the planner sees the new rows at once
        for model in WRITTEN_MODELS:
            cursor.execute(f'ANALYZE "{model._meta.db_table}"')
    return run.summary


def _start_run(*, location_codes, days, seed, now) -> VolumeRun:
    locations = {loc.code: loc for loc in Location.objects.filter(code__in=location_codes)}
    missing = sorted(set(location_codes) - set(locations))
    if missing:
        raise ValueError(f"No location {', '.join(missing)}: run seed_demo first.")
    stores = [_store(locations[code]) for code in location_codes]
    program = get_loyalty_program()
    now = now or timezone.now()
    return VolumeRun(rng=random.Random(seed), stores=stores, start=now - timedelta(days=days), now=now,
                     currency=stores[0].location.currency, ids=IdPool(),
                     points_per_unit=program.points_per_unit, point_value=program.point_value)


def _store(location: Location) -> Store:
    exempt = set(location.tax_exempt_categories or [])
    variants = [(v.pk, v.sku, v.name, v.price_amount, v.product.tax_category not in exempt)
                for v in Variant.objects.filter(
                    is_active=True, pk__in=StockLevel.objects.filter(location=location).values("variant_id"))
                .select_related("product").order_by("sku")]
    if not variants:
        raise ValueError(f"Nothing is stocked at {location.code}: run seed_demo first.")
    return Store(location=location, zone=ZoneInfo(location.timezone or "UTC"),
                 platform=POS_PLATFORM.get(location.code, "square"), variants=variants)


# ---------------------------------------------------------------- customers and gift cards


def seed_customers(run: VolumeRun, *, count: int) -> None:
    """Customers with an email and a phone each, and their loyalty accounts (balances are
    set from their entries at the end)."""
    rng, rows, emails, phones, accounts = run.rng, [], [], [], []
    first = CustomerEmail.objects.filter(email__endswith=f"@{EMAIL_DOMAIN}").count()
    for number in range(first, first + count):
        customer_id = run.ids.next(Customer)
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        email = f"{name.lower().replace(' ', '.')}.{number}@{EMAIL_DOMAIN}"
        phone = f"+1555{number:07d}"
        at = run.start - timedelta(days=rng.randrange(1, 400))
        rows.append((customer_id, name, phone, email, "", at, at))
        emails.append((run.ids.next(CustomerEmail), customer_id, email, at))
        phones.append((run.ids.next(CustomerPhone), customer_id, phone, at))
        account_id = run.ids.next(LoyaltyAccount)
        accounts.append((account_id, customer_id, 0, at))
        run.customers.append((customer_id, name, email, phone))
        run.loyalty_account[customer_id] = account_id
        run.points[customer_id] = 0
    copy_rows(Customer, ["id", "name", "phone", "email", "notes", "created_at", "updated_at"], rows)
    copy_rows(CustomerEmail, ["id", "customer", "email", "created_at"], emails)
    copy_rows(CustomerPhone, ["id", "customer", "phone", "created_at"], phones)
    copy_rows(LoyaltyAccount, ["id", "customer", "balance", "updated_at"], accounts)
    run.summary.customers = count
    _seed_goodwill_store_credit(run)


def _seed_goodwill_store_credit(run: VolumeRun) -> None:
    """A few customers were given store credit before the period (goodwill), to spend."""
    accounts, entries = [], []
    for customer_id, *_ in run.rng.sample(run.customers, max(1, len(run.customers) // 50)):
        account_id = run.ids.next(StoredValueAccount)
        amount = run.rng.choice([1000, 1500, 2500, 5000])
        accounts.append((account_id, StoredValueKind.STORE_CREDIT, None, customer_id, run.currency, 0,
                         run.start, run.start))
        entries.append((run.ids.next(StoredValueEntry), account_id, StoredValueEntryKind.ADJUST, amount,
                        None, "", "", "goodwill", ACTOR, run.start))
        run.store_credit[customer_id] = [account_id, amount]
    copy_rows(StoredValueAccount, SV_ACCOUNT_FIELDS, accounts)
    copy_rows(StoredValueEntry, SV_ENTRY_FIELDS, entries)
    run.summary.stored_value_entries += len(entries)


SV_ACCOUNT_FIELDS = ["id", "kind", "code", "customer", "currency", "balance", "created_at", "updated_at"]
SV_ENTRY_FIELDS = ["id", "account", "kind", "amount", "order_id", "refund_reference", "source_reference",
                   "note", "actor", "created_at"]
LOYALTY_ENTRY_FIELDS = ["id", "account", "kind", "points", "order_id", "refund_reference",
                        "source_reference", "note", "actor", "created_at"]


def seed_gift_cards(run: VolumeRun, *, count: int) -> None:
    """Gift cards sold before the period, spent by the orders that follow."""
    accounts, entries = [], []
    first = StoredValueAccount.objects.filter(code__startswith=GIFT_CARD_PREFIX).count()
    for number in range(first, first + count):
        account_id = run.ids.next(StoredValueAccount)
        amount = run.rng.choice([2500, 5000, 5000, 10000])
        code = f"{GIFT_CARD_PREFIX}{run.rng.randrange(16**6):06X}{number:07d}"
        accounts.append((account_id, StoredValueKind.GIFT_CARD, code, None, run.currency, 0,
                         run.start, run.start))
        entries.append((run.ids.next(StoredValueEntry), account_id, StoredValueEntryKind.ISSUE, amount,
                        None, "", f"volume-card:{code}", "", ACTOR, run.start))
        run.gift_cards.append([account_id, amount])
    copy_rows(StoredValueAccount, SV_ACCOUNT_FIELDS, accounts)
    copy_rows(StoredValueEntry, SV_ENTRY_FIELDS, entries)
    run.summary.gift_cards = count
    run.summary.stored_value_entries += len(entries)


# ---------------------------------------------------------------- orders, chunk by chunk


def orders_per_day(rng: random.Random, *, orders: int, days: int) -> list[int]:
    """`orders` spread over `days` days (busier weekends, some noise), adding up exactly."""
    weights = [(1.3 if day % 7 in (5, 6) else 1.0) * rng.uniform(0.8, 1.2) for day in range(days)]
    total = sum(weights)
    counts = [int(orders * weight / total) for weight in weights]
    for day in rng.sample(range(days), orders - sum(counts)):
        counts[day] += 1
    return counts


def generate_chunks(run: VolumeRun, *, orders: int, days: int, chunk_orders: int):
    """Chunks of whole days, oldest first, each about `chunk_orders` orders."""
    chunk, in_chunk = Chunk(), 0
    for day, count in enumerate(orders_per_day(run.rng, orders=orders, days=days + 1)):
        date = (run.now - timedelta(days=days - day)).date()
        for placed_at, store in sorted(_sale_times(run, date, count), key=lambda sale: sale[0]):
            _order(run, chunk, store, placed_at)
        in_chunk += count
        if in_chunk >= chunk_orders:
            yield chunk
            chunk, in_chunk = Chunk(), 0
    if in_chunk:
        yield chunk


def _sale_times(run: VolumeRun, date, count: int) -> list[tuple[datetime, Store]]:
    sales = []
    for _ in range(count):
        store = run.rng.choice(run.stores)
        opens = datetime.combine(date, time(OPEN_HOURS[0]), tzinfo=store.zone)
        placed_at = opens + timedelta(seconds=run.rng.randrange((OPEN_HOURS[1] - OPEN_HOURS[0]) * 3600))
        if placed_at >= run.now:  # today's sales so far
            placed_at = run.now - timedelta(seconds=run.rng.randrange(1, 3600))
        sales.append((placed_at, store))
    return sales


def _pick_channel(rng: random.Random) -> str:
    roll = rng.random()
    for channel, share in CHANNEL_MIX:
        if roll < share:
            return channel
        roll -= share
    return CHANNEL_MIX[-1][0]


def _pick_customer(run: VolumeRun, channel: str):
    """Web orders always name a customer, phone orders mostly, register sales sometimes; a
    few regulars come back often (a skewed pick)."""
    if run.rng.random() >= {Channel.WEB: 1.0, Channel.PHONE: 0.9}.get(channel, 0.3):
        return None
    return run.customers[int(len(run.customers) * run.rng.random() ** 2)]


@dataclass
class _Line:
    id: int
    number: int
    variant: tuple
    quantity: int
    line_total: int
    discount: int = 0
    tax: int = 0
    tax_rate: int = 0
    refunded_quantity: int = 0
    refunded_amount: int = 0

    @property
    def net(self) -> int:
        return self.line_total - self.discount


@dataclass
class _Tender:
    id: int
    type: str
    amount: int
    status: str = PaymentStatus.PAID
    tip: int = 0
    fee: int = 0
    points: int = 0
    account_id: int | None = None
    platform: str = ""
    reference: str = ""
    refunded: int = 0


def _order(run: VolumeRun, chunk: Chunk, store: Store, placed_at: datetime) -> None:
    rng = run.rng
    order_id = run.ids.next(Order)
    channel = _pick_channel(rng)
    customer = _pick_customer(run, channel)
    lines = _lines(run, store, order_id)
    if rng.random() < 0.12:  # a 10% promotion on the whole order
        for line in lines:
            line.discount = line.line_total // 10
    bps = store.location.tax_rate_bps
    for line in lines:
        line.tax_rate = bps if line.variant[4] else 0
        line.tax = (line.net * line.tax_rate + 5000) // 10000
    subtotal = sum(line.line_total for line in lines)
    discount = sum(line.discount for line in lines)
    total = subtotal - discount + sum(line.tax for line in lines)
    canceled = rng.random() < 0.04
    tenders = _tenders(run, store, channel, customer, total, order_id, canceled)
    _redemptions(run, chunk, order_id, placed_at, tenders, customer)
    earned = 0 if canceled or customer is None else _earn(run, chunk, customer[0], order_id, placed_at,
                                                          subtotal - discount, tenders)
    refunded = 0 if canceled else _maybe_refund(run, chunk, store, order_id, placed_at, lines, tenders,
                                                customer, earned, total)
    source, external_id, fulfillment = _origin(run, store, channel, order_id)
    name, email, phone = ("", "", "") if customer is None else customer[1:]
    if channel == Channel.REGISTER:
        email = ""
    status = OrderStatus.CANCELED if canceled else OrderStatus.FULFILLED
    stock_mode = StockMode.SOLD if channel == Channel.REGISTER else StockMode.RESERVED
    chunk.orders.append((
        order_id, channel, source, external_id, store.location.pk, status, stock_mode, fulfillment,
        placed_at + timedelta(minutes=20) if fulfillment != FulfillmentType.IN_STORE else None,
        customer[0] if customer else None, name, phone, email, run.currency, subtotal, discount,
        total - subtotal + discount, 0, total, sum(t.tip for t in tenders), refunded, earned,
        placed_at, placed_at, placed_at))
    for line in lines:
        chunk.lines.append((line.id, order_id, line.number, line.variant[0], line.variant[1], line.variant[2],
                            line.quantity, line.variant[3], "[]", line.line_total, line.discount, line.net,
                            line.tax, line.tax_rate, line.refunded_quantity, line.refunded_amount, ""))
    for tender in tenders:
        chunk.tenders.append((tender.id, order_id, tender.type, tender.status, tender.amount, tender.tip,
                              tender.fee, run.currency, tender.points, tender.account_id, tender.platform,
                              tender.reference, tender.refunded, placed_at))
    _changes(run, chunk, order_id, channel, store, source, status, placed_at, lines)
    run.summary.orders += 1
    if rng.random() < run.exception_rate:
        _exception(run, chunk, store, order_id, placed_at)


def _lines(run: VolumeRun, store: Store, order_id: int) -> list[_Line]:
    rng, lines = run.rng, []
    for number, variant in enumerate(rng.sample(store.variants, rng.choice([1, 1, 2, 2, 2, 3, 3, 4])), 1):
        quantity = rng.choice([1, 1, 1, 2, 2, 3])
        lines.append(_Line(id=run.ids.next(OrderLine), number=number, variant=variant, quantity=quantity,
                           line_total=variant[3] * quantity))
    return lines


def _origin(run: VolumeRun, store: Store, channel: str, order_id: int) -> tuple[str, str, str]:
    """The order's source, its id there, and how it was handed over."""
    external_id = f"{EXTERNAL_ID_PREFIX}{order_id}"
    if channel == Channel.REGISTER:
        return PLATFORM_LABEL[store.platform], external_id, run.rng.choice(
            [FulfillmentType.IN_STORE, FulfillmentType.DINE_IN])
    if channel == Channel.WEB:
        return "Shopify", external_id, run.rng.choice(
            [FulfillmentType.PICKUP, FulfillmentType.PICKUP, FulfillmentType.DELIVERY])
    return run.rng.choice(PHONE_SOURCES), external_id, FulfillmentType.PICKUP


# ---------------------------------------------------------------- tenders


def _tenders(run: VolumeRun, store: Store, channel: str, customer, total: int, order_id: int,
             canceled: bool) -> list[_Tender]:
    """What paid the order: stored value and points first (what a register asks for first),
    the rest by card or cash (or at pickup on the phone)."""
    rng, tenders, left = run.rng, [], total
    if not canceled and left > 0:
        left = _stored_value_tenders(run, tenders, customer, left, order_id)
    if left > 0 or not tenders:
        tenders.append(_rest(run, store, channel, left, order_id))
    if canceled:
        for tender in tenders:
            tender.status = PaymentStatus.VOIDED
    elif tenders[-1].type == TenderType.CARD and rng.random() < (0.5 if channel == Channel.REGISTER else 0.1):
        tenders[-1].tip = (total * rng.choice([10, 15, 18, 20]) + 50) // 100
    return tenders


def _stored_value_tenders(run: VolumeRun, tenders: list, customer, left: int, order_id: int) -> int:
    rng = run.rng
    if customer is not None and run.points[customer[0]] >= 200 and rng.random() < 0.3:
        points = min(run.points[customer[0]], left // max(1, run.point_value)) // 100 * 100
        if points > 0:
            run.points[customer[0]] -= points
            tenders.append(_Tender(id=run.ids.next(Payment), type=TenderType.LOYALTY,
                                   amount=points * run.point_value, points=points))
            left -= points * run.point_value
    credit = run.store_credit.get(customer[0]) if customer is not None else None
    if credit and credit[1] > 0 and left > 0 and rng.random() < 0.5:
        amount = min(credit[1], left)
        credit[1] -= amount
        tenders.append(_Tender(id=run.ids.next(Payment), type=TenderType.STORE_CREDIT, amount=amount,
                               account_id=credit[0]))
        left -= amount
    if left > 0 and rng.random() < 0.05:
        card = rng.choice(run.gift_cards)
        amount = min(card[1], left)
        if amount > 0:
            card[1] -= amount
            tenders.append(_Tender(id=run.ids.next(Payment), type=TenderType.GIFT_CARD, amount=amount,
                                   account_id=card[0]))
            left -= amount
    return left


def _rest(run: VolumeRun, store: Store, channel: str, amount: int, order_id: int) -> _Tender:
    rng, tender_id = run.rng, run.ids.next(Payment)
    if channel == Channel.PHONE and rng.random() < 0.6:
        return _Tender(id=tender_id, type=TenderType.PAY_AT_PICKUP, amount=amount)
    if channel == Channel.REGISTER and rng.random() < 0.3:
        return _Tender(id=tender_id, type=TenderType.CASH, amount=amount)
    platform = {Channel.WEB: "shopify", Channel.REGISTER: store.platform}.get(channel, "")
    rate, fixed = CARD_FEE.get(platform, (0, 0))
    fee = (amount * rate + 5000) // 10000 + fixed if rate and amount else 0
    reference = f"{platform or 'ext'}-{order_id}-{rng.randrange(16**8):08x}"
    return _Tender(id=tender_id, type=TenderType.CARD, amount=amount, fee=fee, platform=platform,
                   reference=reference)


# ---------------------------------------------------------------- loyalty


def _redemptions(run: VolumeRun, chunk: Chunk, order_id: int, placed_at: datetime,
                 tenders: list[_Tender], customer) -> None:
    """The ledger entries of what points, gift cards and store credit paid."""
    for tender in tenders:
        if tender.type == TenderType.LOYALTY:
            chunk.loyalty_entries.append((
                run.ids.next(LoyaltyEntry), run.loyalty_account[customer[0]], LoyaltyEntryKind.REDEEM,
                -tender.points, order_id, "", f"payment:{tender.id}", "", ACTOR, placed_at))
        elif tender.account_id is not None:
            chunk.stored_value_entries.append((
                run.ids.next(StoredValueEntry), tender.account_id, StoredValueEntryKind.REDEEM,
                -tender.amount, order_id, "", f"payment:{tender.id}", "", ACTOR, placed_at))


def _earn(run: VolumeRun, chunk: Chunk, customer_id: int, order_id: int, placed_at: datetime,
          goods: int, tenders: list[_Tender]) -> int:
    """The points a paid order earns: on the goods after discounts, less what points paid."""
    paid_by_points = sum(t.amount for t in tenders if t.type == TenderType.LOYALTY)
    earned = money.points_earned(max(0, goods - paid_by_points), run.currency, run.points_per_unit)
    if earned:
        run.points[customer_id] += earned
        chunk.loyalty_entries.append((run.ids.next(LoyaltyEntry), run.loyalty_account[customer_id],
                                      LoyaltyEntryKind.EARN, earned, order_id, "", f"order:{order_id}", "",
                                      ACTOR, placed_at))
    return earned


# ---------------------------------------------------------------- refunds


def _maybe_refund(run: VolumeRun, chunk: Chunk, store: Store, order_id: int, placed_at: datetime,
                  lines: list[_Line], tenders: list[_Tender], customer, earned: int, total: int) -> int:
    """About 3% of orders get a refund back to their card or cash: a unit of one line (some
    returned at another store) or some money alone; the same day or days later."""
    rng = run.rng
    tender = tenders[-1]
    if rng.random() >= 0.03 or tender.type not in (TenderType.CARD, TenderType.CASH) or tender.amount <= 0:
        return 0
    refund_id = run.ids.next(Refund)
    at = min(run.now, placed_at + (timedelta(minutes=rng.randrange(10, 300)) if rng.random() < 0.5
                                   else timedelta(days=rng.randrange(1, 21), minutes=rng.randrange(600))))
    return_location = None
    if rng.random() < 0.7:
        line = rng.choice(lines)
        quantity = 1
        net_share = line.net * quantity // line.quantity
        tax_share = line.tax * quantity // line.quantity
        amount = net_share + tax_share
        if amount <= 0 or amount > tender.amount:
            return 0
        if rng.random() < 0.15 and len(run.stores) > 1:
            return_location = rng.choice([s for s in run.stores if s is not store]).location.pk
        line.refunded_quantity, line.refunded_amount = quantity, amount
        chunk.refund_lines.append((run.ids.next(RefundLine), refund_id, line.id, quantity, amount, tax_share,
                                   line.discount * quantity // line.quantity, False, return_location))
        reason = rng.choice(REFUND_REASONS[:-1])
    else:
        amount = max(1, tender.amount // 10)
        reason = "goodwill"
    tender.refunded = amount
    reversed_points = 0
    if earned and customer is not None:
        reversed_points = min(run.points[customer[0]], earned * amount // max(1, total))
        if reversed_points:
            run.points[customer[0]] -= reversed_points
            chunk.loyalty_entries.append((
                run.ids.next(LoyaltyEntry), run.loyalty_account[customer[0]], LoyaltyEntryKind.REVERSE,
                -reversed_points, order_id, f"refund:{refund_id}", f"refund:{refund_id}", "", ACTOR, at))
    chunk.refunds.append((refund_id, order_id, RefundStatus.COMPLETED, amount, run.currency, reason,
                          return_location, ACTOR, "", "", reversed_points, 0, "", at, at))
    reference = f"{tender.platform}-refund-{refund_id}" if tender.type == TenderType.CARD else "cash drawer"
    chunk.refund_parts.append((run.ids.next(RefundPart), refund_id, tender.id, amount, 0, tender.platform,
                               RefundPartStatus.COMPLETED, reference, at, at))
    return amount


# ---------------------------------------------------------------- the timeline


def _changes(run: VolumeRun, chunk: Chunk, order_id: int, channel: str, store: Store, source: str,
             status: str, placed_at: datetime, lines: list[_Line]) -> None:
    """What the order's timeline reads: its outbox rows (relayed long ago) and, for an order
    placed through the API, its ticket sent to the store's POS and its client moving it
    along (the audit log)."""
    payload = {"order_id": order_id, "channel": channel, "location_id": store.location.pk,
               "source_name": source, "variant_ids": sorted({line.variant[0] for line in lines})}
    if channel == Channel.REGISTER:
        steps = [(topics.ORDER_RECORDED, placed_at)]
    else:
        closed_at = placed_at + timedelta(minutes=run.rng.randrange(5, 40))
        steps = [(topics.ORDER_CREATED, placed_at), (f"order.{status}", closed_at)]
        reason = {"reason": "the customer called to cancel"} if status == OrderStatus.CANCELED else {}
        chunk.audit.append((run.ids.next(AuditEntry), closed_at, source, f"order.{status}", "Order",
                            str(order_id), reason))
        sent_at = placed_at + timedelta(seconds=run.rng.randrange(1, 5))
        chunk.deliveries.append((
            run.ids.next(Delivery), store.platform, DeliveryKind.INJECT_ORDER,
            f"inject:{store.platform}:{order_id}", store.location.pk, order_id, DeliveryStatus.DONE, 1,
            placed_at, [{"at": sent_at.isoformat(), "attempt": 1, "ok": True}],
            f"{store.platform}-ticket-{order_id}", placed_at, sent_at, sent_at))
    for topic, at in steps:
        chunk.outbox.append((run.ids.next(OutboxEvent), topic, "Order", order_id,
                             {**payload, "status": topic.removeprefix("order.")}, at, at))


# ---------------------------------------------------------------- exceptions


EXCEPTION_KINDS = [ExceptionKind.DELIVERY_FAILED, ExceptionKind.OVERSOLD, ExceptionKind.UNMAPPED_SKU,
                   ExceptionKind.STOCK_DRIFT, ExceptionKind.POSSIBLE_DUPLICATE_CUSTOMER,
                   ExceptionKind.MANUAL_REFUND_REQUIRED]


def _exception(run: VolumeRun, chunk: Chunk, store: Store, order_id: int, at: datetime) -> None:
    """Something that needed a person; the recent ones are still open."""
    kind = run.rng.choice(EXCEPTION_KINDS)
    is_open = run.now - at < timedelta(days=14)
    status = ExceptionStatus.OPEN if is_open else run.rng.choice([ExceptionStatus.RESOLVED,
                                                                  ExceptionStatus.IGNORED])
    closed_at = None if is_open else at + timedelta(hours=run.rng.randrange(1, 48))
    chunk.exceptions.append((
        run.ids.next(ExceptionItem), kind, status, f"{kind.label}: order #{order_id}",
        "Generated by seed_volume.", store.platform, store.location.code, f"{ACTOR}:{kind}:{order_id}",
        {"order_id": order_id}, 1, 0, run.currency, 1, at, closed_at or at, closed_at,
        "" if is_open else "handled at the store"))


# ---------------------------------------------------------------- the writers


def write_orders(run: VolumeRun, chunk: Chunk) -> None:
    copy_rows(Order, ["id", "channel", "source_name", "external_id", "location", "status", "stock_mode",
                      "fulfillment_type", "fulfillment_at", "customer", "customer_name", "customer_phone",
                      "customer_email", "currency", "subtotal_amount", "discount_amount", "tax_amount",
                      "adjustment_amount", "total_amount", "tip_amount", "refunded_amount",
                      "loyalty_points_earned", "placed_at", "created_at", "updated_at"], chunk.orders)


def write_lines(run: VolumeRun, chunk: Chunk) -> None:
    run.summary.lines += copy_rows(OrderLine, [
        "id", "order", "line_number", "variant", "sku", "name", "quantity", "unit_price", "modifiers",
        "line_total", "discount_amount", "net_amount", "tax_amount", "tax_rate_bps", "refunded_quantity",
        "refunded_amount", "note"], chunk.lines)


def write_tenders(run: VolumeRun, chunk: Chunk) -> None:
    run.summary.tenders += copy_rows(Payment, [
        "id", "order", "tender_type", "status", "amount", "tip_amount", "processing_fee_amount", "currency",
        "points", "stored_value_account", "platform", "reference", "refunded_amount", "created_at"],
        chunk.tenders)


def write_refunds(run: VolumeRun, chunk: Chunk) -> None:
    run.summary.refunds += copy_rows(Refund, [
        "id", "order", "status", "amount", "currency", "reason", "return_location", "actor", "actor_role",
        "idempotency_key", "points_reversed", "points_returned", "decided_by", "created_at", "updated_at"],
        chunk.refunds)
    copy_rows(RefundLine, ["id", "refund", "order_line", "quantity", "amount", "tax_amount",
                           "discount_amount", "restock", "location"], chunk.refund_lines)
    copy_rows(RefundPart, ["id", "refund", "payment", "amount", "points", "platform", "status", "reference",
                           "created_at", "updated_at"], chunk.refund_parts)


def write_ledgers(run: VolumeRun, chunk: Chunk) -> None:
    run.summary.loyalty_entries += copy_rows(LoyaltyEntry, LOYALTY_ENTRY_FIELDS, chunk.loyalty_entries)
    run.summary.stored_value_entries += copy_rows(StoredValueEntry, SV_ENTRY_FIELDS,
                                                  chunk.stored_value_entries)


def write_exceptions(run: VolumeRun, chunk: Chunk) -> None:
    run.summary.exceptions += copy_rows(ExceptionItem, [
        "id", "kind", "status", "title", "detail", "platform", "location_code", "dedupe_key", "data",
        "units", "value_amount", "currency", "occurrences", "created_at", "updated_at", "closed_at",
        "close_reason"], chunk.exceptions)


def write_timeline(run: VolumeRun, chunk: Chunk) -> None:
    copy_rows(OutboxEvent, ["id", "topic", "aggregate_type", "aggregate_id", "payload", "created_at",
                            "dispatched_at"], chunk.outbox)
    copy_rows(AuditEntry, ["id", "created_at", "actor_label", "action", "object_type", "object_id", "data"],
              chunk.audit)
    copy_rows(Delivery, ["id", "platform", "kind", "subject_key", "location", "order_id", "status",
                         "attempts", "next_attempt_at", "history", "external_ref", "created_at",
                         "updated_at", "done_at"], chunk.deliveries)


# Each chunk's rows, written in foreign-key order. Another kind of record is one more part.
CHUNK_PARTS = [write_orders, write_lines, write_tenders, write_refunds, write_ledgers, write_exceptions,
               write_timeline, write_processor_records]


WRITTEN_MODELS = [Customer, CustomerEmail, CustomerPhone, LoyaltyAccount, LoyaltyEntry, StoredValueAccount,
                  StoredValueEntry, Order, OrderLine, Payment, Refund, RefundLine, RefundPart, ExceptionItem,
                  OutboxEvent, AuditEntry, Delivery, *MONEY_MODELS]


def settle_balances(run: VolumeRun) -> None:
    """Every volume loyalty and stored-value balance is the sum of its entries (computed by
    Postgres from the rows written, not from Python's running figures)."""
    loyalty_ids = list(run.loyalty_account.values())
    stored_value_ids = [card[0] for card in run.gift_cards] + [c[0] for c in run.store_credit.values()]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {LoyaltyAccount._meta.db_table} a SET balance = s.total
                FROM (SELECT account_id, SUM(points) AS total FROM {LoyaltyEntry._meta.db_table}
                      WHERE account_id = ANY(%s) GROUP BY account_id) s
                WHERE a.id = s.account_id""", [loyalty_ids])
        cursor.execute(
            f"""UPDATE {StoredValueAccount._meta.db_table} a SET balance = s.total
                FROM (SELECT account_id, SUM(amount) AS total FROM {StoredValueEntry._meta.db_table}
                      WHERE account_id = ANY(%s) GROUP BY account_id) s
                WHERE a.id = s.account_id""", [stored_value_ids])
