"""Customer identity: one person across channels, matched by phone, then email."""

from __future__ import annotations

import phonenumbers
from django.conf import settings

from apps.core.errors import ValidationFailed
from apps.customers.models import Customer


def normalize_phone(raw: str, *, field: str = "customer.phone") -> str:
    """E.164, or a validation error that says what was wrong."""
    if not raw:
        return ""
    try:
        parsed = phonenumbers.parse(raw, getattr(settings, "DEFAULT_PHONE_REGION", "US"))
    except phonenumbers.NumberParseException:
        raise ValidationFailed(f"{raw!r} is not a phone number.", field=field,
                               extra={"code": "invalid_phone"}) from None
    if not phonenumbers.is_valid_number(parsed):
        raise ValidationFailed(f"{raw!r} is not a valid phone number.", field=field,
                               extra={"code": "invalid_phone"})
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def find_or_create_customer(*, name: str = "", phone: str = "", email: str = "") -> Customer | None:
    """The customer this phone (or, without one, this email) belongs to; created if new.

    `phone` must already be E.164. Safe under concurrency: the phone is unique, and a
    racing insert falls back to reading the winner's row.
    """
    email = email.strip().lower()
    if not phone and not email:
        return None
    if phone:
        Customer.objects.bulk_create(
            [Customer(name=name, phone=phone, email=email)], ignore_conflicts=True
        )
        return Customer.objects.get(phone=phone)
    existing = Customer.objects.filter(email=email).order_by("pk").first()
    return existing or Customer.objects.create(name=name, email=email)
