"""Reads for the back office's own pages (the dashboard, the exception queue). The back
office sits above every app, so it reads across them; writes go through their services."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Count, Max, Q, Sum
from django.utils import timezone

from apps.connectors.enums import DeliveryStatus, Platform
from apps.connectors.models import Delivery
from apps.connectors.services.delivery import pending_counts
from apps.core.enums import Channel, ExceptionKind, ExceptionStatus
from apps.core.models import ExceptionItem
from apps.inventory.models import Location
from apps.orders.enums import OrderStatus
from apps.orders.models import Order


@dataclass
class LocationSales:
    location: Location
    day: str
    by_channel: dict[str, dict] = field(default_factory=dict)
    orders: int = 0
    total: int = 0


def local_day_bounds(zone_name: str, now: datetime | None = None) -> tuple[datetime, datetime, str]:
    """The start and end (UTC-aware) of the location's current local day, and its date."""
    zone = ZoneInfo(zone_name or "UTC")
    local_now = timezone.localtime(now or timezone.now(), zone)
    start = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1), start.date().isoformat()


def todays_sales(locations) -> list[LocationSales]:
    """Orders placed today (each location's own day), canceled ones left out, per channel."""
    results = []
    for location in locations:
        start, end, day = local_day_bounds(location.timezone)
        rows = (Order.objects.filter(location=location, placed_at__gte=start, placed_at__lt=end)
                .exclude(status=OrderStatus.CANCELED)
                .values("channel").annotate(orders=Count("id"), total=Sum("total_amount")))
        sales = LocationSales(location=location, day=day, by_channel={
            channel: {"orders": 0, "total": 0} for channel in Channel.values})
        for row in rows:
            sales.by_channel[row["channel"]] = {"orders": row["orders"], "total": row["total"] or 0}
            sales.orders += row["orders"]
            sales.total += row["total"] or 0
        results.append(sales)
    return results


def sync_health() -> dict:
    """What /metrics and /healthz compute, plus the last successful delivery per platform."""
    counts = pending_counts()
    last_success = dict(Delivery.objects.filter(status=DeliveryStatus.DONE).values("platform")
                        .annotate(at=Max("done_at")).values_list("platform", "at"))
    failed = dict(Delivery.objects.filter(status=DeliveryStatus.FAILED).values("platform")
                  .annotate(n=Count("id")).values_list("platform", "n"))
    platforms = [{"platform": label, "last_success": last_success.get(value),
                  "failed": failed.get(value, 0)} for value, label in Platform.choices]
    return {"pending": counts["pending"], "outbox": counts["outbox"],
            "oldest_age_seconds": counts["oldest_age_seconds"], "platforms": platforms}


def exceptions_within(location_codes: list[str] | None):
    """Exceptions of these locations (None: all of them, those tied to no location too)."""
    items = ExceptionItem.objects.all()
    return items if location_codes is None else items.filter(location_code__in=location_codes)


def open_exceptions_by_kind(location_codes: list[str] | None) -> list[dict]:
    counts = dict(exceptions_within(location_codes).filter(status=ExceptionStatus.OPEN)
                  .values("kind").annotate(n=Count("id")).values_list("kind", "n"))
    return [{"kind": value, "label": label, "count": counts.get(value, 0)}
            for value, label in ExceptionKind.choices]


def exception_queue(*, location_codes: list[str] | None, kind: str = "", status: str = "",
                    location: str = "", search: str = ""):
    items = exceptions_within(location_codes).select_related("closed_by")
    if kind:
        items = items.filter(kind=kind)
    if status:
        items = items.filter(status=status)
    if location:
        items = items.filter(location_code=location)
    if search:
        items = items.filter(Q(title__icontains=search) | Q(detail__icontains=search))
    return items.order_by("-created_at", "-id")
