"""Bulk writes for volume data: rows streamed into Postgres with COPY, ids drawn from the
tables' own sequences (so rows written later by the product never collide with them)."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime

from django.db import connection, models

COPY_BATCH_BYTES = 4 * 1024 * 1024
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


class IdPool:
    """Ids from each table's sequence, fetched in blocks (one query per block, not per row);
    a table's block doubles each time, up to `largest`, so a rare row wastes few ids."""

    def __init__(self, first: int = 500, largest: int = 50_000):
        self.first, self.largest = first, largest
        self._free: dict[type[models.Model], list[int]] = defaultdict(list)
        self._block: dict[type[models.Model], int] = {}

    def next(self, model: type[models.Model]) -> int:
        free = self._free[model]
        if not free:
            block = self._block[model] = min(self.largest, self._block.get(model, self.first // 2) * 2)
            free.extend(reversed(_draw_ids(model, block)))
        return free.pop()


def _draw_ids(model: type[models.Model], count: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                       [model._meta.db_table, model._meta.pk.column, count])
        return [row[0] for row in cursor.fetchall()]


def copy_rows(model: type[models.Model], fields: list[str], rows) -> int:
    """COPY `rows` (tuples in the order of `fields`) into the model's table. Columns the rows
    do not name but the table needs (NOT NULL without a database default: a blank text, a
    field a later migration adds) get the field's Python default, so a new field does not
    break the seeding."""
    columns = [model._meta.get_field(name).column for name in fields]
    extra_columns, extra_text = _defaults_for_missing(model, fields)
    statement = (f'COPY "{model._meta.db_table}" ("' + '", "'.join(columns + extra_columns)
                 + '") FROM STDIN')
    tail = "".join("\t" + text for text in extra_text) + "\n"
    count, buffer, size = 0, [], 0
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in rows:
            line = "\t".join(map(_text, row)) + tail
            buffer.append(line)
            size += len(line)
            count += 1
            if size >= COPY_BATCH_BYTES:
                copy.write("".join(buffer).encode())
                buffer, size = [], 0
        if buffer:
            copy.write("".join(buffer).encode())
    return count


def _defaults_for_missing(model, fields: list[str]) -> tuple[list[str], list[str]]:
    columns, texts = [], []
    for field in model._meta.concrete_fields:
        if field.name in fields or field.primary_key or field.null:
            continue
        default = field.get_default()  # "" for a text field without one
        if field.db_default is not models.NOT_PROVIDED or default is None:
            continue
        columns.append(field.column)
        texts.append(_text(default))
    return columns, texts


def _text(value) -> str:
    """A value in COPY's text format."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value).translate(_ESCAPES)
    return str(value).translate(_ESCAPES)
