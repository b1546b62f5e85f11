"""Every index a model declares is in the migrated database under its name. Some were
created by SQL in another app's migration and later taken over by the model's state
(connectors 0009 from backoffice 0001): a state that claims an index the database lacks
fails here."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import connection

pytestmark = pytest.mark.django_db

PRODUCT_APPS = ("core", "catalog", "inventory", "customers", "orders", "returns", "reports",
                "connectors", "backoffice")


def declared_indexes() -> list[tuple[str, str]]:
    return [(model._meta.db_table, index.name)
            for app in PRODUCT_APPS for model in apps.get_app_config(app).get_models()
            for index in model._meta.indexes]


def test_every_declared_index_exists_in_the_database():
    declared = declared_indexes()
    with connection.cursor() as cursor:
        present = {(table, name) for table in {table for table, _ in declared}
                   for name in connection.introspection.get_constraints(cursor, table)}
    assert ("connectors_delivery", "delivery_by_order") in declared
    assert [pair for pair in declared if pair not in present] == []
