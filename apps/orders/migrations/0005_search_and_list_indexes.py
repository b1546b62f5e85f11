import django.contrib.postgres.indexes
import django.contrib.postgres.search
import django.db.models.functions.text
from django.db import migrations, models

# Django writes an OpClass index only with django.contrib.postgres installed (it is not):
# the two pattern indexes are written here as SQL, and the model state records them.
PATTERN_INDEXES = [
    ("order_email_prefix", 'LOWER("customer_email")'),
    ("order_phone_last_digits", 'REVERSE("customer_phone")'),
]


class Migration(migrations.Migration):

    dependencies = [
        ('orders', '0004_refunded_amounts'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='order',
            index=models.Index(fields=['-placed_at', '-id'], name='order_newest_first'),
        ),
        migrations.AddIndex(
            model_name='order',
            index=models.Index(django.db.models.functions.text.Upper('external_id'), name='order_external_id_upper'),
        ),
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f'CREATE INDEX "{name}" ON "orders_order" (({expression}) text_pattern_ops)',
                    f'DROP INDEX "{name}"')
                for name, expression in PATTERN_INDEXES
            ],
            state_operations=[
                migrations.AddIndex(
                    model_name='order',
                    index=models.Index(django.contrib.postgres.indexes.OpClass(django.db.models.functions.text.Lower('customer_email'), name='text_pattern_ops'), name='order_email_prefix'),
                ),
                migrations.AddIndex(
                    model_name='order',
                    index=models.Index(django.contrib.postgres.indexes.OpClass(django.db.models.functions.text.Reverse('customer_phone'), name='text_pattern_ops'), name='order_phone_last_digits'),
                ),
            ],
        ),
        migrations.AddIndex(
            model_name='order',
            index=django.contrib.postgres.indexes.GinIndex(django.contrib.postgres.search.SearchVector('customer_name', config='simple'), name='order_name_words'),
        ),
    ]
