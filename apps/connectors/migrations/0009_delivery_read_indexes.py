"""The back office's indexes on deliveries become the Delivery model's (Meta.indexes).

backoffice 0001 created them as SQL while this app's migrations were being changed by other
work; it stays as it is (it has run on existing databases). Here the state takes them over
and the database step is the same CREATE INDEX IF NOT EXISTS under the same names, so it
costs nothing where they exist and builds them where they do not, whichever of the two
migrations a fresh database runs first."""

from django.db import migrations, models

INDEXES = [
    ("delivery_done_by_platform",
     'ON "connectors_delivery" ("platform", "done_at") WHERE "status" = \'done\''),
    ("delivery_failed_by_platform", 'ON "connectors_delivery" ("platform") WHERE "status" = \'failed\''),
    ("delivery_by_order", 'ON "connectors_delivery" ("order_id") WHERE "order_id" IS NOT NULL'),
]


class Migration(migrations.Migration):

    dependencies = [
        ("connectors", "0008_delivery_kind_refund_part"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(f'CREATE INDEX IF NOT EXISTS "{name}" {definition}',
                                  f'DROP INDEX IF EXISTS "{name}"')
                for name, definition in INDEXES
            ],
            state_operations=[
                migrations.AddIndex(
                    model_name="delivery",
                    index=models.Index(condition=models.Q(("status", "done")), fields=["platform", "done_at"],
                                       name="delivery_done_by_platform"),
                ),
                migrations.AddIndex(
                    model_name="delivery",
                    index=models.Index(condition=models.Q(("status", "failed")), fields=["platform"],
                                       name="delivery_failed_by_platform"),
                ),
                migrations.AddIndex(
                    model_name="delivery",
                    index=models.Index(condition=models.Q(("order_id__isnull", False)), fields=["order_id"],
                                       name="delivery_by_order"),
                ),
            ],
        ),
    ]
