"""The demo stores tax like real ones: their combined rates, groceries for home exempt."""

import io

from django.core.management import call_command

from apps.catalog.models import Product
from apps.inventory.models import Location


def test_the_demo_stores_have_realistic_rates_and_exempt_the_retail_corners_groceries(db):
    call_command("seed_demo", stdout=io.StringIO())

    rates = dict(Location.objects.values_list("code", "tax_rate_bps"))
    assert rates == {"OAK": 1025, "BKN": 888, "CHI": 1025}
    assert all(loc.tax_exempt_categories == ["grocery"] for loc in Location.objects.all())
    categories = dict(Product.objects.values_list("name", "tax_category"))
    assert categories["Burrito"] == categories["Cast-iron comal"] == categories["Logo hoodie"] == "standard"
    assert {name for name, category in categories.items() if category == "grocery"} == {
        "House blend coffee beans", "Oaxaca single-origin beans", "Salsa verde, 16 oz jar",
        "Salsa roja, 16 oz jar", "Habanero hot sauce", "Corn tortillas, 30 count",
        "Flour tortillas, 12 count", "Mole paste"}
