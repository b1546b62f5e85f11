"""What of a request may be kept: stored headers without credentials, log lines without
anything a caller could use to forge another line."""

from __future__ import annotations

import logging
import re

REDACTED = "[redacted]"

# Credentials and signatures by name: Authorization, Clover's X-Clover-Auth,
# Toast-Signature, X-Shopify-Hmac-Sha256, x-square-hmacsha256-signature, cookies, tokens.
_CREDENTIAL_HEADER = re.compile(r"auth|signature|hmac|token|secret|cookie|api[-_]?key|password",
                                re.IGNORECASE)

_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def credential_free_headers(headers: dict) -> dict:
    """The headers as they may be stored: every credential or signature value replaced (that
    one was sent stays visible; the verified flag says whether it was good)."""
    return {name: REDACTED if _CREDENTIAL_HEADER.search(name) else value
            for name, value in headers.items()}


def escape_for_log(value: object) -> str:
    """A value fit for one log line: control characters (a newline that would start a
    forged line, a terminal escape) written as escapes."""
    text = value if isinstance(value, str) else str(value)
    return _CONTROL_CHARACTERS.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


class EscapingFormatter(logging.Formatter):
    """Escapes the message of every record, whatever a caller passed as arguments, so
    nothing from a request reaches the log unescaped; a traceback keeps its lines."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = escape_for_log(record.message)
        return super().formatMessage(record)
