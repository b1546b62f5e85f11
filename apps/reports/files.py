"""Reports as files: a report becomes a `Table` (a header and rows of cells), and a table
is streamed as CSV or XLSX (openpyxl's write-only mode, rows written as they come, the
workbook spooled to a temporary file and sent in chunks). Money leaves as a Decimal in
major units (19.50), exactly the minor units of the page: totals match to the cent.

Any report (the reconciliation, when it comes) exports by producing a Table."""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from apps.core.money import exponent_of

CHUNK = 64 * 1024
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class Table:
    title: str
    header: list[str]
    rows: Iterable[list]
    size: int = 0  # rows expected, for a job's progress (0: unknown)


def major_units(amount: int, currency: str) -> Decimal:
    return Decimal(int(amount)).scaleb(-exponent_of(currency))


class _Echo:
    def write(self, value):
        return value


def csv_chunks(table: Table, *, progress: Callable[[int], None] | None = None) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(table.header)
    for number, row in enumerate(table.rows, start=1):
        yield writer.writerow(row)
        if progress:
            progress(number)


def write_xlsx(table: Table, target, *, progress: Callable[[int], None] | None = None) -> None:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=table.title[:31])
    sheet.append(table.header)
    for number, row in enumerate(table.rows, start=1):
        sheet.append(row)
        if progress:
            progress(number)
    workbook.save(target)


def xlsx_chunks(table: Table) -> Iterator[bytes]:
    with tempfile.TemporaryFile() as spool:
        write_xlsx(table, spool)
        spool.seek(0)
        while chunk := spool.read(CHUNK):
            yield chunk


def streaming_file(table: Table, file_format: str, file_name: str):
    from django.http import StreamingHttpResponse

    if file_format == "xlsx":
        response = StreamingHttpResponse(xlsx_chunks(table), content_type=XLSX_TYPE)
    else:
        response = StreamingHttpResponse(csv_chunks(table), content_type=CSV_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{file_name}.{file_format}"'
    return response
