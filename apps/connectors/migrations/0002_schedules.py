from django.db import migrations

SCHEDULES = [
    # name, func, minutes
    ("sync loop", "apps.connectors.tasks.sync_loop_task", 1),
    ("poll platforms", "apps.connectors.tasks.poll_platforms_task", 1),
    ("detect stock drift", "apps.connectors.tasks.detect_drift_task", 5),
    ("purge old idempotency keys", "apps.core.tasks.purge_idempotency_keys_task", 60),
]


def create_schedules(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    for name, func, minutes in SCHEDULES:
        Schedule.objects.update_or_create(
            name=name, defaults={"func": func, "schedule_type": "I", "minutes": minutes, "repeats": -1},
        )


def remove_schedules(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name__in=[s[0] for s in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("connectors", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedules, remove_schedules)]
