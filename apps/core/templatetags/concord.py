"""Template filters the back office shows money and times with."""

from __future__ import annotations

from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import template
from django.utils import timezone

from apps.core.money import MINOR_UNIT_EXPONENT

register = template.Library()

CURRENCY_SYMBOLS = {"USD": "$", "CAD": "CA$", "MXN": "MX$", "EUR": "€", "GBP": "£", "JPY": "¥"}


@register.filter
def money(amount, currency: str = "USD") -> str:
    """950, "USD" -> "$9.50"; -1234567, "USD" -> "-$12,345.67". Amounts are minor units."""
    if amount is None or amount == "":
        return "—"
    currency = (currency or "USD").upper()
    exponent = MINOR_UNIT_EXPONENT.get(currency, 2)
    value = abs(Decimal(int(amount)).scaleb(-exponent))
    digits = f"{value:,.{exponent}f}"
    sign = "-" if int(amount) < 0 else ""
    symbol = CURRENCY_SYMBOLS.get(currency)
    return f"{sign}{symbol}{digits}" if symbol else f"{sign}{digits} {currency}"


def _zone(name: str):
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@register.filter
def local_time(moment, zone_name: str = "UTC") -> str:
    """A moment in the location's time zone: "Dec 1, 14:05 PST" (the year when not this one)."""
    if moment is None:
        return "—"
    local = timezone.localtime(moment, _zone(zone_name))
    now = timezone.localtime(timezone.now(), _zone(zone_name))
    pattern = "%b %-d, %H:%M %Z" if local.year == now.year else "%b %-d %Y, %H:%M %Z"
    return local.strftime(pattern)


@register.filter
def age(moment) -> str:
    """How long ago: "45 s", "12 min", "3 h", "2 d"."""
    if moment is None:
        return "—"
    return duration(max(0.0, (timezone.now() - moment).total_seconds()))


@register.filter
def duration(seconds) -> str:
    seconds = float(seconds or 0)
    for limit, unit, size in ((60, "s", 1), (3600, "min", 60), (86400, "h", 3600)):
        if seconds < limit:
            return f"{int(seconds // size)} {unit}"
    return f"{int(seconds // 86400)} d"


@register.simple_tag(takes_context=True)
def query_with(context, **changes) -> str:
    """The current query string with some parameters replaced (pagination, filters)."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = value
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"
