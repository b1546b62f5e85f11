"""The outbound HTTP client every platform connector builds on.

One place decides what a failed call means for the delivery engine: a network failure,
a 429 and a 5xx are worth retrying (a 429 says when), any other 4xx is our mistake and is
not. Each platform subclass adds its auth headers and reads its own error envelope
through `parse_error`; everything else is shared.
"""

from __future__ import annotations

import email.utils
import json as jsonlib
import threading
import time
from typing import Any

import requests

DEFAULT_TIMEOUT = (3.05, 15)  # (connect, read) seconds; connect just above a TCP retransmit


class PlatformError(Exception):
    """A platform call that did not succeed, with what the caller needs to react."""

    def __init__(
        self,
        *,
        platform: str,
        status: int | None,
        code: str,
        detail: str = "",
        retryable: bool = False,
        retry_after: float | None = None,
    ):
        self.platform = platform
        self.status = status
        self.code = code
        self.detail = detail
        self.retryable = retryable
        self.retry_after = retry_after
        super().__init__(str(self))

    def __str__(self) -> str:
        status = self.status if self.status is not None else "-"
        text = f"{self.platform or 'platform'} {status} {self.code}"
        if self.detail:
            text += f": {self.detail}"
        if self.retry_after is not None:
            text += f" (retry after {self.retry_after:g}s)"
        return text

    def __repr__(self) -> str:
        return (
            f"PlatformError(platform={self.platform!r}, status={self.status!r}, "
            f"code={self.code!r}, retryable={self.retryable!r}, retry_after={self.retry_after!r})"
        )


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds (Shopify sends "2.0") or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class _Pacer:
    """Spaces calls to one rate-limited account so this process stays under its share of
    the platform's limit, instead of learning the limit from 429s."""

    _lock = threading.Lock()
    _next_slot: dict[str, float] = {}

    @classmethod
    def wait_turn(cls, key: str, interval: float) -> None:
        with cls._lock:
            now = time.monotonic()
            slot = max(now, cls._next_slot.get(key, 0.0))
            cls._next_slot[key] = slot + interval
        if slot > now:
            time.sleep(slot - now)


def worker_processes() -> int:
    """How many processes share each platform account's rate limit."""
    try:
        from django.conf import settings

        return max(1, int(getattr(settings, "CONNECTOR_WORKER_PROCESSES", 2)))
    except Exception:  # outside Django (an emulator test): one process
        return 1


class PlatformClient:
    """Base for one platform's API client: `request` either returns a 2xx response or raises."""

    platform = ""
    # The platform's documented limit per account (token, restaurant); None: not paced here.
    requests_per_second: float | None = None

    def pace_key(self) -> str:
        """What one rate limit counts: the account the calls are made as."""
        return f"{self.platform}:{self.base_url}"

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = session or requests.Session()
        # The connectors' adapters turn pacing on; a bare client (a test of the limit) does not.
        self.paced = False

    # -- hooks for subclasses ------------------------------------------------------------

    def default_headers(self) -> dict:
        """Headers on every call; subclasses add authentication."""
        return {"Accept": "application/json"}

    def parse_error(self, response: requests.Response) -> tuple[str, str]:
        """(code, detail) from an error response; subclasses read their platform's envelope."""
        return f"http_{response.status_code}", response.text[:500]

    def retry_after(self, response: requests.Response) -> float | None:
        """How long a throttled caller should wait; platforms without Retry-After override."""
        return parse_retry_after(response.headers.get("Retry-After"))

    # -- the call ------------------------------------------------------------------------

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict | None = None,
        headers: dict | None = None,
    ) -> requests.Response:
        merged = {**self.default_headers(), **(headers or {})}
        if self.paced and self.requests_per_second:
            _Pacer.wait_turn(self.pace_key(), worker_processes() / self.requests_per_second)
        try:
            response = self.session.request(
                method.upper(), self.url(path), json=json, params=params, headers=merged,
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            # Timeouts, refused and dropped connections all leave the outcome unknown: the
            # platform may have acted. Retrying is only safe with an idempotency key, which
            # every write in Concord carries.
            raise PlatformError(
                platform=self.platform, status=None, code="network",
                detail=f"{type(exc).__name__}: {exc}", retryable=True,
            ) from exc
        self.raise_for_status(response)
        return response

    def request_json(self, method: str, path: str, **kwargs) -> Any:
        """`request` and decode the JSON body; an undecodable 2xx body counts as a network fault
        (a proxy or a cut connection garbled it), so it is retryable."""
        response = self.request(method, path, **kwargs)
        try:
            return response.json()
        except (ValueError, jsonlib.JSONDecodeError) as exc:
            raise PlatformError(
                platform=self.platform, status=response.status_code, code="bad_response",
                detail=f"response is not JSON: {response.text[:200]!r}", retryable=True,
            ) from exc

    def raise_for_status(self, response: requests.Response) -> None:
        status = response.status_code
        if status < 400:
            return
        code, detail = self._safe_parse_error(response)
        if status == 429:
            raise PlatformError(
                platform=self.platform, status=status, code=code, detail=detail,
                retryable=True, retry_after=self.retry_after(response),
            )
        retryable = status >= 500 or status == 408
        retry_after = parse_retry_after(response.headers.get("Retry-After")) if retryable else None
        raise PlatformError(
            platform=self.platform, status=status, code=code, detail=detail,
            retryable=retryable, retry_after=retry_after,
        )

    def _safe_parse_error(self, response: requests.Response) -> tuple[str, str]:
        # An error page from a proxy is not the platform's envelope; never let parsing it
        # hide the status we already know.
        try:
            return self.parse_error(response)
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            return PlatformClient.parse_error(self, response)
