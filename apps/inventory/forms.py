"""The stock page's forms: each field's errors show next to it."""

from django import forms

from apps.inventory.enums import MovementReason


class StockChangeForm(forms.Form):
    KINDS = [("delta", "Add or remove units"), ("count", "Set to a counted quantity"),
             ("receipt", "Receive a delivery")]

    kind = forms.ChoiceField(choices=KINDS, initial="delta", label="Change")
    quantity = forms.IntegerField(label="Units", min_value=-100_000, max_value=100_000)
    note = forms.CharField(label="Reason", max_length=200, error_messages={
        "required": "Say why the stock changes (damaged, recount, delivery #...)."})

    def clean(self):
        data = super().clean()
        kind, quantity = data.get("kind"), data.get("quantity")
        if quantity is None or kind is None:
            return data
        if kind == "count" and quantity < 0:
            self.add_error("quantity", "A counted quantity cannot be negative.")
        elif kind == "receipt" and quantity <= 0:
            self.add_error("quantity", "A delivery brings at least one unit.")
        elif kind == "delta" and quantity == 0:
            self.add_error("quantity", "Add or remove at least one unit.")
        return data

    def service_arguments(self) -> dict:
        kind, quantity = self.cleaned_data["kind"], self.cleaned_data["quantity"]
        if kind == "count":
            return {"counted": quantity, "reason": MovementReason.COUNT}
        reason = MovementReason.RECEIPT if kind == "receipt" else MovementReason.ADJUSTMENT
        return {"delta": quantity, "reason": reason}


class TransferForm(forms.Form):
    to_location = forms.ChoiceField(label="To", choices=[])
    quantity = forms.IntegerField(label="Units", min_value=1, max_value=100_000)
    note = forms.CharField(label="Note", max_length=200, required=False)

    def __init__(self, *args, destinations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_location"].choices = [(loc.code, f"{loc.code} — {loc.name}") for loc in destinations]
