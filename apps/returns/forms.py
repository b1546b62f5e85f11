"""The return and refund form of the order page: units per line (with restock) or an amount
alone, where returned units come back, and why. Each refusal shows next to its field, the
service's own (more than is refundable, nothing to restock) included."""

from __future__ import annotations

import re

from django import forms

from apps.core import money
from apps.core.errors import DomainError
from apps.core.templatetags.concord import money as money_filter
from apps.returns.services import ReturnLineInput

LINES, AMOUNT = "lines", "amount"
_SERVICE_LINE_FIELD = re.compile(r"^lines\[(\d+)\]\.(\w+)$")


class RefundForm(forms.Form):
    kind = forms.ChoiceField(choices=[(LINES, "Return items"), (AMOUNT, "Refund an amount alone")],
                             initial=LINES, widget=forms.RadioSelect, label="What comes back")
    amount = forms.CharField(required=False, max_length=20, label="Amount",
                             help_text="Money alone, no items back (a goodwill refund).")
    return_location = forms.ChoiceField(label="Returned at",
                                        help_text="Where restocked units go back on hand.")
    reason = forms.CharField(max_length=255, label="Reason",
                             help_text="Kept with the refund and in the audit log.")

    def __init__(self, *args, order, lines, locations, **kwargs):
        super().__init__(*args, **kwargs)
        self.order = order
        self.fields["return_location"].choices = [(loc.code, f"{loc.code} — {loc.name}") for loc in locations]
        self.fields["return_location"].initial = order.location.code
        self._location_ids = {loc.code: loc.pk for loc in locations}
        self.line_rows = []
        for line in lines:
            left = line.quantity - line.refunded_quantity
            # What is left is checked by the refund path itself (under the order's lock), so a
            # confirmation sent twice finds its refund instead of a form error.
            quantity = forms.IntegerField(required=False, min_value=0, initial=0,
                                          label=f"Units of line {line.line_number} to return")
            quantity.widget.attrs.update({"inputmode": "numeric", "class": "qty", "max": left})
            if not left:
                quantity.disabled = True
            self.fields[f"line_{line.line_number}_quantity"] = quantity
            self.fields[f"line_{line.line_number}_restock"] = forms.BooleanField(
                required=False, label=f"Put line {line.line_number}'s units back in stock")
        for line in lines:
            self.line_rows.append({
                "line": line, "left": line.quantity - line.refunded_quantity,
                "quantity": self[f"line_{line.line_number}_quantity"],
                "restock": self[f"line_{line.line_number}_restock"]})

    def clean(self):
        data = super().clean()
        if data.get("kind") == AMOUNT:
            self._clean_amount(data)
        elif data.get("kind") == LINES and not self.return_lines():
            first = self.line_rows[0]["quantity"].name if self.line_rows else None
            self.add_error(first, "Enter how many units come back on at least one line.")
        return data

    def _clean_amount(self, data) -> None:
        text = (data.get("amount") or "").strip().replace(",", "")
        if not text:
            self.add_error("amount", "Enter the amount to refund.")
            return
        try:
            minor = money.from_decimal(text.lstrip("$€£"), self.order.currency)
        except money.MoneyError:
            self.add_error("amount", "Enter an amount like 12.50.")
            return
        if minor <= 0:
            self.add_error("amount", "Refund a positive amount.")
            return
        data["amount_minor"] = minor

    def return_lines(self) -> list[ReturnLineInput]:
        if self.cleaned_data.get("kind") != LINES:
            return []
        wanted = []
        for row in self.line_rows:
            number = row["line"].line_number
            quantity = self.cleaned_data.get(f"line_{number}_quantity") or 0
            if quantity > 0:
                wanted.append(ReturnLineInput(number, quantity,
                                              bool(self.cleaned_data.get(f"line_{number}_restock"))))
        return wanted

    def amount_minor(self) -> int | None:
        return self.cleaned_data.get("amount_minor") if self.cleaned_data.get("kind") == AMOUNT else None

    def return_location_id(self) -> int | None:
        return self._location_ids.get(self.cleaned_data.get("return_location", ""))

    def add_service_error(self, error: DomainError) -> None:
        """A refusal of the refund service, next to the field it names (money in the order's
        currency, where the service speaks in minor units)."""
        field = self._field_for(error.field or "")
        refundable = error.extra.get("refundable")
        if field == "amount" and isinstance(refundable, dict):
            left = money_filter(refundable.get("amount"), refundable.get("currency") or self.order.currency)
            self.add_error(field, f"Only {left} is left to refund.")
            return
        self.add_error(field, error.detail)

    def _field_for(self, service_field: str) -> str | None:
        if service_field.startswith("amount"):
            return "amount"
        if service_field == "return_location":
            return "return_location"
        match = _SERVICE_LINE_FIELD.match(service_field)
        if match:
            returned = self.return_lines()
            index, part = int(match.group(1)), match.group(2)
            if index < len(returned):
                name = f"line_{returned[index].line}_{'restock' if part == 'restock' else 'quantity'}"
                return name if name in self.fields else None
        return None
