import pytest

from tests.conftest import stock
from tests.factories import VariantFactory


@pytest.fixture
def taxed(shop):
    """OAK at 10.25% with groceries exempt, and a jar of salsa from the retail corner."""
    shop.oak.tax_rate_bps = 1025
    shop.oak.tax_exempt_categories = ["grocery"]
    shop.oak.save()
    salsa = VariantFactory(sku="SALSA-JAR", name="Salsa jar", price_amount=899,
                           product__tax_category="grocery")
    stock(shop.oak, salsa, 30)
    shop.salsa = salsa
    return shop
