"""Forms of the admin's pages: each field's errors show next to it."""

from django import forms

from apps.connectors.enums import OWNER_CHOICES, Domain, Platform
from apps.core.enums import Channel
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
    name = forms.CharField(max_length=100, help_text="Who calls with it: “PieLine”, “Web checkout”.")
    channel = forms.ChoiceField(choices=Channel.choices)


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
