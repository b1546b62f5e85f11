"""The cash drawer page's forms: amounts typed in major units ("212.50"), turned into minor
units in the chosen location's currency; a refusal shows next to its field."""

from __future__ import annotations

from django import forms

from apps.core import money


class _LocationMoneyForm(forms.Form):
    """A location (its code) and amounts in its currency. Whether the user may act on the
    location is the view's and the service's question, not a choice list's."""

    location = forms.CharField(label="Store", max_length=16, widget=forms.Select)
    money_fields: tuple[str, ...] = ()

    def __init__(self, *args, locations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.currencies = {location.code: location.currency for location in locations}
        self.fields["location"].widget.choices = [(location.code, f"{location.code} — {location.name}")
                                                  for location in locations]

    def clean(self):
        data = super().clean()
        currency = self.currencies.get(data.get("location", ""), "USD")
        for name in self.money_fields:
            text = (data.get(name) or "").strip().replace(",", "").lstrip("$€£")
            if not text:
                data[name] = None
                continue
            try:
                data[name] = money.from_decimal(text, currency)
            except money.MoneyError:
                self.add_error(name, "Enter an amount like 212.50.")
        return data


class DrawerCountForm(_LocationMoneyForm):
    business_day = forms.DateField(label="Business day", widget=forms.DateInput(attrs={"type": "date"}))
    counted = forms.CharField(label="Cash counted", max_length=20,
                              widget=forms.TextInput(attrs={"inputmode": "decimal"}),
                              error_messages={"required": "Enter the cash counted in the drawer."})
    opening_float = forms.CharField(label="Opening float", max_length=20, required=False,
                                    widget=forms.TextInput(attrs={"inputmode": "decimal"}),
                                    help_text="Blank: the store's standard float.")
    note = forms.CharField(label="Note", max_length=1000, required=False)
    money_fields = ("counted", "opening_float")


class DrawerFloatForm(_LocationMoneyForm):
    amount = forms.CharField(label="Standard opening float", max_length=20,
                             widget=forms.TextInput(attrs={"inputmode": "decimal"}),
                             error_messages={"required": "Enter the float the drawer starts each day with."})
    money_fields = ("amount",)
