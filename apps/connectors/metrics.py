"""Prometheus text for /metrics, computed from the tables at scrape time."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Count
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

from apps.connectors.enums import DeliveryStatus, InboundStatus
from apps.connectors.models import Delivery, InboundEvent
from apps.connectors.services.delivery import pending_counts
from apps.core.enums import ExceptionStatus
from apps.core.models import ExceptionItem


class _SyncCollector:
    def collect(self):
        counts = pending_counts()
        yield GaugeMetricFamily("concord_deliveries_pending", "Deliveries waiting or in flight.",
                                value=counts["pending"])
        yield GaugeMetricFamily("concord_deliveries_oldest_pending_seconds",
                                "Age of the oldest delivery not yet done.",
                                value=counts["oldest_age_seconds"])
        failures = GaugeMetricFamily("concord_delivery_failures", "Deliveries failed for good, by platform.",
                                     labels=["platform"])
        for row in (Delivery.objects.filter(status=DeliveryStatus.FAILED).values("platform")
                    .annotate(n=Count("id"))):
            failures.add_metric([row["platform"]], row["n"])
        yield failures
        retrying = GaugeMetricFamily("concord_deliveries_retrying",
                                     "Pending deliveries that already failed at least once.",
                                     labels=["platform"])
        for row in (Delivery.objects.filter(status=DeliveryStatus.PENDING, attempts__gt=0).values("platform")
                    .annotate(n=Count("id"))):
            retrying.add_metric([row["platform"]], row["n"])
        yield retrying
        exceptions = GaugeMetricFamily("concord_exceptions_open", "Open exceptions, by kind.",
                                       labels=["kind"])
        for row in (ExceptionItem.objects.filter(status=ExceptionStatus.OPEN).values("kind")
                    .annotate(n=Count("id"))):
            exceptions.add_metric([row["kind"]], row["n"])
        yield exceptions
        yield GaugeMetricFamily("concord_inbound_events_pending", "Webhooks stored, not yet applied.",
                                value=InboundEvent.objects.filter(status=InboundStatus.PENDING).count())


def render_metrics() -> bytes:
    registry = CollectorRegistry()
    registry.register(_SyncCollector())
    return generate_latest(registry)


def sync_health() -> dict:
    counts = pending_counts()
    limit = settings.HEALTH_MAX_PENDING_AGE_SECONDS
    return {"ok": counts["oldest_age_seconds"] <= limit, "database": "ok",
            "deliveries_pending": counts["pending"],
            "oldest_pending_seconds": round(counts["oldest_age_seconds"], 1),
            "max_pending_age_seconds": limit}
