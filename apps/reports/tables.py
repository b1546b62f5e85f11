"""The reports as Tables (apps.reports.files): the same figures the pages show."""

from __future__ import annotations

from apps.reports.files import Table, major_units
from apps.reports.liabilities import LOYALTY_MOVEMENTS, STORED_VALUE_MOVEMENTS, LiabilityReport
from apps.reports.selectors import COLUMNS, MONEY_COLUMNS, ChannelReport, figures_document, rate

TOTAL = "TOTAL"
PREVIOUS = "PREVIOUS PERIOD"


def channel_table(report: ChannelReport) -> Table:
    """One line per business day, location and channel, then the totals and the previous
    period's totals (money in major units of the report's one currency)."""
    currency = report.currencies[0] if len(report.currencies) == 1 else ""
    header = ["day", "location", "channel", *COLUMNS, "refund_rate_pct", "oversell_rate_pct", "currency"]

    def cells(document: dict, row_currency: str) -> list:
        return [major_units(document[column], row_currency) if column in MONEY_COLUMNS else document[column]
                for column in COLUMNS] + [
            rate(document["refunds"], document["gross_sales"]),
            rate(document["oversold_units"], document["units"]), row_currency]

    def rows():
        for row in report.rows:
            yield [row.day.isoformat(), row.location.code, row.channel,
                   *cells(figures_document(row.figures), row.location.currency)]
        yield [TOTAL, "", "", *cells(figures_document(report.totals), currency or "USD")]
        yield [PREVIOUS, report.previous_first.isoformat(), report.previous_last.isoformat(),
               *cells(figures_document(report.previous), currency or "USD")]

    return Table(title="Channel report", header=header, rows=rows(), size=len(report.rows) + 2)


def liabilities_table(report: LiabilityReport) -> Table:
    """One line per liability: opening, each movement, closing (points for loyalty) and the
    closing balance's worth in money."""
    kinds = [value for value, _ in STORED_VALUE_MOVEMENTS] + [
        value for value, _ in LOYALTY_MOVEMENTS if value not in dict(STORED_VALUE_MOVEMENTS)]
    header = ["liability", "currency", "unit", "opening", *kinds, "closing", "closing_value"]

    def amount(line, value):
        return value if line.points else major_units(value, line.currency)

    def rows():
        for line in report.lines:
            yield [line.kind, line.currency, "points" if line.points else "money", amount(line, line.opening),
                   *[amount(line, line.movements.get(kind, 0)) for kind in kinds], amount(line, line.closing),
                   major_units(line.closing_value, line.currency)]
        for currency, total in sorted(report.total_closing_value.items()):
            yield [TOTAL, currency, "money", *[""] * (len(kinds) + 2), major_units(total, currency)]

    return Table(title="Liabilities", header=header, rows=rows(), size=len(report.lines) + 1)
