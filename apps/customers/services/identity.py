"""Customer identity: one person across channels.

An inbound order is matched by the platform's customer id, then the email, then the phone.
Each identifier is a unique row, so the database holds "one identifier, one customer";
a racing insert of the same identifier inserts nothing (ON CONFLICT DO NOTHING: no error,
so no savepoint around it), what this attempt wrote is taken back and the match runs
again, finding the winner. Identifiers that point to two different customers are never
merged here: a `possible_duplicate_customer` exception shows both, and the best match is
used.
"""

from __future__ import annotations

import phonenumbers
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from apps.core.enums import ExceptionKind
from apps.core.errors import ValidationFailed
from apps.core.services import open_exception
from apps.customers.models import Customer, CustomerEmail, CustomerExternalId, CustomerPhone

MATCH_ATTEMPTS = 3


def normalize_email(raw: str) -> str:
    return (raw or "").strip().lower()


def normalize_phone(raw: str, *, field: str = "customer.phone", region: str | None = None) -> str:
    """E.164, read in `region` (the location's country), or a validation error."""
    if not raw:
        return ""
    region = region or getattr(settings, "DEFAULT_PHONE_REGION", "US")
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise ValidationFailed(f"{raw!r} is not a phone number.", field=field,
                               extra={"code": "invalid_phone"}) from None
    if not phonenumbers.is_valid_number(parsed):
        raise ValidationFailed(f"{raw!r} is not a valid phone number.", field=field,
                               extra={"code": "invalid_phone"})
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def find_or_create_customer(*, name: str = "", phone: str = "", email: str = "") -> Customer | None:
    """The customer these contact details belong to; created if new (orders' entry point)."""
    return match_customer(name=name, email=email, phone=phone)


def match_customer(*, name: str = "", email: str = "", phone: str = "", platform: str = "",
                   platform_customer_id: str = "", region: str | None = None) -> Customer | None:
    """The customer of an inbound order: platform id first, then email, then phone.

    Creates the customer when nothing matches and attaches identifiers it did not have.
    A phone that cannot be read is left out rather than failing the order. Returns None
    when the order names no identifier at all.
    """
    incoming = _Incoming(
        name=(name or "").strip(), email=normalize_email(email), phone=_readable_phone(phone, region),
        platform=platform if platform_customer_id else "",
        platform_customer_id=str(platform_customer_id or "").strip(),
    )
    if not (incoming.email or incoming.phone or incoming.platform_customer_id):
        return None
    for _attempt in range(MATCH_ATTEMPTS):
        # savepoint=False: inside an order's transaction this costs no round trip; alone,
        # a customer and its identifiers still commit together. Safe only while nothing in
        # here catches a database error outside a savepoint of its own (a conflict is
        # ON CONFLICT DO NOTHING; open_exception catches its IntegrityError under one): an
        # error that escapes reaches the caller's atomic, which rolls it back.
        with transaction.atomic(savepoint=False):
            customer = _match_once(incoming)
        if customer is not None:
            return customer
    raise IntegrityError("Customer identifiers kept being taken by concurrent orders.")


class _Incoming:
    def __init__(self, *, name, email, phone, platform, platform_customer_id):
        self.name = name
        self.email = email
        self.phone = phone
        self.platform = platform
        self.platform_customer_id = platform_customer_id

    def as_dict(self) -> dict:
        return {"name": self.name, "email": self.email, "phone": self.phone,
                "platform": self.platform, "platform_customer_id": self.platform_customer_id}


def _readable_phone(raw: str, region: str | None) -> str:
    try:
        return normalize_phone(raw, region=region)
    except ValidationFailed:
        return ""


def _match_once(incoming: _Incoming) -> Customer | None:
    """The matched (or new) customer, or None when a concurrent order took one of the
    identifiers first (nothing of this attempt is left behind)."""
    owners = _owners(incoming)  # in matching order: platform id, email, phone
    matched = {owner.pk: owner for owner in owners.values() if owner is not None}
    if not matched:
        return _create_customer(incoming)
    customer = next(iter(matched.values()))
    if not _attach_missing(customer, incoming, owners):
        return None
    _fill_blank_contact(customer, incoming)
    if len(matched) > 1:
        report_possible_duplicate(customer_ids=list(matched), incoming=incoming.as_dict())
    return customer


def _owners(incoming: _Incoming) -> dict[str, Customer | None]:
    owners: dict[str, Customer | None] = {}
    if incoming.platform_customer_id:
        owners["external_id"] = _live(CustomerExternalId.objects.filter(
            platform=incoming.platform, external_id=incoming.platform_customer_id))
    if incoming.email:
        owners["email"] = _live(CustomerEmail.objects.filter(email=incoming.email))
    if incoming.phone:
        owners["phone"] = _live(CustomerPhone.objects.filter(phone=incoming.phone))
    return owners


def _live(identifiers) -> Customer | None:
    """The live customer an identifier belongs to, read with it in one query (a merge
    moves identifiers to the survivor, so a tombstone should hold none; follow
    `merged_into` if one does)."""
    row = identifiers.select_related("customer").first()
    if row is None:
        return None
    if row.customer.merged_into_id is None:
        return row.customer
    return Customer.objects.get(pk=live_customer_id(row.customer_id))


def live_customer_id(customer_id: int) -> int:
    """The customer a (possibly merged) customer id stands for today."""
    seen = set()
    while customer_id not in seen:
        seen.add(customer_id)
        merged_into = Customer.objects.filter(pk=customer_id).values_list("merged_into_id", flat=True).first()
        if merged_into is None:
            return customer_id
        customer_id = merged_into
    return customer_id


def _create_customer(incoming: _Incoming) -> Customer | None:
    customer = Customer.objects.create(name=incoming.name, email=incoming.email, phone=incoming.phone)
    if not _attach_missing(customer, incoming, {}):
        customer.delete()  # its identifiers went with the failed attach: nothing refers to it
        return None
    return customer


def _attach_missing(customer: Customer, incoming: _Incoming, owners: dict) -> bool:
    """Give the customer the identifiers nobody holds yet. If another order takes one at
    the same moment, the unique index skips our row: the ones this call added are
    removed and it returns False, so the caller matches again."""
    wanted = []
    if incoming.platform_customer_id and owners.get("external_id") is None:
        wanted.append((CustomerExternalId, {"platform": incoming.platform,
                                            "external_id": incoming.platform_customer_id}))
    if incoming.email and owners.get("email") is None:
        wanted.append((CustomerEmail, {"email": incoming.email}))
    if incoming.phone and owners.get("phone") is None:
        wanted.append((CustomerPhone, {"phone": incoming.phone}))
    added = []
    for model, values in wanted:
        row_id = _insert_unless_taken(model, customer_id=customer.pk, **values)
        if row_id is None:
            for added_model, added_id in added:
                added_model.objects.filter(pk=added_id).delete()
            return False
        added.append((model, row_id))
    return True


def _insert_unless_taken(model, **values) -> int | None:
    """INSERT … ON CONFLICT DO NOTHING: the new row's id, or None when the unique index
    says another customer holds the identifier. No error, so no savepoint is needed."""
    values["created_at"] = timezone.now()
    table = model._meta.db_table
    sql = (f"INSERT INTO {table} ({', '.join(values)}) VALUES ({', '.join(['%s'] * len(values))}) "
           "ON CONFLICT DO NOTHING RETURNING id")
    with connection.cursor() as cursor:
        cursor.execute(sql, list(values.values()))
        row = cursor.fetchone()
    return row[0] if row else None


def _fill_blank_contact(customer: Customer, incoming: _Incoming) -> None:
    changes = {}
    if not customer.name and incoming.name:
        changes["name"] = incoming.name
    if not customer.email and incoming.email:
        changes["email"] = incoming.email
    if not customer.phone and incoming.phone:
        changes["phone"] = incoming.phone
    if changes:
        Customer.objects.filter(pk=customer.pk).update(**changes)
        for field, value in changes.items():
            setattr(customer, field, value)


def report_possible_duplicate(*, customer_ids: list[int], incoming: dict):
    """Open (or count again) a `possible_duplicate_customer` exception showing every
    customer the identifiers point to; a person decides whether to merge them."""
    customers = Customer.objects.filter(pk__in=customer_ids).prefetch_related(
        "emails", "phones", "external_ids")
    shown = sorted((_identity(customer) for customer in customers), key=lambda c: c["id"])
    ids = "/".join(str(c["id"]) for c in shown)
    return open_exception(
        kind=ExceptionKind.POSSIBLE_DUPLICATE_CUSTOMER,
        title=f"Possible duplicate customers {ids}",
        dedupe_key=f"possible_duplicate_customer:{ids}",
        detail=("One order's identifiers belong to different customers; they were not merged. "
                "Merge them if they are one person."),
        data={"customers": shown, "incoming": incoming, "matched": customer_ids[0]},
    )


def _identity(customer: Customer) -> dict:
    return {
        "id": customer.pk,
        "name": customer.name,
        "emails": [row.email for row in customer.emails.all()],
        "phones": [row.phone for row in customer.phones.all()],
        "external_ids": [{"platform": row.platform, "id": row.external_id}
                         for row in customer.external_ids.all()],
    }
