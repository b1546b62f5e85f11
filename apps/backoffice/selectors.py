"""Reads for the back office's own pages (the dashboard, the exception queue). The back
office sits above every app, so it reads across them; writes go through their services."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Max, Q, Sum
from django.utils import timezone

from apps.connectors.enums import DeliveryStatus, Platform
from apps.connectors.metrics import sync_health as engine_health
from apps.connectors.models import Delivery, InboundEvent
from apps.connectors.selectors import list_order_deliveries
from apps.core.enums import Channel, ExceptionKind, ExceptionStatus
from apps.core.models import AuditEntry, ExceptionItem, OutboxEvent
from apps.core.templatetags.concord import money
from apps.inventory.models import Location
from apps.orders.enums import OrderStatus
from apps.orders.models import Order
from apps.reports.business_day import location_bounds, location_day
from apps.returns.enums import RefundStatus
from apps.returns.selectors import list_order_refunds


@dataclass
class LocationSales:
    location: Location
    day: str
    by_channel: dict[str, dict] = field(default_factory=dict)
    orders: int = 0
    total: int = 0


def business_day_bounds(location, now: datetime | None = None) -> tuple[datetime, datetime, str]:
    """The start and end (UTC-aware) of the location's current business day, and its date:
    the day the channel report counts (a store closing out at 4 is still on yesterday at
    01:30), so the dashboard and the report agree on what "today" is."""
    day = location_day(now or timezone.now(), location)
    start, end = location_bounds(day, day, location)
    return start, end, day.isoformat()


def todays_sales(locations, now: datetime | None = None) -> list[LocationSales]:
    """Orders placed today (each location's own business day), canceled ones left out, per
    channel: one query, each location's day a range of its (location, placed_at) index."""
    results, today = {}, Q(pk__in=[])
    for location in locations:
        start, end, day = business_day_bounds(location, now)
        today |= Q(location=location, placed_at__gte=start, placed_at__lt=end)
        results[location.pk] = LocationSales(location=location, day=day, by_channel={
            channel: {"orders": 0, "total": 0} for channel in Channel.values})
    rows = (Order.objects.filter(today).exclude(status=OrderStatus.CANCELED)
            .values("location_id", "channel").annotate(orders=Count("id"), total=Sum("total_amount"))
            .order_by()) if results else []
    for row in rows:
        sales = results[row["location_id"]]
        sales.by_channel[row["channel"]] = {"orders": row["orders"], "total": row["total"] or 0}
        sales.orders += row["orders"]
        sales.total += row["total"] or 0
    return list(results.values())


def sync_health() -> dict:
    """What /healthz computes (workers alive, the outbox relayed, nothing waiting too long),
    plus the last successful delivery and the failures per platform."""
    health = engine_health()
    last_success = _last_success_per_platform()
    failed = dict(Delivery.objects.filter(status=DeliveryStatus.FAILED).values("platform")
                  .annotate(n=Count("id")).values_list("platform", "n"))
    platforms = [{"platform": label, "last_success": last_success.get(value),
                  "failed": failed.get(value, 0)} for value, label in Platform.choices]
    return {"failing": health["failing"], "workers_alive": health["workers_alive"],
            "pending": health["deliveries_pending"], "outbox": health["outbox_not_fanned_out"],
            "oldest_age_seconds": health["oldest_pending_seconds"], "platforms": platforms}


def _last_success_per_platform() -> dict:
    """The newest done delivery of each platform: one query, each platform a look down an
    index (backoffice migration 0001), not a pass over every delivery ever made."""
    done = Delivery.objects.filter(status=DeliveryStatus.DONE, done_at__isnull=False)
    newest = [done.filter(platform=value).order_by("-done_at").values_list("platform", "done_at")[:1]
              for value in Platform.values]
    return dict(newest[0].union(*newest[1:], all=True))


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


# What each change of an order the outbox carried means to a person reading its timeline.
ORDER_STEPS = {
    "order.created": ("Accepted", "Placed through the API; stock reserved."),
    "order.recorded": ("Recorded", "A sale another system made, recorded as it happened."),
    "order.ready": ("Marked ready", ""),
    "order.fulfilled": ("Fulfilled", "The customer has the goods."),
    "order.canceled": ("Canceled", "Its reservation was released."),
}


@dataclass
class TimelineEntry:
    at: datetime
    title: str
    detail: str = ""
    tone: str = ""
    attempts: list = field(default_factory=list)


def order_timeline(order: Order) -> list[TimelineEntry]:
    """Placed, each status change, each call to each platform with its attempts, and what
    people did to it (from the audit log), oldest first."""
    entries = [TimelineEntry(order.placed_at, "Placed", f"{order.get_channel_display()} order"
                             + (f" from {order.source_name}" if order.source_name else ""))]
    for event in OutboxEvent.objects.filter(aggregate_type="Order", aggregate_id=order.pk).order_by("id"):
        title, detail = ORDER_STEPS.get(event.topic, (event.topic, ""))
        entries.append(TimelineEntry(event.created_at, title, detail))
    entries += [_delivery_entry(delivery) for delivery in list_order_deliveries(order.pk)]
    for entry in AuditEntry.objects.filter(object_type="Order", object_id=str(order.pk)).select_related(
            "actor_user", "actor_client"):
        reason = entry.data.get("reason") if isinstance(entry.data, dict) else ""
        entries.append(TimelineEntry(entry.created_at, f"{_action_name(entry.action)} by {_actor(entry)}",
                                     reason or ""))
    entries += _refund_entries(order)
    return sorted(entries, key=lambda entry: entry.at)


def _refund_entries(order: Order) -> list[TimelineEntry]:
    """Each refund with what went back to which tender, and who approved or rejected it."""
    refunds = list_order_refunds(order.pk)
    entries = []
    for refund in refunds:
        amount = money(refund.amount, refund.currency)
        units = sum(line.quantity for line in refund.lines.all())
        what = f"{units} unit{'s' if units != 1 else ''} returned" if units else "money alone"
        parts = "; ".join(f"{money(part.amount, refund.currency)} to {part.payment.get_tender_type_display()}"
                          f": {part.get_status_display().lower()}" for part in refund.parts.all()
                          if refund.status not in (RefundStatus.AWAITING_APPROVAL, RefundStatus.REJECTED))
        tone = {RefundStatus.COMPLETED: "", RefundStatus.REJECTED: "bad", RefundStatus.FAILED: "bad"}.get(
            refund.status, "warn")
        entries.append(TimelineEntry(
            refund.created_at, f"Refund #{refund.pk} of {amount} by {refund.actor or 'the system'}: "
            f"{refund.get_status_display().lower()}", f"{what}" + (f" · {parts}" if parts else ""), tone))
    decisions = AuditEntry.objects.filter(object_type="Refund", object_id__in=[str(r.pk) for r in refunds],
                                          action__in=["refund.approved", "refund.rejected"])
    for entry in decisions.select_related("actor_user", "actor_client"):
        reason = entry.data.get("reason") if isinstance(entry.data, dict) else ""
        title = f"Refund #{entry.object_id} {_action_name(entry.action).lower()} by {_actor(entry)}"
        entries.append(TimelineEntry(entry.created_at, title, reason or ""))
    return entries


def _action_name(action: str) -> str:
    """"order.canceled" -> "Canceled"."""
    return action.rpartition(".")[2].replace("_", " ").capitalize()


def _actor(entry: AuditEntry) -> str:
    if entry.actor_user:
        return entry.actor_user.username
    if entry.actor_client:
        return entry.actor_client.name
    return entry.actor_label or "the system"


def _delivery_entry(delivery: Delivery) -> TimelineEntry:
    platform = delivery.get_platform_display()
    title, tone = {
        DeliveryStatus.DONE: (f"Sent to {platform}", ""),
        DeliveryStatus.FAILED: (f"Could not reach {platform}: in the exception queue", "bad"),
        DeliveryStatus.CANCELED: (f"Sending to {platform} was canceled", "warn"),
    }.get(delivery.status, (f"On its way to {platform}", "warn"))
    plural = "" if delivery.attempts == 1 else "s"
    detail = f"{delivery.get_kind_display()} · {delivery.attempts} attempt{plural}"
    if delivery.external_ref:
        detail += f" · {platform} id {delivery.external_ref}"
    at = delivery.done_at or (delivery.updated_at if delivery.status == DeliveryStatus.FAILED
                              else delivery.created_at)
    return TimelineEntry(at, title, detail, tone,
                         attempts=[_attempt(item) for item in delivery.history])


def _attempt(item: dict) -> dict:
    at = item.get("at")
    return {"at": datetime.fromisoformat(at) if at else None, "ok": item.get("ok"),
            "text": item.get("error") or item.get("note") or ("ok" if item.get("ok") else "")}


def exception_context(item: ExceptionItem) -> dict:
    """What an exception is tied to (order, SKU, delivery) and its history: the delivery's
    attempts and every action people took on it (from the audit log)."""
    data = item.data if isinstance(item.data, dict) else {}
    delivery = Delivery.objects.filter(pk=data["delivery_id"]).first() if data.get("delivery_id") else None
    inbound_event = (InboundEvent.objects.filter(pk=data["inbound_event_id"]).first()
                     if item.kind == ExceptionKind.INBOUND_FAILED and data.get("inbound_event_id") else None)
    history = delivery.history if delivery else data.get("history", [])
    audit = Q(object_type="ExceptionItem", object_id=str(item.pk))
    if delivery is not None:
        audit |= Q(object_type="Delivery", object_id=str(delivery.pk))
    if inbound_event is not None:
        audit |= Q(object_type="InboundEvent", object_id=str(inbound_event.pk))
    if data.get("refund_id"):  # an approval or a manual refund: what was decided about the refund
        audit |= Q(object_type="Refund", object_id=str(data["refund_id"]))
    if data.get("part_id"):
        audit |= Q(object_type="RefundPart", object_id=str(data["part_id"]))
    return {
        "order_id": data.get("order_id") or (delivery.order_id if delivery else None),
        "sku": data.get("sku", ""),
        "delivery": delivery,
        "attempts": [_attempt(entry) for entry in history],
        "audit": AuditEntry.objects.filter(audit).select_related("actor_user").order_by("created_at"),
        "inbound_event": inbound_event,
        "can_retry": item.status == ExceptionStatus.OPEN and (
            item.kind == ExceptionKind.DELIVERY_FAILED or inbound_event is not None),
        "zone": Location.objects.filter(code=item.location_code).values_list("timezone", flat=True).first()
        or "UTC",
        **_duplicate_customers(item, data),
    }


def _duplicate_customers(item: ExceptionItem, data: dict) -> dict:
    """A possible duplicate: the customers it shows, and the one the order matched (the
    merge preview's survivor; the others are what would merge into it)."""
    if item.kind != ExceptionKind.POSSIBLE_DUPLICATE_CUSTOMER:
        return {"duplicate_customers": [], "matched_customer": None}
    shown = [customer for customer in data.get("customers", []) if isinstance(customer, dict)]
    return {"duplicate_customers": shown, "matched_customer": data.get("matched")}


# ---------------------------------------------------------------- the admin's pages


def list_staff_users():
    """Every user with a Concord role (or a superuser), their roles and locations."""
    from django.contrib.auth import get_user_model

    from apps.core.roles import ALL_ROLES

    users = (get_user_model().objects.filter(Q(groups__name__in=ALL_ROLES) | Q(is_superuser=True))
             .distinct().prefetch_related("groups", "staff_memberships__location").order_by("username"))
    return users


# The exceptions that say a connection's sync needs a look; a reconciliation variance, a
# refund to approve or to make by hand, a possible duplicate customer are work for finance
# or customer service on a healthy connection.
SYNC_EXCEPTION_KINDS = (
    ExceptionKind.OVERSOLD, ExceptionKind.UNMAPPED_SKU, ExceptionKind.STOCK_DRIFT,
    ExceptionKind.DELIVERY_FAILED, ExceptionKind.INBOUND_FAILED, ExceptionKind.OWNERSHIP_CONFLICT,
    ExceptionKind.MANUAL_VOID_REQUIRED, ExceptionKind.ORDER_STATE_CONFLICT, ExceptionKind.REFUND_MISMATCH)


def connection_health() -> list[dict]:
    """Each platform connection: configured or off, last success, waiting and failed work,
    open sync exceptions, when it was last polled."""
    from apps.connectors.config import is_configured, missing_settings
    from apps.connectors.models import PlatformConnection

    def per_link(rows) -> dict:
        return {(row["platform"], row["location_id"]): row["value"] for row in rows}

    deliveries = Delivery.objects.values("platform", "location_id")
    last_success = per_link(deliveries.filter(status=DeliveryStatus.DONE).annotate(value=Max("done_at")))
    waiting = per_link(deliveries.filter(status__in=[DeliveryStatus.PENDING, DeliveryStatus.IN_FLIGHT])
                       .annotate(value=Count("id")))
    failed = per_link(deliveries.filter(status=DeliveryStatus.FAILED).annotate(value=Count("id")))
    exceptions = {(row["platform"], row["location_code"]): row["n"] for row in ExceptionItem.objects.filter(
        status=ExceptionStatus.OPEN, kind__in=SYNC_EXCEPTION_KINDS).values("platform", "location_code")
        .annotate(n=Count("id"))}
    rows = []
    for link in PlatformConnection.objects.select_related("location").order_by("platform", "location__code"):
        key = (link.platform, link.location_id)
        rows.append({"link": link, "configured": is_configured(link.platform),
                     "missing": missing_settings(link.platform), "last_success": last_success.get(key),
                     "waiting": waiting.get(key, 0), "failed": failed.get(key, 0),
                     "exceptions": exceptions.get((link.platform, link.location.code), 0)})
    return rows


def buffers_and_owners(locations) -> dict:
    """The buffer per platform and location, and the owner of each domain per location."""
    from apps.connectors.enums import CONCORD, OWNER_CHOICES, Domain
    from apps.connectors.models import ChannelBuffer, OwnershipRule

    buffers = {(b.platform, b.location_id): b.units for b in ChannelBuffer.objects.all()}
    rules = {(r.domain, r.location_id): r.owner for r in OwnershipRule.objects.all()}
    owner_names = dict(OWNER_CHOICES)
    matrix = []
    for value, label in Domain.choices:
        default = rules.get((value, None), CONCORD)
        cells = [{"location": loc, "owner": owner_names[rules.get((value, loc.pk), default)],
                  "own_rule": (value, loc.pk) in rules} for loc in locations]
        matrix.append({"domain": label, "default": owner_names[default], "cells": cells})
    buffer_rows = [{"platform": label, "cells": [buffers.get((value, loc.pk), 0) for loc in locations]}
                   for value, label in Platform.choices]
    return {"ownership": matrix, "buffers": buffer_rows}


def recent_sync_jobs(limit: int = 10):
    from apps.connectors.models import SyncJob

    return list(SyncJob.objects.order_by("-id")[:limit])


def audit_log(*, action: str = "", actor: str = "", object_ref: str = ""):
    entries = AuditEntry.objects.select_related("actor_user", "actor_client").order_by("-created_at", "-id")
    if action:
        entries = entries.filter(action__icontains=action)
    if actor:
        entries = entries.filter(Q(actor_user__username__icontains=actor) | Q(actor_label__icontains=actor)
                                 | Q(actor_client__name__icontains=actor))
    if object_ref:
        kind, _, ident = object_ref.partition("#")
        entries = entries.filter(object_type__iexact=kind.strip()) if kind.strip() else entries
        entries = entries.filter(object_id=ident.strip()) if ident.strip() else entries
    return entries
