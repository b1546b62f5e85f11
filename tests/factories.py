import factory

from apps.catalog.models import Modifier, ModifierGroup, Product, Variant
from apps.inventory.models import Location


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"L{n}")
    name = factory.LazyAttribute(lambda o: f"Store {o.code}")
    timezone = "America/Los_Angeles"


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    name = factory.Sequence(lambda n: f"Product {n}")
    category = "Food"


class VariantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Variant
        django_get_or_create = ("sku",)

    product = factory.SubFactory(ProductFactory)
    sku = factory.Sequence(lambda n: f"SKU-{n}")
    name = factory.LazyAttribute(lambda o: o.sku.title())
    price_amount = 1000
    currency = "USD"


class ModifierGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ModifierGroup
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"G{n}")
    name = factory.LazyAttribute(lambda o: f"Group {o.code}")
    min_selected = 0
    max_selected = 3


class ModifierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Modifier
        django_get_or_create = ("sku",)

    group = factory.SubFactory(ModifierGroupFactory)
    sku = factory.Sequence(lambda n: f"MOD-{n}")
    name = factory.LazyAttribute(lambda o: o.sku.title())
    price_delta = 100
