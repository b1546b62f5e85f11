from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # Built CONCURRENTLY: orders keep being written while a large table is indexed.
    atomic = False

    dependencies = [
        ('orders', '0006_payment_exchange_tender'),
    ]

    operations = [
        AddIndexConcurrently(
            model_name='order',
            index=models.Index(fields=['location', 'updated_at'], name='order_location_updated_at'),
        ),
    ]
