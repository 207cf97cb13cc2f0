from django.core.management.base import BaseCommand
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from core.schedules import SCHEDULES


class Command(BaseCommand):
    help = "Create the periodic tasks of core.schedules in django-celery-beat (existing ones are kept as edited)."

    def handle(self, *args, **options):
        for name, (task, every) in SCHEDULES.items():
            interval, _ = IntervalSchedule.objects.get_or_create(every=every, period=IntervalSchedule.SECONDS)
            _task, created = PeriodicTask.objects.get_or_create(
                name=name, defaults={"task": task, "interval": interval}
            )
            self.stdout.write(f"{'created' if created else 'kept'} schedule {name}: {task}")
