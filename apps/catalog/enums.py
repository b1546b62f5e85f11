from django.db import models


class TaxCategory(models.TextChoices):
    """Tax categories a location may exempt (Location.tax_exempt_categories)."""

    STANDARD = "standard", "Standard"
    GROCERY = "grocery", "Grocery (food for home)"
