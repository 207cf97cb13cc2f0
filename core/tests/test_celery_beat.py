"""Beat's scheduler keeps its periodic tasks through a database outage (SPEC 11, config/celery_beat.py)."""

import datetime
from unittest import mock

import pytest
from django.conf import settings
from django.db import OperationalError
from django_celery_beat import schedulers
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from config.celery_app import app
from config.celery_beat import DatabaseScheduler


def _periodic_task(name: str) -> PeriodicTask:
    every, _ = IntervalSchedule.objects.get_or_create(every=60, period=IntervalSchedule.SECONDS)
    return PeriodicTask.objects.create(name=name, task="notifications.outbox_relay", interval=every)


@pytest.fixture(autouse=True)
def _keep_the_test_connection(monkeypatch):
    # The scheduler calls close_old_connections() on each tick, which closes a connection whose autocommit differs
    # from its settings': inside a test's transaction (PostgreSQL) that would close the test's own connection.
    monkeypatch.setattr(schedulers, "close_old_connections", lambda: None)


def test_beat_runs_this_scheduler():
    assert settings.CELERY_BEAT_SCHEDULER == "config.celery_beat:DatabaseScheduler"


@pytest.mark.django_db
def test_a_full_read_during_a_database_outage_keeps_the_tasks_and_is_tried_again_on_the_next_tick(caplog):
    _periodic_task("relay-a")
    scheduler = DatabaseScheduler(app=app)
    assert "relay-a" in scheduler.schedule
    # Five minutes on, beat reads the whole schedule again, and the database is down.
    scheduler._last_full_sync = datetime.datetime.now() - datetime.timedelta(minutes=6)
    down = OperationalError("connection to server at 127.0.0.1, port 5432 failed: Connection refused")
    with mock.patch.object(schedulers.DatabaseScheduler, "enabled_models", side_effect=down):
        during = scheduler.schedule
        again = scheduler.schedule  # the next tick tries at once, and fails the same way
    assert "relay-a" in during and "relay-a" in again
    warnings = [r.getMessage() for r in caplog.records if r.name == "config.celery_beat"]
    assert len(warnings) == 2 and "database is unavailable (OperationalError)" in warnings[0]

    # The database is back: the next tick reads it, edits made meanwhile included.
    _periodic_task("relay-b")
    after = scheduler.schedule
    assert {"relay-a", "relay-b"} <= set(after)


@pytest.mark.django_db
def test_beat_starting_while_the_database_is_down_reads_the_schedule_once_it_is_back():
    _periodic_task("relay-a")
    down = OperationalError("connection refused")
    with mock.patch.object(schedulers.DatabaseScheduler, "enabled_models", side_effect=down):
        scheduler = DatabaseScheduler(app=app)
        assert "relay-a" not in scheduler.schedule
    assert "relay-a" in scheduler.schedule
