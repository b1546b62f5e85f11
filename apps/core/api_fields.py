"""Strict DRF fields and the base input serializer every API write uses."""

from rest_framework import serializers


class StrictIntegerField(serializers.IntegerField):
    """An integer that must arrive as a JSON integer: no "2", no 2.0, no true."""

    default_error_messages = {"invalid": "Must be an integer."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictCharField(serializers.CharField):
    """A string that must arrive as a JSON string (DRF would turn 5 into "5")."""

    default_error_messages = {"invalid": "Must be a string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class InputSerializer(serializers.Serializer):
    """Rejects fields it does not know, so a misspelt field is an error, not ignored."""

    def to_internal_value(self, data):
        unknown = sorted(set(data) - set(self.fields)) if isinstance(data, dict) else []
        errors = {name: [serializers.ErrorDetail("Unknown field.", code="unknown_field")]
                  for name in unknown}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if isinstance(exc.detail, dict):
                errors = {**exc.detail, **errors}
            elif not errors:
                raise
        if errors:
            raise serializers.ValidationError(errors)
        return value


class MoneySerializer(InputSerializer):
    amount = StrictIntegerField(min_value=0, max_value=10**12, help_text="Minor units (cents).")
    currency = StrictCharField(min_length=3, max_length=3, help_text="ISO 4217 code.")
