from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # Built CONCURRENTLY: the sync engine keeps writing deliveries while the table is indexed.
    atomic = False

    dependencies = [
        ("connectors", "0009_delivery_read_indexes"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="delivery",
            index=models.Index(fields=["platform", "external_ref"], name="delivery_by_platform_ref"),
        ),
    ]
