"""JSON as Concord accepts it, from API clients and platforms alike.

Python's json module accepts what Postgres and other parsers refuse: NaN and Infinity
(and 1e309, read as infinity), a key given twice (the last one silently wins), nesting
until the interpreter's recursion limit, and strings holding NUL or lone surrogates,
which neither jsonb nor text columns can store and which cannot even be encoded back
to UTF-8. `loads_strict` refuses all of them, so nothing past it has to think about them.
"""

from __future__ import annotations

import json
import math
import re

from rest_framework.parsers import JSONParser

MAX_DEPTH = 32
# What jsonb and text columns refuse, and what UTF-8 cannot encode.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class JsonRejected(ValueError):
    """Why a body was refused: `code` as the error shape names it, `field` where known."""

    def __init__(self, code: str, detail: str, *, field: str | None = None, status: int = 400):
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.field = field
        self.status = status


def loads_strict(body: bytes | str, *, max_depth: int = MAX_DEPTH, encoding: str = "utf-8"):
    text = _decoded(body, encoding)
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float,
                           object_pairs_hook=_object_without_duplicates)
    except JsonRejected:
        raise
    except RecursionError:
        raise JsonRejected("too_deeply_nested", f"JSON nested deeper than {max_depth} levels.") from None
    except ValueError as error:  # JSONDecodeError, or an integer past Python's digit limit
        raise JsonRejected("malformed_json", f"Not valid JSON: {error}") from None
    _check_values(value, max_depth)
    return value


def has_unstorable_characters(text: str) -> bool:
    return _UNSTORABLE.search(text) is not None


def storable_text(text: str) -> str:
    """`text` with NUL and lone surrogates written as escapes, for a log or a note."""
    return _UNSTORABLE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def _decoded(body: bytes | str, encoding: str) -> str:
    if isinstance(body, str):
        return body
    try:
        return body.decode(encoding)
    except (LookupError, UnicodeDecodeError):
        raise JsonRejected("malformed_json", f"The body is not valid {encoding}.") from None


def _refuse_constant(name: str):
    raise JsonRejected("non_finite_number", f"{name} is not a JSON number.")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise JsonRejected("non_finite_number", f"{text[:40]} is out of range.")
    return number


def _object_without_duplicates(pairs: list[tuple[str, object]]) -> dict:
    value = dict(pairs)
    if len(value) != len(pairs):
        seen: set[str] = set()
        duplicate = next(key for key, _ in pairs if key in seen or seen.add(key))
        field = None if has_unstorable_characters(duplicate) else duplicate
        raise JsonRejected("duplicate_key", "A key appears twice in one object.", field=field)
    return value


def _check_values(root, max_depth: int) -> None:
    """Depth and characters of every string, key or value, without recursion."""
    stack = [(root, 1, "")]
    while stack:
        value, depth, path = stack.pop()
        if isinstance(value, str):
            if has_unstorable_characters(value):
                _refuse_characters(path)
            continue
        if not isinstance(value, dict | list):
            continue
        if depth > max_depth:
            raise JsonRejected("too_deeply_nested", f"JSON nested deeper than {max_depth} levels.")
        if isinstance(value, list):
            stack.extend((item, depth + 1, f"{path}[{index}]") for index, item in enumerate(value))
            continue
        for key, item in value.items():
            if has_unstorable_characters(key):
                _refuse_characters(path or None, in_key=True)
            stack.append((item, depth + 1, f"{path}.{key}" if path else key))


def _refuse_characters(path: str | None, *, in_key: bool = False) -> None:
    where = "a key" if in_key else "a string"
    raise JsonRejected("invalid_characters",
                       f"{where.capitalize()} holds a NUL character or a lone surrogate, which "
                       "cannot be stored.", field=path or None, status=422)


class StrictJSONParser(JSONParser):
    """DRF's JSON parser with `loads_strict`'s rules; refusals become the one error shape."""

    def parse(self, stream, media_type=None, parser_context=None):
        from apps.core.errors import MalformedBody

        encoding = (parser_context or {}).get("encoding") or "utf-8"
        body = stream.read() if stream is not None else b""
        try:
            return loads_strict(body, encoding=encoding)
        except JsonRejected as rejected:
            raise MalformedBody.from_rejection(rejected) from None
