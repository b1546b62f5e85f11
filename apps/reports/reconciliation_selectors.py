"""Reads of the stored reconciliation: the days of a range with their totals, one day's
lines, and both as a Table for the CSV and XLSX files."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from django.db.models import QuerySet

from apps.reports.files import Table, major_units
from apps.reports.models import ReconciliationDay, ReconciliationLine

FIGURES = ("sold", "processor_gross", "fees", "paid_out", "difference", "unexplained")


def list_reconciliation_days(*, first_day: date, last_day: date) -> QuerySet[ReconciliationDay]:
    return (ReconciliationDay.objects.filter(business_day__range=(first_day, last_day))
            .select_related("location", "reviewed_by").order_by("business_day", "location__code", "platform"))


def get_reconciliation_day(*, day_id: int) -> ReconciliationDay:
    return ReconciliationDay.objects.select_related("location", "reviewed_by").get(pk=day_id)


def list_reconciliation_lines(*, day_id: int) -> QuerySet[ReconciliationLine]:
    return (ReconciliationLine.objects.filter(day_id=day_id)
            .select_related("processor_record", "payout", "deposit_row")
            .order_by("explained", "classification", "id"))


def explained_by_class(days) -> dict[int, dict[str, int]]:
    """Per day id, the sum of its explained lines by classification (one query)."""
    sums: dict[int, dict[str, int]] = defaultdict(dict)
    lines = ReconciliationLine.objects.filter(day__in=[day.pk for day in days], explained=True) \
        .values_list("day_id", "classification", "amount")
    for day_id, classification, amount in lines:
        sums[day_id][classification] = sums[day_id].get(classification, 0) + amount
    return sums


def totals(days) -> dict[str, dict[str, int]]:
    """Per currency, each figure summed over the days."""
    found: dict[str, dict[str, int]] = {}
    for day in days:
        row = found.setdefault(day.currency, dict.fromkeys(FIGURES, 0))
        for figure in FIGURES:
            row[figure] += getattr(day, figure)
    return found


def reconciliation_table(*, first_day: date, last_day: date) -> Table:
    """One line per day, location and processor, then one line per classified difference,
    then the totals per currency: the same figures as the page, money in major units."""
    days = list(list_reconciliation_days(first_day=first_day, last_day=last_day))
    header = ["business_day", "location", "processor", "currency", "status", *FIGURES, "reviewed_by",
              "line_classification", "line_explained", "line_amount", "line_count", "order", "payout", "note"]

    def rows():
        lines = defaultdict(list)
        for line in ReconciliationLine.objects.filter(day__in=[d.pk for d in days]).order_by("day_id", "id"):
            lines[line.day_id].append(line)
        for day in days:
            where = [day.business_day.isoformat(), day.location.code if day.location_id else "", day.platform,
                     day.currency]
            yield [*where, day.status, *[major_units(getattr(day, f), day.currency) for f in FIGURES],
                   day.reviewed_by.get_username() if day.reviewed_by_id else "", "", "", "", "", "", "", ""]
            for line in lines[day.pk]:
                yield [*where, "", *[""] * len(FIGURES), "", line.classification, line.explained,
                       major_units(line.amount, day.currency), line.count, line.order_id or "",
                       line.payout_id or "", line.note]
        for currency, sums in sorted(totals(days).items()):
            yield ["TOTAL", "", "", currency, "", *[major_units(sums[f], currency) for f in FIGURES],
                   "", "", "", "", "", "", "", ""]

    return Table(title="Reconciliation", header=header, rows=rows(), size=len(days))
