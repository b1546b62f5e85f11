from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # Built CONCURRENTLY: refunds keep being written while the table is indexed.
    atomic = False

    dependencies = [
        ("returns", "0002_exchange"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="refundpart",
            index=models.Index(fields=["platform", "reference"], name="refund_part_by_platform_ref"),
        ),
    ]
