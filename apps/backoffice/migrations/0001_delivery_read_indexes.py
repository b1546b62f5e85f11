"""Indexes for what the back office reads of the sync engine's deliveries: the dashboard's
last success and failures per platform, and an order's timeline (its deliveries). The
deliveries table grows with every order; without these each read passed over all of it.

Written as SQL here, beside the reads they serve (apps/backoffice/selectors.py), while the
connectors app's own migrations were being changed by other work."""

from django.db import migrations

INDEXES = [
    ("delivery_done_by_platform",
     'ON "connectors_delivery" ("platform", "done_at") WHERE "status" = \'done\''),
    ("delivery_failed_by_platform", 'ON "connectors_delivery" ("platform") WHERE "status" = \'failed\''),
    ("delivery_by_order", 'ON "connectors_delivery" ("order_id") WHERE "order_id" IS NOT NULL'),
]


class Migration(migrations.Migration):

    dependencies = [
        ("connectors", "0007_delivery_kind_void_order"),
    ]

    operations = [
        migrations.RunSQL(f'CREATE INDEX IF NOT EXISTS "{name}" {definition}', f'DROP INDEX IF EXISTS "{name}"')
        for name, definition in INDEXES
    ]
