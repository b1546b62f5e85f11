"""Writes of the shared kernel: API clients, the outbox, the exception queue, the audit log."""

from __future__ import annotations

import json
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from apps.core.api_auth import KEYS_GENERATION, generate_key, hash_key
from apps.core.cache import bump_generation
from apps.core.enums import ApiRole, Channel, ExceptionStatus
from apps.core.errors import InvalidTransition, NotFound, ValidationFailed
from apps.core.models import (
    ApiClient,
    AuditEntry,
    ExceptionItem,
    OutboxEvent,
    SignInFailure,
    WorkerHeartbeat,
)


def create_api_client(*, name: str, channel: str = "", role: str = "", actor_label: str = ""
                      ) -> tuple[ApiClient, str]:
    """A new API client and its raw key. The raw key is returned once and never stored.
    A channel key names its channel; a staff key names its role and no channel."""
    name = name.strip()
    if not name:
        raise ValidationFailed("An API client needs a name.", field="name")
    if bool(channel) == bool(role):
        raise ValidationFailed("A key has a channel (a channel key) or a role (a staff key), not both.",
                               field="channel")
    if channel and channel not in Channel.values:
        raise ValidationFailed(
            f"Unknown channel {channel!r}; choose one of {', '.join(Channel.values)}.",
            field="channel",
        )
    if role and role not in ApiRole.values:
        raise ValidationFailed(f"Unknown role {role!r}; choose one of {', '.join(ApiRole.values)}.",
                               field="role")
    raw_key = generate_key()
    with transaction.atomic():
        client = ApiClient.objects.create(
            name=name, channel=channel, role=role, key_prefix=raw_key[:10], key_hash=hash_key(raw_key)
        )
        record_audit(action="api_client.created", obj=client, actor_label=actor_label,
                     data={"name": name, "channel": channel, "role": role})
    return client, raw_key


def revoke_api_client(*, client_id: int, actor_user=None, actor_label: str = "") -> ApiClient:
    """The key stops working on its next request, in every process (the shared generation
    of keys moves on in the same transaction)."""
    with transaction.atomic():
        revoked = ApiClient.objects.filter(pk=client_id, is_active=True).update(
            is_active=False, revoked_at=timezone.now())
        if revoked != 1:
            if not ApiClient.objects.filter(pk=client_id).exists():
                raise NotFound(f"No API client #{client_id}.")
            raise InvalidTransition(f"API client #{client_id} is already revoked.")
        bump_generation(KEYS_GENERATION)
        record_audit(action="api_client.revoked", object_type="ApiClient", object_id=client_id,
                     actor_user=actor_user, actor_label=actor_label)
    return ApiClient.objects.get(pk=client_id)


def record_sign_in_failure(*, username: str, address: str | None) -> None:
    """Count a failed sign-in (see `selectors.sign_in_refused_for`); failures older than the
    window are dropped on the way."""
    now = timezone.now()
    SignInFailure.objects.filter(
        failed_at__lt=now - timedelta(seconds=settings.SIGN_IN_WINDOW_SECONDS)).delete()
    SignInFailure.objects.create(username=SignInFailure.account(username), address=address,
                                 failed_at=now)


def forget_sign_in_failures(*, username: str) -> None:
    """A successful sign-in: the account's failures are forgotten (other accounts' failures
    from the same address still count)."""
    SignInFailure.objects.filter(username=SignInFailure.account(username)).delete()


HEARTBEAT_ROWS_KEPT_FOR = timedelta(hours=1)


def record_worker_heartbeat(*, worker: str, started_at) -> None:
    """A worker process is alive now. Rows of processes gone for an hour are dropped (each
    restart or recycled worker is a new process, with a row of its own)."""
    now = timezone.now()
    WorkerHeartbeat.objects.update_or_create(
        worker=worker, defaults={"beat_at": now}, create_defaults={"started_at": started_at, "beat_at": now})
    WorkerHeartbeat.objects.filter(beat_at__lt=now - HEARTBEAT_ROWS_KEPT_FOR).delete()


def write_outbox(*, topic: str, aggregate_type: str, aggregate_id: int, payload: dict) -> OutboxEvent:
    return OutboxEvent.objects.create(
        topic=topic, aggregate_type=aggregate_type, aggregate_id=aggregate_id, payload=payload
    )


_OUTBOX_WITH_AUDIT_SQL = (
    f"WITH audit AS (INSERT INTO {AuditEntry._meta.db_table} (created_at, actor_client_id, actor_label, "
    "action, object_type, object_id, data) VALUES (%s, %s, '', %s, %s, %s, '{}'::jsonb)) "
    f"INSERT INTO {OutboxEvent._meta.db_table} (topic, aggregate_type, aggregate_id, payload, created_at) "
    "VALUES (%s, %s, %s, %s::jsonb, %s)"
)


def write_outbox_with_audit(*, topic: str, aggregate_type: str, aggregate_id: int, payload: dict,
                            audit_action: str, actor_client_id: int) -> None:
    """write_outbox and record_audit (an API client's action on the same object, no data)
    as one statement: the order path writes both on every order, and each statement is
    a round trip to the database."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(_OUTBOX_WITH_AUDIT_SQL, [
            now, actor_client_id, audit_action, aggregate_type, str(aggregate_id),
            topic, aggregate_type, aggregate_id, json.dumps(payload), now])


def record_audit(*, action: str, obj=None, object_type: str = "", object_id=None, data=None,
                 actor_user=None, actor_client=None, actor_label: str = "") -> AuditEntry:
    if obj is not None:
        object_type = type(obj).__name__
        object_id = obj.pk
    return AuditEntry.objects.create(
        action=action,
        object_type=object_type,
        object_id="" if object_id is None else str(object_id),
        data=data or {},
        actor_user=actor_user,
        actor_client=actor_client,
        actor_label=actor_label,
    )


def open_exception(*, kind: str, title: str, dedupe_key: str = "", detail: str = "",
                   platform: str = "", location_code: str = "", data: dict | None = None,
                   units: int = 0, value_amount: int = 0, currency: str = "") -> ExceptionItem:
    """Open an exception, or count another occurrence of the open one with the same cause."""
    fields = dict(kind=kind, title=title[:255], detail=detail, platform=platform,
                  location_code=location_code, data=data or {}, units=units,
                  value_amount=value_amount, currency=currency, dedupe_key=dedupe_key)
    if not dedupe_key:
        return ExceptionItem.objects.create(**fields)
    try:
        with transaction.atomic():
            return ExceptionItem.objects.create(**fields)
    except IntegrityError:
        open_item = ExceptionItem.objects.get(dedupe_key=dedupe_key, status=ExceptionStatus.OPEN)
        ExceptionItem.objects.filter(pk=open_item.pk).update(
            occurrences=F("occurrences") + 1, units=F("units") + units,
            value_amount=F("value_amount") + value_amount, detail=detail or open_item.detail,
            data=data or open_item.data, updated_at=timezone.now(),
        )
        open_item.refresh_from_db()
        return open_item


def close_exception(*, exception_id: int, status: str, reason: str = "", user=None,
                    actor_label: str = "") -> ExceptionItem:
    """Resolve or ignore an open exception. Ignoring needs a reason."""
    if status not in (ExceptionStatus.RESOLVED, ExceptionStatus.IGNORED):
        raise ValidationFailed("An exception closes as resolved or ignored.", field="status")
    if status == ExceptionStatus.IGNORED and not reason.strip():
        raise ValidationFailed("Say why the exception is ignored.", field="reason")
    with transaction.atomic():
        changed = ExceptionItem.objects.filter(
            pk=exception_id, status=ExceptionStatus.OPEN
        ).update(status=status, close_reason=reason, closed_at=timezone.now(), closed_by=user)
        if changed != 1:
            raise InvalidTransition(f"Exception #{exception_id} is not open.")
        record_audit(action=f"exception.{status}", object_type="ExceptionItem",
                     object_id=exception_id, data={"reason": reason}, actor_user=user,
                     actor_label=actor_label)
    return ExceptionItem.objects.get(pk=exception_id)


def resolve_exceptions_by_key(*, dedupe_key: str, reason: str) -> int:
    """Close the open exception whose cause has since gone away (a later push succeeded)."""
    return resolve_exceptions(dedupe_keys=[dedupe_key], reason=reason)


def resolve_exceptions(*, dedupe_keys: list[str], reason: str) -> int:
    """Close the open exceptions of these causes, in one statement."""
    return ExceptionItem.objects.filter(dedupe_key__in=dedupe_keys, status=ExceptionStatus.OPEN).update(
        status=ExceptionStatus.RESOLVED, close_reason=reason, closed_at=timezone.now()
    )
