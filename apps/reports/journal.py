"""The daily journal: double entry, one journal per location and business day (plus one
per reporting day, location "ALL", for gift cards, store credit and loyalty, which belong
to no one store), in a generic layout an accounting tool imports:

    date, journal_id, account, debit, credit, memo, source_id

`source_id` is `<journal_id>/<line key>`: the same day exported again gives the same ids
(an importer that keys on them updates, never duplicates). Each journal balances: debits
equal credits, to the cent.

Sales: Dr tenders (card clearing, cash, stored value used, ...) and discounts; Cr sales by
channel, tax payable, tips payable, other charges. Card fees: Dr processing fees, Cr the
tender's clearing account. Refunds made that day: Dr refunds by channel and tax payable;
Cr the tenders given back to. What tenders do not cover (pay at pickup not yet taken, a
voided tender) goes to "Unsettled tenders". Gift cards and store credit issued, expired
or adjusted, and loyalty points earned, reversed or adjusted move their liabilities.
Cash over/short, on a day whose drawer was counted: counted - opening float - the cash
the day's tenders and refunds moved; over: Dr Cash, Cr Cash over/short; short: reversed."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.db.models import Count, F, Sum
from django.db.models.functions import TruncDate

from apps.customers.enums import LoyaltyEntryKind, StoredValueEntryKind, StoredValueKind
from apps.customers.models import LoyaltyEntry, LoyaltyProgram, StoredValueEntry
from apps.inventory.models import Location
from apps.orders.enums import OrderStatus
from apps.orders.models import Order
from apps.reports.business_day import business_day_sql, location_bounds
from apps.reports.channel_figures import MONEY_REFUNDS
from apps.reports.drawer_selectors import counts_in, expected_cash, over_short
from apps.reports.files import Table, major_units
from apps.reports.liabilities import day_start
from apps.reports.tender_movements import refund_parts_given, tenders_taken
from apps.returns.models import Refund, RefundLine

HEADER = ["date", "journal_id", "account", "debit", "credit", "memo", "source_id"]
TENDER_ACCOUNTS = {"card": "Card clearing", "cash": "Cash", "gift_card": "Gift card liability",
                   "store_credit": "Store credit liability", "loyalty": "Loyalty liability",
                   "external": "Platform clearing", "pay_at_pickup": "Unsettled tenders",
                   "other": "Other tenders"}
UNSETTLED = "Unsettled tenders"
OVER_SHORT = "Cash over/short"
MERCHANT = "ALL"


@dataclass
class JournalLine:
    day: date
    journal_id: str
    key: str
    account: str
    amount: int  # positive: debit; negative: credit
    currency: str
    memo: str

    @property
    def source_id(self) -> str:
        return f"{self.journal_id}/{self.key}"


class _Journal:
    def __init__(self, day: date, place: str, currency: str):
        self.day, self.currency = day, currency
        self.journal_id = f"CJ-{day.isoformat()}-{place}"
        self.lines: list[JournalLine] = []

    def post(self, key: str, account: str, amount: int, memo: str, *, keep_zero: bool = False) -> None:
        if amount or keep_zero:
            self.lines.append(JournalLine(self.day, self.journal_id, key, account, amount, self.currency,
                                          memo))

    def balance_to(self, key: str, account: str, memo: str) -> None:
        self.post(key, account, -sum(line.amount for line in self.lines), memo)


def journal_lines(*, first: date, last: date) -> list[JournalLine]:
    lines: list[JournalLine] = []
    for location in Location.objects.order_by("code"):
        lines.extend(_location_lines(location, first, last))
    lines.extend(_merchant_lines(first, last))
    lines.sort(key=lambda line: (line.day, line.journal_id))
    return lines


def _location_lines(location: Location, first: date, last: date) -> list[JournalLine]:
    start, end = location_bounds(first, last, location)
    journals: dict[date, _Journal] = {}

    def journal(day: date) -> _Journal:
        if day not in journals:
            journals[day] = _Journal(day, location.code, location.currency)
        return journals[day]

    placed = business_day_sql('"orders_order"."placed_at"', location)
    orders = (Order.objects.filter(location=location, placed_at__gte=start, placed_at__lt=end)
              .exclude(status=OrderStatus.CANCELED).annotate(day=placed))
    for row in orders.values("day", "channel").annotate(
            n=Count("id"), subtotal=Sum("subtotal_amount"), discount=Sum("discount_amount"),
            tax=Sum("tax_amount"), tips=Sum("tip_amount"), adjustment=Sum("adjustment_amount")).order_by():
        book, channel, n = journal(row["day"]), row["channel"], row["n"]
        book.post(f"sales:{channel}", f"Sales:{channel}", -row["subtotal"], f"{n} {channel} orders")
        book.post(f"discounts:{channel}", f"Discounts:{channel}", row["discount"], f"{channel} discounts")
        book.post(f"tax:{channel}", "Tax payable", -row["tax"], f"Tax on {channel} sales")
        book.post(f"tips:{channel}", "Tips payable", -row["tips"], f"Tips on {channel} sales")
        book.post(f"charges:{channel}", "Other charges", -row["adjustment"],
                  f"Shipping and charges, {channel}")
    for row in tenders_taken(location, start, end).values("day", "tender_type").annotate(
            taken=Sum(F("amount") + F("tip_amount")), fees=Sum("processing_fee_amount")).order_by():
        book, tender = journal(row["day"]), row["tender_type"]
        account = TENDER_ACCOUNTS.get(tender, "Other tenders")
        book.post(f"tender:{tender}", account, row["taken"], f"Taken by {tender}")
        book.post(f"fee:{tender}", "Processing fees", row["fees"], f"Processor fees on {tender}")
        book.post(f"fee-clearing:{tender}", account, -row["fees"], f"Processor fees on {tender}")
    for book in journals.values():
        book.balance_to("unsettled", UNSETTLED, "Sales not covered by a tender taken")
    _refund_lines(location, start, end, journal)
    _drawer_lines(location, first, last, journal)
    return [line for book in journals.values() for line in book.lines]


def _refund_lines(location, start, end, journal) -> None:
    made = business_day_sql('"returns_refund"."created_at"', location)
    refunds = (Refund.objects.filter(order__location=location, created_at__gte=start, created_at__lt=end,
                                     status__in=MONEY_REFUNDS)
               .exclude(order__status=OrderStatus.CANCELED).annotate(day=made))
    of_refunds = {"refund__order__location": location, "refund__created_at__gte": start,
                  "refund__created_at__lt": end, "refund__status__in": MONEY_REFUNDS}
    tax_by = defaultdict(int)
    for row in (RefundLine.objects.filter(**of_refunds).exclude(refund__order__status=OrderStatus.CANCELED)
                .annotate(day=made)
                .values("day", "refund__order__channel").annotate(tax=Sum("tax_amount")).order_by()):
        tax_by[(row["day"], row["refund__order__channel"])] = row["tax"]
    touched = set()
    by_channel = refunds.values("day", "order__channel").annotate(n=Count("id"), total=Sum("amount"))
    for row in by_channel.order_by():
        book, channel = journal(row["day"]), row["order__channel"]
        tax = tax_by[(row["day"], channel)]
        book.post(f"refunds:{channel}", f"Refunds:{channel}", row["total"] - tax,
                  f"{row['n']} {channel} refunds")
        book.post(f"refund-tax:{channel}", "Tax payable", tax, f"Tax refunded, {channel}")
        touched.add(row["day"])
    for row in (refund_parts_given(location, start, end)
                .values("day", "payment__tender_type").annotate(total=Sum("amount")).order_by()):
        tender = row["payment__tender_type"]
        journal(row["day"]).post(f"refund-tender:{tender}", TENDER_ACCOUNTS.get(tender, "Other tenders"),
                                 -row["total"], f"Given back to {tender}")
    for day in touched:
        book = journal(day)
        refund_lines = [line for line in book.lines if line.key.startswith("refund")]
        book.post("refund-unsettled", UNSETTLED, -sum(line.amount for line in refund_lines),
                  "Refunds not yet split over tenders")


def _drawer_lines(location, first, last, journal) -> None:
    """Cash over/short of each counted day. Cash holds what the day's tenders and refunds
    moved; the count brings it to what the drawer held beyond its float (over: Dr Cash,
    Cr Cash over/short; short: the reverse). A recount changes the amounts, not the ids,
    even to 0."""
    counts = counts_in(location_ids=[location.pk], first=first, last=last)
    if not counts:
        return
    expected = expected_cash(location=location, first=first, last=last)
    for (_, day), count in sorted(counts.items()):
        difference = over_short(count, expected.get(day, 0))
        money = {name: major_units(amount, location.currency) for name, amount in (
            ("counted", count.counted), ("float", count.opening_float), ("expected", expected.get(day, 0)))}
        memo = f"Drawer counted {money['counted']}, float {money['float']}, expected {money['expected']}"
        book = journal(day)
        # Even, the lines stay (at 0): an importer keyed on their ids updates a recount to even.
        book.post("cash-count", TENDER_ACCOUNTS["cash"], difference, memo, keep_zero=True)
        book.post("cash-over-short", OVER_SHORT, -difference, memo, keep_zero=True)


# What each ledger entry kind moves, against which account (the others are tenders and
# refund parts, already in the stores' journals).
STORED_VALUE_COUNTER_ACCOUNTS = {
    (StoredValueKind.GIFT_CARD, StoredValueEntryKind.ISSUE): "Gift card sales clearing",
    (StoredValueKind.GIFT_CARD, StoredValueEntryKind.EXPIRE): "Breakage income",
    (StoredValueKind.GIFT_CARD, StoredValueEntryKind.ADJUST): "Stored value adjustments",
    (StoredValueKind.STORE_CREDIT, StoredValueEntryKind.ISSUE): "Store credit issued",
    (StoredValueKind.STORE_CREDIT, StoredValueEntryKind.EXPIRE): "Breakage income",
    (StoredValueKind.STORE_CREDIT, StoredValueEntryKind.ADJUST): "Stored value adjustments",
}
LOYALTY_COUNTER_ACCOUNTS = {LoyaltyEntryKind.EARN: "Loyalty expense",
                            LoyaltyEntryKind.REVERSE: "Loyalty expense",
                            LoyaltyEntryKind.ADJUST: "Loyalty adjustments"}


def _merchant_lines(first: date, last: date) -> list[JournalLine]:
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    start, end = day_start(first), day_start(last + timedelta(days=1))
    local_day = TruncDate("created_at", tzinfo=ZoneInfo(settings.TIME_ZONE))
    currency = Location.objects.order_by("pk").values_list("currency", flat=True).first() or "USD"
    journals: dict[date, _Journal] = {}

    def journal(day: date) -> _Journal:
        if day not in journals:
            journals[day] = _Journal(day, MERCHANT, currency)
        return journals[day]

    booked_here = [StoredValueEntryKind.ISSUE, StoredValueEntryKind.EXPIRE, StoredValueEntryKind.ADJUST]
    entries = StoredValueEntry.objects.filter(created_at__gte=start, created_at__lt=end, kind__in=booked_here)
    for row in (entries
                .annotate(day=local_day).values("day", "account__kind", "kind")
                .annotate(total=Sum("amount")).order_by()):
        book, account_kind, kind = journal(row["day"]), row["account__kind"], row["kind"]
        liability = TENDER_ACCOUNTS[account_kind]
        book.post(f"{account_kind}:{kind}", liability, -row["total"], f"{account_kind} {kind}")
        book.post(f"{account_kind}:{kind}:counter", STORED_VALUE_COUNTER_ACCOUNTS[(account_kind, kind)],
                  row["total"], f"{account_kind} {kind}")
    program = LoyaltyProgram.objects.filter(is_active=True).first()
    point_value = program.point_value if program else settings.LOYALTY_POINT_VALUE
    for row in (LoyaltyEntry.objects.filter(created_at__gte=start, created_at__lt=end,
                                            kind__in=list(LOYALTY_COUNTER_ACCOUNTS))
                .annotate(day=local_day).values("day", "kind").annotate(points=Sum("points")).order_by()):
        book, kind, value = journal(row["day"]), row["kind"], row["points"] * point_value
        book.post(f"loyalty:{kind}", "Loyalty liability", -value, f"{row['points']} points {kind}")
        book.post(f"loyalty:{kind}:counter", LOYALTY_COUNTER_ACCOUNTS[kind], value,
                  f"{row['points']} points {kind}")
    return [line for book in journals.values() for line in book.lines]


def journal_table(*, first: date, last: date) -> Table:
    lines = journal_lines(first=first, last=last)

    def rows():
        for line in lines:
            money = major_units(abs(line.amount), line.currency)
            debit, credit = (money, "") if line.amount > 0 else ("", money)
            yield [line.day.isoformat(), line.journal_id, line.account, debit, credit, line.memo,
                   line.source_id]

    return Table(title="Journal", header=HEADER, rows=rows(), size=len(lines))
