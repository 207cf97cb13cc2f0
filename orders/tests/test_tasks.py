"""The Celery tasks of the orders app (``orders.tasks``) and their beat schedule: the no-show sweep, reminders and
the trust tiers' refresh."""

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from orders import services, tasks
from orders.models import NoShowStrike, Package, PackageStatus, TrustTier
from orders.tests.no_shows import after_deadline, reminders

READY = PackageStatus.READY_FOR_CUSTOMER_PICKUP


@pytest.mark.django_db
def test_beat_task_runs_the_sweep(make_package):
    package = make_package(READY)
    with after_deadline(package):
        tasks.expire_unclaimed_packages.delay()
    package.refresh_from_db()
    assert package.status == PackageStatus.CANCELLED


@pytest.mark.django_db
def test_beat_task_with_a_backlog_queues_a_helper_sweep(make_package, monkeypatch):
    packages = [make_package(READY) for _ in range(5)]
    queued = []
    original = tasks.expire_unclaimed_packages.apply_async

    def record(*args, **kwargs):
        queued.append(kwargs.get("kwargs"))
        return original(*args, **kwargs)

    monkeypatch.setattr(tasks.expire_unclaimed_packages, "apply_async", record)
    with after_deadline(packages[-1]):
        tasks.expire_unclaimed_packages.delay(batch_size=2)
        tasks.expire_unclaimed_packages.delay(batch_size=2)  # no backlog left: no helper
    helper_runs = [kwargs for kwargs in queued if kwargs and kwargs.get("helpers") == 0]
    assert helper_runs == [{"helpers": 0, "batch_size": 2}]
    assert Package.objects.filter(status=PackageStatus.CANCELLED).count() == 5
    assert NoShowStrike.objects.count() == 5


@pytest.mark.django_db
def test_setup_schedules_registers_the_no_show_tasks_every_minute():
    call_command("setup_schedules", stdout=StringIO())
    schedules = {t.task: t.interval.every for t in PeriodicTask.objects.select_related("interval")}
    assert schedules["orders.expire_unclaimed_packages"] == 60
    assert schedules["orders.send_pickup_reminders"] == 60
    assert "orders.refresh_trust_tiers" in schedules
    # An interval an administrator edited is kept on the next run.
    task = PeriodicTask.objects.get(task="orders.expire_unclaimed_packages")
    task.interval.every = 120
    task.interval.save()
    call_command("setup_schedules", stdout=StringIO())
    assert PeriodicTask.objects.get(task="orders.expire_unclaimed_packages").interval.every == 120


@pytest.mark.django_db
def test_reminder_task_and_batches(make_package):
    packages = [make_package(READY) for _ in range(5)]
    with time_machine.travel(packages[-1].ready_expires_at - timedelta(hours=2), tick=False):
        assert services.packages_send_reminders(batch_size=2) == 5
        tasks.send_pickup_reminders.delay()
    assert reminders().count() == 15
    assert all(reminders(p).count() == 3 for p in packages)


DAY = timedelta(days=1)


@pytest.mark.django_db
def test_refresh_task_on_beat(no_show, customer):
    t0 = timezone.now()
    for day in range(3):
        no_show(t0 + day * DAY)
    with time_machine.travel(customer.restricted_until + timedelta(minutes=1), tick=False):
        tasks.refresh_trust_tiers.delay()
    customer.refresh_from_db()
    assert customer.trust_tier == TrustTier.WATCH
