# The reconciliation of recent days runs every 15 minutes, after the processors are read.
from django.db import migrations

RECONCILE_SCHEDULE = ("reconcile recent days", "apps.reports.tasks.reconcile_recent_days_task", 15)


def create_schedule(apps, schema_editor):
    name, func, minutes = RECONCILE_SCHEDULE
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name=name, defaults={"func": func, "schedule_type": "I", "minutes": minutes, "repeats": -1})


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=RECONCILE_SCHEDULE[0]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0004_reconciliation"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]
    operations = [migrations.RunPython(create_schedule, remove_schedule)]
