"""Integer query parameters that never wrap around.

Django types a plain Python int in an expression (`F("balance") + amount`) as an
IntegerField, and on psycopg 3 wraps it in `psycopg.types.numeric.Int4` (SmallIntegerField
values in `Int2`). With server-side binding (config/settings.py) such a parameter goes to
Postgres in binary, and psycopg's C dumper packs it into 4 (or 2) bytes without a range
check: 2**31 arrives as -2**31, 2**32 + 5 as 5. So `balance + 2**31` on a bigint column
made a balance of -2**31 (the CHECK refused it), and a larger amount would have added a
silently wrong number. A Cast around the expression does not help: the parameter inside
it is already the wrong number.

The dumpers registered here keep Int2/Int4 parameters as they are while the value fits,
and send any other value as int8 (numeric beyond that). Postgres then does the arithmetic
on bigint columns exactly, and refuses with "integer out of range" whatever truly does not
fit an int4 column, instead of storing a wrapped number.
"""

from __future__ import annotations

from typing import Any

from psycopg import adapters
from psycopg.adapt import Dumper, PyFormat
from psycopg.pq import Format
from psycopg.types.numeric import Int2, Int4


class _FittingIntDumper(Dumper):
    """Marks the dumpers made here, so registering twice never wraps one in another."""


def _fitting_dumper(cls: type, bits: int, format: Format) -> type[Dumper]:
    limit = 2 ** (bits - 1)
    py_format = PyFormat.from_pq(format)
    # Integer dumpers depend on no connection: one instance of each serves every cursor
    # (Django opens a cursor, so a new set of dumpers, per query).
    exact = adapters.get_dumper(cls, py_format)(cls)  # psycopg's own (C) dumper
    by_value = adapters.get_dumper(int, py_format)(int)  # picks int2/4/8 or numeric by value

    class FittingIntDumper(_FittingIntDumper):
        oid = exact.oid
        dump = staticmethod(exact.dump)
        quote = staticmethod(exact.quote)

        def get_key(self, obj: Any, format: PyFormat) -> Any:
            # Comparisons, not `in range(...)`: Int4 is an int subclass, which range scans.
            if -limit <= obj < limit:
                return self.cls
            return by_value.get_key(int(obj), format)

        def upgrade(self, obj: Any, format: PyFormat) -> Dumper:
            return by_value.upgrade(int(obj), format)

    FittingIntDumper.format = format
    FittingIntDumper.__name__ = f"Fitting{cls.__name__}{format.name.title()}Dumper"
    return FittingIntDumper


def register_fitting_integer_dumpers() -> None:
    """Called once at start-up (CoreConfig.ready), before the first connection copies
    psycopg's global adapters."""
    for cls, bits in ((Int2, 16), (Int4, 32)):
        for format in (Format.TEXT, Format.BINARY):
            if issubclass(adapters.get_dumper(cls, PyFormat.from_pq(format)), _FittingIntDumper):
                continue
            adapters.register_dumper(cls, _fitting_dumper(cls, bits, format))
