"""Customer identity: one person across channels.

An inbound order is matched by the platform's customer id, then the email, then the phone.
Each identifier is a unique row, so the database holds "one identifier, one customer";
a racing insert of the same identifier fails and the match runs again, finding the
winner. Identifiers that point to two different customers are never merged here: a
`possible_duplicate_customer` exception shows both, and the best match is used.
"""

from __future__ import annotations

import phonenumbers
from django.conf import settings
from django.db import IntegrityError, transaction

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
    for attempt in range(MATCH_ATTEMPTS):
        try:
            with transaction.atomic():
                return _match_once(incoming)
        except IntegrityError:
            # Another order inserted one of these identifiers first; match again.
            if attempt == MATCH_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


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


def _match_once(incoming: _Incoming) -> Customer:
    owners = _owners(incoming)  # in matching order: platform id, email, phone
    matched = list(dict.fromkeys(owner for owner in owners.values() if owner is not None))
    if not matched:
        return _create_customer(incoming)
    customer = Customer.objects.get(pk=matched[0])
    _attach_missing(customer, incoming, owners)
    _fill_blank_contact(customer, incoming)
    if len(matched) > 1:
        report_possible_duplicate(customer_ids=matched, incoming=incoming.as_dict())
    return customer


def _owners(incoming: _Incoming) -> dict[str, int | None]:
    owners: dict[str, int | None] = {}
    if incoming.platform_customer_id:
        owners["external_id"] = _live(CustomerExternalId.objects.filter(
            platform=incoming.platform, external_id=incoming.platform_customer_id))
    if incoming.email:
        owners["email"] = _live(CustomerEmail.objects.filter(email=incoming.email))
    if incoming.phone:
        owners["phone"] = _live(CustomerPhone.objects.filter(phone=incoming.phone))
    return owners


def _live(identifiers) -> int | None:
    """The live customer an identifier belongs to (a merge moves identifiers to the
    survivor, so a tombstone should hold none; follow `merged_into` if one does)."""
    row = identifiers.values("customer_id", "customer__merged_into_id").first()
    if row is None:
        return None
    return live_customer_id(row["customer_id"]) if row["customer__merged_into_id"] else row["customer_id"]


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


def _create_customer(incoming: _Incoming) -> Customer:
    customer = Customer.objects.create(name=incoming.name, email=incoming.email, phone=incoming.phone)
    _attach_missing(customer, incoming, {})
    return customer


def _attach_missing(customer: Customer, incoming: _Incoming, owners: dict) -> None:
    """Give the customer the identifiers nobody holds yet. A plain INSERT: if another
    order takes one at the same moment, the unique index refuses it and we match again."""
    if incoming.platform_customer_id and owners.get("external_id") is None:
        CustomerExternalId.objects.create(customer=customer, platform=incoming.platform,
                                          external_id=incoming.platform_customer_id)
    if incoming.email and owners.get("email") is None:
        CustomerEmail.objects.create(customer=customer, email=incoming.email)
    if incoming.phone and owners.get("phone") is None:
        CustomerPhone.objects.create(customer=customer, phone=incoming.phone)


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
