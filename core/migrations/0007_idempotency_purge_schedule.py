"""The beat schedule that deletes Idempotency-Key answers older than 24 hours (core.schedules), for databases
migrated before it existed; existing schedules are kept as administrators left them (core migration 0003)."""

from django.db import migrations

from core.schedules import schedules_install


def install(apps, schema_editor):
    schedules_install(
        periodic_task=apps.get_model("django_celery_beat", "PeriodicTask"),
        interval_schedule=apps.get_model("django_celery_beat", "IntervalSchedule"),
        periodic_tasks=apps.get_model("django_celery_beat", "PeriodicTasks"),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0006_idempotencyrecord"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(install, migrations.RunPython.noop, elidable=False)]
