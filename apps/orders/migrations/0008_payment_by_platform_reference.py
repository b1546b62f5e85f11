from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # Built CONCURRENTLY: payments keep being written while a large table is indexed.
    atomic = False

    dependencies = [
        ("orders", "0007_order_location_updated_at_index"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="payment",
            index=models.Index(fields=["platform", "reference"], name="payment_by_platform_reference"),
        ),
    ]
