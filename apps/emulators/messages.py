"""The request and response objects emulator handlers see, and their errors."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any


class BadJson(ValueError):
    """The request body is not the JSON the endpoint needs."""


class ControlError(Exception):
    """Bad input to the control API; answered as `{"error": message}` with `status`."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


class DropConnection(Exception):
    """Raised inside request handling to close the socket without an answer."""


class Headers(Mapping):
    """Case-insensitive, read-only header mapping (last value wins)."""

    def __init__(self, items: Mapping[str, str] | list[tuple[str, str]] = ()):
        pairs = items.items() if isinstance(items, Mapping) else items
        self._items = {name.lower(): (name, value) for name, value in pairs}

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()][1]

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __repr__(self) -> str:
        return f"Headers({dict(self.items())!r})"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]] = field(default_factory=dict)
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""
    params: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        """The body as JSON; `BadJson` if it is empty or not valid JSON."""
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise BadJson(str(exc)) from exc

    def json_object(self) -> dict:
        """The body as a JSON object; `BadJson` for anything else (a list, a string, ...)."""
        data = self.json()
        if not isinstance(data, dict):
            raise BadJson("expected a JSON object")
        return data

    def arg(self, name: str, default: str | None = None) -> str | None:
        """The first value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else default


class Response:
    def __init__(
        self,
        status: int,
        body: dict | list | bytes | str | None = None,
        headers: dict | None = None,
    ):
        self.status = status
        self.body = body
        self.headers = dict(headers or {})

    @classmethod
    def json(cls, status: int, obj: Any, headers: dict | None = None) -> Response:
        return cls(status, obj, headers)

    def encode(self) -> tuple[bytes, dict]:
        """Body bytes and headers with Content-Type/Length filled in."""
        headers = dict(self.headers)
        if isinstance(self.body, dict | list):
            payload = json.dumps(self.body, separators=(",", ":")).encode()
            headers.setdefault("Content-Type", "application/json")
        elif isinstance(self.body, str):
            payload = self.body.encode()
            headers.setdefault("Content-Type", "text/plain; charset=utf-8")
        else:
            payload = self.body or b""
            if payload:
                headers.setdefault("Content-Type", "application/octet-stream")
        headers["Content-Length"] = str(len(payload))
        return payload, headers

    def json_body(self) -> Any:
        """The body as Python data (for tests and for handlers that wrap handlers)."""
        if isinstance(self.body, bytes | str):
            return json.loads(self.body or "null")
        return self.body

    def __repr__(self) -> str:
        return f"Response({self.status}, {self.body!r:.200})"
