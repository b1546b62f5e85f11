"""Forms of the admin's pages: each field's errors show next to it."""

from django import forms

from apps.connectors.enums import OWNER_CHOICES, Domain, Platform
from apps.core.enums import ApiRole, Channel
from apps.core.roles import ROLE_BY_SLUG

ROLE_CHOICES = [(slug, name) for slug, name in ROLE_BY_SLUG.items()]


def _location_choices(locations):
    return [(loc.code, f"{loc.code} — {loc.name}") for loc in locations]


class StaffUserForm(forms.Form):
    role = forms.ChoiceField(choices=ROLE_CHOICES)
    locations = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple,
                                          help_text="A store manager sees and changes only these.")

    def __init__(self, *args, locations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["locations"].choices = _location_choices(locations)


class NewStaffUserForm(StaffUserForm):
    username = forms.CharField(max_length=150)
    password = forms.CharField(required=False, widget=forms.PasswordInput, min_length=8,
                               help_text="Leave empty to generate one (shown once).")
    field_order = ["username", "role", "locations", "password"]


class EditStaffUserForm(StaffUserForm):
    is_active = forms.BooleanField(required=False, label="May sign in")


class ApiKeyForm(forms.Form):
    """A channel key (one channel's orders, only its own) or a staff key (a role over every
    channel's orders: customer service refunds, finance reads): one of the two."""

    name = forms.CharField(max_length=100,
                           help_text="Who calls with it: “PieLine”, “Web checkout”, “Helpdesk”.")
    channel = forms.ChoiceField(choices=[("", "—"), *Channel.choices], required=False,
                                label="Channel key for",
                                help_text="Places and reads the orders of this channel it made itself.")
    role = forms.ChoiceField(choices=[("", "—"), *ApiRole.choices], required=False, label="or staff key as",
                             help_text="Works on every channel's orders with this role's rights.")

    def clean(self):
        data = super().clean()
        if data.get("channel") and data.get("role"):
            self.add_error("role", "Choose a channel or a staff role, not both.")
        elif not data.get("channel") and not data.get("role") and "channel" not in self.errors:
            self.add_error("channel", "Choose the channel the key is for, or a staff role.")
        return data


class BufferForm(forms.Form):
    platform = forms.ChoiceField(choices=Platform.choices)
    location = forms.ChoiceField(choices=[])
    units = forms.IntegerField(min_value=0, max_value=10_000)

    def __init__(self, *args, locations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].choices = _location_choices(locations)


class OwnershipForm(forms.Form):
    EVERYWHERE = ""
    domain = forms.ChoiceField(choices=Domain.choices)
    location = forms.ChoiceField(choices=[], required=False)
    owner = forms.ChoiceField(choices=OWNER_CHOICES)

    def __init__(self, *args, locations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].choices = [(self.EVERYWHERE, "Every location (default)"),
                                           *_location_choices(locations)]


class CatalogPullForm(forms.Form):
    platform = forms.ChoiceField(choices=Platform.choices)


class StockResyncForm(forms.Form):
    platform = forms.ChoiceField(choices=Platform.choices)
