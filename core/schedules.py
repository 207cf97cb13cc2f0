"""The periodic tasks that beat runs (SPEC 6, 7): name -> (task, every N seconds).

One definition, written into django-celery-beat's tables by ``schedules_install``: core migration 0003 calls it, so
``migrate`` alone leaves the schedules in place, and ``manage.py setup_schedules`` calls it again as a repair (it
creates what is missing). After that the schedules are administrators' to edit in Django admin: a task that exists
under its name is never touched again, whatever its interval or enabled flag. A schedule added here later needs a
migration that calls ``schedules_install`` again, for the databases migrated before it.
"""

from django.utils import timezone

# The no-show sweep (SPEC 6).
EXPIRY_TASK = "orders.expire_unclaimed_packages"

SCHEDULES: dict[str, tuple[str, int]] = {}

# Customer messages and webhook deliveries still pending after NOTIFY_RELAY_AFTER_SECONDS (SPEC 7).
SCHEDULES["notifications-outbox-relay"] = ("notifications.outbox_relay", 60)

# No-shows (SPEC 6): expire unclaimed packages, send pickup reminders, end restrictions (orders.tasks).
SCHEDULES["orders-expire-unclaimed-packages"] = (EXPIRY_TASK, 60)
SCHEDULES["orders-send-pickup-reminders"] = ("orders.send_pickup_reminders", 60)
SCHEDULES["orders-refresh-trust-tiers"] = ("orders.refresh_trust_tiers", 300)

# Idempotency-Key answers older than 24 hours (SPEC 14; core.idempotency).
SCHEDULES["core-purge-idempotency-records"] = ("core.idempotency_records_purge", 3600)


def schedules_install(*, periodic_task, interval_schedule, periodic_tasks) -> list[tuple[str, bool]]:
    """Create each task of SCHEDULES that has no row of its name yet; return ``(name, created)`` per task.

    Takes django-celery-beat's models (``PeriodicTask``, ``IntervalSchedule``, ``PeriodicTasks``) so that a
    migration can pass its historical ones. An existing task is kept as an administrator left it (interval, enabled
    flag, arguments). A new task reuses an interval row of the same length where one exists (there may be several:
    django-celery-beat does not make them unique). When something was created, beat's change marker is moved, as
    ``PeriodicTask.save`` does, so that a running beat reads the new rows.
    """
    results = []
    for name, (task, every) in SCHEDULES.items():
        if periodic_task.objects.filter(name=name).exists():
            results.append((name, False))
            continue
        interval = interval_schedule.objects.filter(every=every, period="seconds").order_by("pk").first()
        if interval is None:
            interval = interval_schedule.objects.create(every=every, period="seconds")
        _task, created = periodic_task.objects.get_or_create(name=name, defaults={"task": task, "interval": interval})
        results.append((name, created))
    if any(created for _name, created in results):
        periodic_tasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})
    return results
