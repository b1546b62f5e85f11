"""Reading the deposit files finance imports (pure: no database writes).

- Toast `PaymentDetails.csv` (the nightly export; PLATFORM_MONEY §4.4): one row per payment,
  its card fee in `V/MC/D Fees` ("CC processing fees for payment": Toast's data export field
  reference, doc.toasttab.com/doc/platformguide/adminDataExportFieldReference.html).
- Toast Payouts Overview (Toast Web, Reports > Payments): one row per payout, with its
  settled date and sales date(s); its columns follow the Analytics API's payout rows
  (payments, refunds, fees, withholdings and payout amount, as the emulator writes them)
  since the export's own header is not established, and a few spellings of each are
  accepted. Refunds are read as a positive amount taken off.
- Clover deposit report: one row per deposit (date funded, amount submitted, fees, amount
  transferred: the Funding API's names, §4.3).
- A bank statement: date, description, amount, reference.

Headers are matched without regard to case, spaces or punctuation. Every problem is
collected with its line (the header is line 1) and column, so a file is refused whole
with all of them at once.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from apps.core.money import exponent_of
from apps.reports.enums import DepositFormat, DepositPlatform, DepositRowKind

MAX_PROBLEMS = 200  # past this, the file is plainly not what it claims to be


@dataclass(frozen=True)
class FileProblem:
    line: int
    column: str
    message: str

    def __str__(self):
        where = f"line {self.line}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message}"


@dataclass
class ParsedRow:
    line_number: int
    kind: str
    date: date
    amount: int
    net: int
    currency: str
    location: object = None
    business_day: date | None = None
    tip: int = 0
    fee: int = 0
    reference: str = ""
    description: str = ""
    status: str = ""
    links_payment: bool = False  # `reference` is the platform's payment id (a tender's reference)
    payout_key: str = ""  # the row states a payout, known by this key
    bank_reference: str = ""
    data: dict = field(default_factory=dict)


@dataclass
class ParsedFile:
    file_format: str = ""
    rows: list[ParsedRow] = field(default_factory=list)
    problems: list[FileProblem] = field(default_factory=list)


# ---------------------------------------------------------------- column specifications


@dataclass(frozen=True)
class Column:
    name: str  # as the problems name it
    spellings: tuple[str, ...]
    required: bool = True


def _key(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.lower())


def _column(name: str, *others: str, required: bool = True) -> Column:
    return Column(name, tuple(_key(s) for s in (name, *others)), required)


TOAST_PAYMENT_DETAILS = (
    _column("Location", "Restaurant"), _column("Payment Id", "Payment GUID"), _column("Paid Date"),
    _column("Amount"), _column("Status"), _column("Order Id", required=False),
    _column("Tip", "Tip Amount", required=False), _column("Gratuity", required=False),
    _column("Total", required=False), _column("Type", required=False),
    _column("Card Type", required=False), _column("Refund Amount", required=False),
    _column("Refund Tip Amount", required=False), _column("Business Date", required=False),
    _column("V/MC/D Fees", "Processing Fee", "Fee", "Fees", required=False),
)
TOAST_PAYOUTS = (
    _column("Location", "Location Code", "Restaurant GUID", "Restaurant", "Restaurant Name",
            "Restaurant Location Name"),
    _column("Settled Date", "Payout Date", "Deposit Date"),
    _column("Payout Amount", "Payout", "Deposit Amount", "Deposit"),
    _column("Sales Date", "Sales Dates", "Sales Date(s)", "Business Date", required=False),
    _column("Payment Amount", "Payments", required=False),
    _column("Refund Amount", "Refunds", required=False),
    _column("Fee Amount", "Total Fee Amount", "Fees", "Fee", required=False),
    _column("Withholding Amount", "Withholdings", "Withholding", required=False),
    _column("Payout Status", "Status", required=False),
    _column("Payout Id", "Reference", required=False),
)
CLOVER_DEPOSITS = (
    _column("Date Funded", "Deposit Date", "Funded Date", "Date"),
    _column("Amount Transferred", "Deposit Amount", "Net Amount", "Amount"),
    _column("Merchant", "Merchant Id", "MID", "Location", required=False),
    _column("Start Date", required=False), _column("End Date", required=False),
    _column("Amount Submitted", "Gross Amount", "Submitted", required=False),
    _column("Fees", "Fee Amount", "Total Fees", "Processing Fees", required=False),
    _column("Reference", "Deposit Id", "Batch", "Batch Id", required=False),
    _column("Status", required=False),
)
BANK_STATEMENT = (
    _column("Date", "Booking Date", "Posted Date", "Transaction Date"),
    _column("Description", "Details", "Memo"), _column("Amount"),
    _column("Reference", "Ref", required=False), _column("Currency", required=False),
)


# ---------------------------------------------------------------- the entry point


def parse_deposit_file(*, platform: str, content: bytes, locations: dict[str, object],
                       default_currency: str = "USD") -> ParsedFile:
    """The file's rows, or its problems (then no rows count). `locations` maps how a file
    may name a location (lower case) to the location."""
    table, problem = _table(content)
    if problem:
        return ParsedFile(problems=[problem])
    header, records = table
    choice = _format_for(platform, header)
    if isinstance(choice, FileProblem):
        return ParsedFile(problems=[choice])
    file_format, columns, read_row = choice
    found = _locate_columns(header, columns)
    parsed = ParsedFile(file_format=file_format)
    missing = [c.name for c in columns if c.required and c.name not in found]
    if missing:
        parsed.problems.append(FileProblem(1, missing[0], f"a {DepositFormat(file_format).label} file needs "
                                           f"the column(s) {', '.join(missing)}"))
        return parsed
    for line_number, values in records:
        if len(parsed.problems) >= MAX_PROBLEMS:
            break
        if len(values) != len(header):
            parsed.problems.append(FileProblem(line_number, "", f"has {len(values)} fields; the header has "
                                               f"{len(header)}"))
            continue
        cells = _Cells(line_number, {name: values[index] for name, index in found.items()},
                       dict(zip(header, values, strict=True)))
        row = read_row(cells, locations, default_currency)
        parsed.problems += cells.problems
        if row is not None and not cells.problems:
            parsed.rows.append(row)
    if parsed.problems:
        parsed.rows = []
    return parsed


def _table(content: bytes) -> tuple[tuple[list[str], list[tuple[int, list[str]]]] | None, FileProblem | None]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = content[:error.start].count(b"\n") + 1
        return None, FileProblem(line, "", "is not UTF-8 text")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if not header or not any(h.strip() for h in header):
            return None, FileProblem(1, "", "the file is empty: a CSV file with a header row is expected")
        records = [(reader.line_num, row) for row in reader if any(cell.strip() for cell in row)]
    except csv.Error as error:
        return None, FileProblem(reader.line_num, "", f"is not valid CSV ({error})")
    return ([h.strip() for h in header], records), None


def _format_for(platform: str, header: list[str]):
    keys = {_key(h) for h in header}
    if platform == DepositPlatform.TOAST:
        if keys & set(TOAST_PAYMENT_DETAILS[1].spellings):
            return DepositFormat.TOAST_PAYMENT_DETAILS, TOAST_PAYMENT_DETAILS, _toast_payment_row
        if keys & set(TOAST_PAYOUTS[1].spellings):
            return DepositFormat.TOAST_PAYOUTS, TOAST_PAYOUTS, _toast_payout_row
        return FileProblem(1, "", "not a Toast PaymentDetails.csv (no Payment Id column) nor a Payouts "
                                  "Overview export (no Settled Date column)")
    if platform == DepositPlatform.CLOVER:
        return DepositFormat.CLOVER_DEPOSITS, CLOVER_DEPOSITS, _clover_deposit_row
    if platform == DepositPlatform.BANK:
        return DepositFormat.BANK_STATEMENT, BANK_STATEMENT, _bank_row
    return FileProblem(1, "", f"unknown platform {platform!r}: toast, clover or bank")


def _locate_columns(header: list[str], columns: tuple[Column, ...]) -> dict[str, int]:
    keys = [_key(h) for h in header]
    found = {}
    for column in columns:
        index = next((keys.index(s) for s in column.spellings if s in keys), None)
        if index is not None:
            found[column.name] = index
    return found


# ---------------------------------------------------------------- cells


class _Cells:
    """One row's cells by column name; each reader notes a problem at its column."""

    def __init__(self, line: int, values: dict[str, str], raw: dict[str, str]):
        self.line, self.values, self.raw = line, values, raw
        self.problems: list[FileProblem] = []

    def text(self, name: str) -> str:
        return (self.values.get(name) or "").strip()

    def problem(self, name: str, message: str) -> None:
        self.problems.append(FileProblem(self.line, name, message))

    def required(self, name: str) -> str:
        value = self.text(name)
        if not value:
            self.problem(name, "is empty")
        return value

    def money(self, name: str, currency: str, *, required: bool = True) -> int:
        value = self.text(name)
        if not value:
            if required:
                self.problem(name, "is empty")
            return 0
        amount = parse_amount(value, currency)
        if amount is None:
            self.problem(name, f"{value!r} is not an amount in {currency}")
            return 0
        return amount

    def day(self, name: str, *, required: bool = True) -> date | None:
        value = self.text(name)
        if not value:
            if required:
                self.problem(name, "is empty")
            return None
        parsed = parse_day(value)
        if parsed is None:
            self.problem(name, f"{value!r} is not a date (YYYY-MM-DD, MM/DD/YYYY or YYYYMMDD)")
        return parsed

    def location(self, name: str, locations: dict[str, object], *, required: bool = True):
        value = self.text(name)
        if not value:
            if required:
                self.problem(name, "is empty")
            return None
        location = locations.get(value.lower())
        if location is None:
            self.problem(name, f"{value!r} is no location Concord knows (its code, name or platform id)")
        return location


def parse_amount(text: str, currency: str) -> int | None:
    """Minor units from "1,234.50", "$12.00", "-3.10" or "(3.10)"; None if it is not one, or
    is finer than the currency's minor unit."""
    cleaned = text.replace("$", "").replace(",", "").replace(" ", "")
    negative = cleaned.startswith("(") and cleaned.endswith(")")
    if negative:
        cleaned = cleaned[1:-1]
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    if not value.is_finite():
        return None
    scaled = value.scaleb(exponent_of(currency))
    if scaled != scaled.to_integral_value():
        return None
    return -int(scaled) if negative else int(scaled)


DAY_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%Y%m%d")
MOMENT_FORMATS = ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %I:%M:%S %p")


def parse_day(text: str) -> date | None:
    """The day of "2026-11-24", "11/24/2026", "20261124", "11/24/2026 18:30:00" or an ISO
    8601 date-time (the day as written: exports write local times)."""
    for layout in DAY_FORMATS:
        try:
            return datetime.strptime(text, layout).date()
        except ValueError:
            pass
    for layout in MOMENT_FORMATS:
        try:
            return datetime.strptime(text, layout).date()
        except ValueError:
            pass
    try:
        return datetime.fromisoformat(text).date()
    except ValueError:
        return None


def _currency(location, cells: _Cells, default: str) -> str:
    return getattr(location, "currency", None) or cells.text("Currency") or default


# ---------------------------------------------------------------- one reader per format

RowReader = Callable[[_Cells, dict, str], ParsedRow | None]


def _toast_payment_row(cells: _Cells, locations: dict, default_currency: str) -> ParsedRow | None:
    location = cells.location("Location", locations)
    currency = _currency(location, cells, default_currency)
    payment_id = cells.required("Payment Id")
    paid = cells.day("Paid Date")
    amount = cells.money("Amount", currency)
    tip = cells.money("Tip", currency, required=False)
    fee = cells.money("V/MC/D Fees", currency, required=False)
    business_day = cells.day("Business Date", required=False)
    status = cells.required("Status")
    if cells.problems:
        return None
    return ParsedRow(
        line_number=cells.line, kind=DepositRowKind.PAYMENT, location=location, date=paid,
        business_day=business_day or paid, amount=amount, tip=tip, fee=fee, net=amount + tip - fee,
        currency=currency, reference=payment_id, status=status, links_payment=True,
        description=" ".join(filter(None, (cells.text("Type"), cells.text("Card Type")))), data=cells.raw)


def _toast_payout_row(cells: _Cells, locations: dict, default_currency: str) -> ParsedRow | None:
    location = cells.location("Location", locations)
    currency = _currency(location, cells, default_currency)
    settled = cells.day("Settled Date")
    payout = cells.money("Payout Amount", currency)
    sales_text = cells.text("Sales Date")
    sales_day = cells.day("Sales Date", required=False) if sales_text and "," not in sales_text else None
    payments = cells.money("Payment Amount", currency, required=False)
    refunds = cells.money("Refund Amount", currency, required=False)
    fees = cells.money("Fee Amount", currency, required=False)
    withheld = cells.money("Withholding Amount", currency, required=False)
    stated = bool(cells.text("Payment Amount")) and not cells.problems
    if stated and payments - abs(refunds) - fees - withheld != payout:
        cells.problem("Payout Amount", "is not payments - refunds - fees - withholdings")
    if cells.problems:
        return None
    reference = cells.text("Payout Id")
    key = reference or ":".join(filter(None, (location.code, settled.isoformat(), sales_text)))
    return ParsedRow(
        line_number=cells.line, kind=DepositRowKind.PAYOUT, location=location, date=settled,
        business_day=sales_day, amount=payments or payout, fee=fees + withheld, net=payout,
        currency=currency, reference=reference or key, status=cells.text("Payout Status").lower(),
        payout_key=key, description=f"Toast payout of sales {sales_text}".strip(), data=cells.raw)


def _clover_deposit_row(cells: _Cells, locations: dict, default_currency: str) -> ParsedRow | None:
    location = cells.location("Merchant", locations, required=False)
    currency = _currency(location, cells, default_currency)
    funded = cells.day("Date Funded")
    transferred = cells.money("Amount Transferred", currency)
    submitted = cells.money("Amount Submitted", currency, required=False)
    fees = cells.money("Fees", currency, required=False)
    start = cells.day("Start Date", required=False)
    cells.day("End Date", required=False)
    if cells.problems:
        return None
    reference = cells.text("Reference")
    where = location.code if location else cells.text("Merchant")
    key = reference or ":".join(filter(None, (where, funded.isoformat())))
    if not cells.text("Fees") and cells.text("Amount Submitted"):
        fees = submitted - transferred
    return ParsedRow(
        line_number=cells.line, kind=DepositRowKind.PAYOUT, location=location, date=funded,
        business_day=start, amount=submitted or transferred, fee=fees, net=transferred, currency=currency,
        reference=key, status=cells.text("Status").lower(), payout_key=key,
        description="Clover deposit", bank_reference=reference, data=cells.raw)


def _bank_row(cells: _Cells, locations: dict, default_currency: str) -> ParsedRow | None:
    currency = cells.text("Currency").upper() or default_currency
    try:
        exponent_of(currency)
    except ValueError:
        cells.problem("Currency", f"{currency!r} is not a currency Concord handles")
        return None
    booked = cells.day("Date")
    description = cells.required("Description")
    amount = cells.money("Amount", currency)
    if cells.problems:
        return None
    return ParsedRow(line_number=cells.line, kind=DepositRowKind.BANK_LINE, date=booked, amount=amount,
                     net=amount, currency=currency, reference=cells.text("Reference"),
                     description=description, data=cells.raw)
