"""Prometheus text for /metrics, computed from the tables at scrape time."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Count
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

from apps.connectors.enums import DeliveryStatus, InboundStatus, Platform
from apps.connectors.models import Delivery, InboundEvent
from apps.connectors.services.delivery import pending_counts
from apps.core.enums import ExceptionKind, ExceptionStatus
from apps.core.models import ExceptionItem
from apps.core.selectors import outbox_wait_seconds, worker_heartbeats

NO_WORKER_ALIVE = "no worker alive"
OUTBOX_NOT_RELAYED = "outbox not relayed"
CHANGES_NOT_DELIVERED = "changes not delivered"


class _SyncCollector:
    def collect(self):
        counts = pending_counts()
        yield GaugeMetricFamily("concord_deliveries_pending", "Deliveries waiting or in flight.",
                                value=counts["pending"])
        yield GaugeMetricFamily("concord_outbox_not_fanned_out", "Changes not yet turned into deliveries.",
                                value=counts["outbox"])
        yield GaugeMetricFamily("concord_deliveries_oldest_pending_seconds",
                                "Age of the oldest change not yet delivered (outbox row or delivery).",
                                value=counts["oldest_age_seconds"])
        yield _by_label("concord_delivery_failures", "Deliveries failed for good, by platform.", "platform",
                        Platform.values, Delivery.objects.filter(status=DeliveryStatus.FAILED))
        yield _by_label("concord_deliveries_retrying",
                        "Pending deliveries that already failed at least once.", "platform", Platform.values,
                        Delivery.objects.filter(status=DeliveryStatus.PENDING, attempts__gt=0))
        yield _by_label("concord_exceptions_open", "Open exceptions, by kind.", "kind", ExceptionKind.values,
                        ExceptionItem.objects.filter(status=ExceptionStatus.OPEN))
        yield GaugeMetricFamily("concord_inbound_events_pending", "Webhooks stored, not yet applied.",
                                value=InboundEvent.objects.filter(status=InboundStatus.PENDING).count())
        heartbeats = worker_heartbeats(alive_within=settings.HEALTH_MAX_HEARTBEAT_AGE_SECONDS)
        age = heartbeats["age_seconds"]
        yield GaugeMetricFamily("concord_worker_heartbeat_age_seconds",
                                "Age of the newest worker heartbeat (+Inf: no worker ever beat).",
                                value=float("inf") if age is None else age)
        yield GaugeMetricFamily("concord_workers_alive", "Worker processes with a recent heartbeat.",
                                value=heartbeats["alive"])


def _by_label(name: str, documentation: str, label: str, values, rows) -> GaugeMetricFamily:
    """One series per known label value, zero included: an alert or a graph on a series
    that appears only once something went wrong cannot tell zero from no data."""
    counts = dict(rows.values_list(label).annotate(n=Count("id")).values_list(label, "n"))
    family = GaugeMetricFamily(name, documentation, labels=[label])
    for value in sorted({*values, *counts}):
        family.add_metric([value], counts.get(value, 0))
    return family


def render_metrics() -> bytes:
    registry = CollectorRegistry()
    registry.register(_SyncCollector())
    return generate_latest(registry)


def sync_health() -> dict:
    """Healthy when a worker beat recently, the outbox is being relayed, and no change has
    waited too long for its deliveries; `failing` names each check that is not."""
    counts = pending_counts()
    heartbeats = worker_heartbeats(alive_within=settings.HEALTH_MAX_HEARTBEAT_AGE_SECONDS)
    outbox_wait = outbox_wait_seconds()
    failing = []
    if not heartbeats["alive"]:
        failing.append(NO_WORKER_ALIVE)
    if outbox_wait > settings.HEALTH_MAX_OUTBOX_WAIT_SECONDS:
        failing.append(OUTBOX_NOT_RELAYED)
    if counts["oldest_age_seconds"] > settings.HEALTH_MAX_PENDING_AGE_SECONDS:
        failing.append(CHANGES_NOT_DELIVERED)
    age = heartbeats["age_seconds"]
    return {"ok": not failing, "failing": failing, "database": "ok",
            "workers_alive": heartbeats["alive"],
            "worker_heartbeat_age_seconds": None if age is None else round(age, 1),
            "outbox_wait_seconds": round(outbox_wait, 1),
            "deliveries_pending": counts["pending"], "outbox_not_fanned_out": counts["outbox"],
            "oldest_pending_seconds": round(counts["oldest_age_seconds"], 1),
            "max_pending_age_seconds": settings.HEALTH_MAX_PENDING_AGE_SECONDS}
