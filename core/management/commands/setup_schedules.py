from django.core.management.base import BaseCommand
from django_celery_beat.models import IntervalSchedule, PeriodicTask, PeriodicTasks

from core.schedules import SCHEDULES, schedules_install


class Command(BaseCommand):
    help = (
        "Create the periodic tasks of core.schedules that are missing (migrate already creates them; "
        "existing ones are kept as edited)."
    )

    def handle(self, *args, **options):
        results = schedules_install(
            periodic_task=PeriodicTask,
            interval_schedule=IntervalSchedule,
            periodic_tasks=PeriodicTasks,
        )
        for name, created in results:
            self.stdout.write(f"{'created' if created else 'kept'} schedule {name}: {SCHEDULES[name][0]}")
