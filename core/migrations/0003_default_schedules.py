"""The default periodic tasks (core.schedules), so that ``migrate`` alone leaves them in place (SPEC 11).

Existing tasks (``setup_schedules`` created them before this migration existed) are kept as administrators left
them. Reversing it removes nothing: the rows may have been edited since, and they are beat's, not this schema's.
"""

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
        ("core", "0002_appsetting_constraint_messages"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(install, migrations.RunPython.noop, elidable=False)]
