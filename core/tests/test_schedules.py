"""The default periodic tasks (core.schedules): ``migrate`` alone leaves them in place, ``setup_schedules`` repairs
what is missing, and neither touches a task an administrator edited (SPEC 11)."""

from io import StringIO

import pytest
from django.core.management import call_command
from django_celery_beat.models import IntervalSchedule, PeriodicTask, PeriodicTasks

from core.models import TaskHeartbeat
from core.schedules import EXPIRY_TASK, SCHEDULES


def installed() -> dict[str, tuple[str, int, bool]]:
    return {
        task.name: (task.task, task.interval.every, task.enabled)
        for task in PeriodicTask.objects.select_related("interval")
        if task.interval and task.interval.period == IntervalSchedule.SECONDS
    }


DEFAULTS = {name: (task, every, True) for name, (task, every) in SCHEDULES.items()}


@pytest.mark.django_db
def test_the_database_migrations_built_has_the_default_schedules():
    # The test database is built by `migrate`, nothing else: no setup_schedules has run here.
    assert installed() == DEFAULTS
    assert installed()["orders-expire-unclaimed-packages"] == ("orders.expire_unclaimed_packages", 60, True)


@pytest.mark.django_db
def test_the_database_migrations_built_watches_the_no_show_sweep():
    # Its created_at starts the grace period of /readyz (core.selectors.beat_status).
    heartbeat = TaskHeartbeat.objects.get(task=EXPIRY_TASK)
    assert heartbeat.last_run_at is None and heartbeat.created_at is not None


def migrate_core(target: str) -> None:
    call_command("migrate", "core", target, verbosity=0, interactive=False)


@pytest.mark.django_db(transaction=True)
def test_the_migration_creates_what_is_missing_and_keeps_what_an_administrator_edited():
    call_command("setup_schedules", stdout=StringIO())  # a transactional test before this one may have flushed
    relay = PeriodicTask.objects.get(name="notifications-outbox-relay")
    relay.interval = IntervalSchedule.objects.create(every=10, period=IntervalSchedule.MINUTES)
    relay.enabled = False
    relay.save()
    PeriodicTask.objects.filter(name="orders-expire-unclaimed-packages").delete()
    marker = PeriodicTasks.last_change()

    try:
        migrate_core("0002_appsetting_constraint_messages")  # backwards: removes nothing
        assert PeriodicTask.objects.filter(name="orders-send-pickup-reminders").exists()
    finally:
        call_command("migrate", "core", verbosity=0, interactive=False)  # 0003 and on, as a release runs it

    relay = PeriodicTask.objects.select_related("interval").get(name="notifications-outbox-relay")
    assert (relay.interval.every, relay.interval.period, relay.enabled) == (10, IntervalSchedule.MINUTES, False)
    assert installed()["orders-expire-unclaimed-packages"] == ("orders.expire_unclaimed_packages", 60, True)
    assert TaskHeartbeat.objects.filter(task=EXPIRY_TASK).exists()  # 0004 ran again: its table is back
    # A running beat reads the schedule again when this marker moves (PeriodicTask.save moves it; the migration's
    # historical model does not, so the migration moves it itself).
    assert PeriodicTasks.last_change() > marker


@pytest.mark.django_db
def test_setup_schedules_repairs_a_deleted_task_and_keeps_edited_ones():
    PeriodicTask.objects.filter(name="orders-send-pickup-reminders").delete()
    PeriodicTask.objects.filter(name="orders-refresh-trust-tiers").update(enabled=False)
    out = StringIO()
    call_command("setup_schedules", stdout=out)
    assert "created schedule orders-send-pickup-reminders: orders.send_pickup_reminders" in out.getvalue()
    assert "kept schedule orders-refresh-trust-tiers: orders.refresh_trust_tiers" in out.getvalue()
    assert installed()["orders-send-pickup-reminders"] == ("orders.send_pickup_reminders", 60, True)
    assert installed()["orders-refresh-trust-tiers"] == ("orders.refresh_trust_tiers", 300, False)
    count = PeriodicTask.objects.count()
    call_command("setup_schedules", stdout=StringIO())
    assert PeriodicTask.objects.count() == count


@pytest.mark.django_db
def test_setup_schedules_takes_an_interval_an_administrator_created_twice():
    # IntervalSchedule has no unique constraint: admin can hold two "every 60 seconds" rows. get_or_create on it
    # raised MultipleObjectsReturned, and the release step failed.
    IntervalSchedule.objects.create(every=60, period=IntervalSchedule.SECONDS)
    IntervalSchedule.objects.create(every=60, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.filter(name="orders-send-pickup-reminders").delete()
    call_command("setup_schedules", stdout=StringIO())
    assert installed()["orders-send-pickup-reminders"] == ("orders.send_pickup_reminders", 60, True)
