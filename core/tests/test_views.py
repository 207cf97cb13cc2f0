"""/healthz and /readyz as a load balancer or orchestrator probes them (docs/operations.md, Health checks).

Probes connect to the process's own address, so their Host header is not one of ALLOWED_HOSTS; and a
probe that takes a web process out of rotation reads only the status code.
"""

import logging
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from core import views
from core.models import TaskHeartbeat
from core.schedules import EXPIRY_TASK
from orders import tasks as order_tasks


def _down():
    raise ConnectionError("refused")


@pytest.fixture(autouse=True)
def beat_ran(db):
    """The default schedules are in place (a transactional test elsewhere may have flushed them) and the no-show
    sweep has just run, as in a system whose beat and workers work."""
    call_command("setup_schedules", stdout=StringIO())
    order_tasks.expire_unclaimed_packages()


@pytest.fixture
def production_hosts(settings):
    settings.ALLOWED_HOSTS = ["pickup.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_REDIRECT_EXEMPT = [r"^healthz/?$", r"^readyz/?$"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/healthz", "/healthz/", "/readyz", "/readyz/"])
def test_probes_answer_whatever_the_host_header(client, production_hosts, path):
    # Kubernetes sends Host: <pod IP>:<port>; before, CommonMiddleware answered 400 (DisallowedHost).
    response = client.get(path, HTTP_HOST="10.0.3.7:8000")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


@pytest.mark.django_db
def test_other_paths_still_check_the_host(client, production_hosts):
    assert client.get("/api/packages/", HTTP_HOST="10.0.3.7:8000").status_code == 400


@pytest.mark.django_db
def test_readyz_can_require_the_database_only(client, monkeypatch):
    # Redis is down: cache and broker fail. The counter still works, so a probe that removes web processes
    # from rotation must not see 503; alerting (plain /readyz) still does.
    monkeypatch.setattr(views, "CHECKS", (("database", views._check_database), ("cache", _down), ("broker", _down)))
    everything = client.get("/readyz")
    database_only = client.get("/readyz?require=database")
    assert everything.status_code == 503
    assert database_only.status_code == 200
    assert database_only.json()["checks"] == {"database": "ok", "cache": "unavailable", "broker": "unavailable"}


@pytest.mark.django_db
def test_readyz_require_database_answers_503_when_the_database_is_down(client, monkeypatch):
    monkeypatch.setattr(views, "CHECKS", (("database", _down), ("cache", views._check_cache)))
    response = client.get("/readyz?require=database")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "unavailable"


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["db", "database,redis", ","])
def test_readyz_refuses_an_unknown_part(client, value):
    response = client.get(f"/readyz?require={value}")
    assert response.status_code == 400
    assert "database, cache, broker" in response.json()["message"]


@pytest.mark.django_db
def test_a_failing_readyz_logs_one_warning_and_no_error(client, monkeypatch, caplog):
    monkeypatch.setattr(views, "CHECKS", (("database", views._check_database), ("cache", _down)))
    with caplog.at_level(logging.INFO):
        assert client.get("/readyz").status_code == 503
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == [
        "readiness check cache failed: ConnectionError"
    ]


@pytest.mark.parametrize("path", ["/healthz", "/readyz?require=database"])
def test_probes_answer_head_and_options_as_load_balancers_send_them(client, db, path):
    assert client.head(path).status_code == 200
    assert client.options(path).status_code == 200
    assert client.post(path).status_code == 405


# --- beat: has the no-show sweep run within 5 minutes? (SPEC 11) ---------------------------------------------


def readyz_after(delta: timedelta, path: str = "/readyz"):
    from django.test import Client

    with time_machine.travel(timezone.now() + delta, tick=False):
        return Client().get(path)


def beat_check(response) -> str:
    return response.json()["checks"]["beat"]


def test_readyz_reports_beat_stale_when_the_sweep_has_not_run_for_5_minutes(caplog):
    fresh = readyz_after(timedelta(minutes=4, seconds=55))
    with caplog.at_level(logging.WARNING):
        stale = readyz_after(timedelta(minutes=5, seconds=5))
    assert (fresh.status_code, beat_check(fresh)) == (200, "ok")
    assert (stale.status_code, stale.json()["status"], beat_check(stale)) == (503, "unavailable", "stale")
    assert {k: v for k, v in stale.json()["checks"].items() if k != "beat"} == {
        "database": "ok",
        "cache": "ok",
        "broker": "ok",
    }
    assert [r.getMessage() for r in caplog.records] == ["readiness check beat failed: stale"]


def test_a_run_of_the_sweep_makes_beat_fresh_again():
    with time_machine.travel(timezone.now() + timedelta(minutes=20), tick=False):
        order_tasks.expire_unclaimed_packages()
    assert beat_check(readyz_after(timedelta(minutes=23))) == "ok"
    assert beat_check(readyz_after(timedelta(minutes=26))) == "stale"


def test_the_cron_command_counts_as_a_run(db):
    with time_machine.travel(timezone.now() + timedelta(minutes=20), tick=False):
        call_command("expire_unclaimed_packages", stdout=StringIO())
        call_command("expire_unclaimed_packages", "--dry-run", stdout=StringIO())  # a dry run is not a run
    assert beat_check(readyz_after(timedelta(minutes=24))) == "ok"


def fresh_install(at):
    """The rows as `migrate` leaves them at ``at``: the sweep's heartbeat row without a run, the tasks never sent."""
    TaskHeartbeat.objects.update(last_run_at=None, created_at=at)
    PeriodicTask.objects.update(last_run_at=None, date_changed=at)  # update(): no auto_now


def test_a_fresh_install_has_5_minutes_of_grace_before_the_first_run():
    installed = timezone.now() + timedelta(days=1)
    fresh_install(installed)
    assert beat_check(readyz_after(timedelta(days=1, minutes=4))) == "ok"
    assert beat_check(readyz_after(timedelta(days=1, minutes=6))) == "stale"


def test_beat_has_sent_the_first_run_and_no_worker_has_finished_it_yet():
    # Beat writes last_run_at when it sends the task; the heartbeat comes when a worker has run it.
    installed = timezone.now() + timedelta(days=1)
    fresh_install(installed)
    PeriodicTask.objects.filter(task=EXPIRY_TASK).update(last_run_at=installed + timedelta(minutes=1))
    assert beat_check(readyz_after(timedelta(days=1, minutes=1, seconds=1))) == "ok"
    # No worker ever runs it: beat alone is not enough.
    assert beat_check(readyz_after(timedelta(days=1, minutes=6))) == "stale"


def test_a_task_enabled_again_has_grace_until_beat_sends_it():
    task = PeriodicTask.objects.get(task=EXPIRY_TASK)
    task.enabled = False
    task.save()  # django-celery-beat clears last_run_at
    disabled = readyz_after(timedelta(days=2))
    with time_machine.travel(timezone.now() + timedelta(days=3), tick=False):
        task.enabled = True
        task.save()
    assert (disabled.status_code, beat_check(disabled)) == (200, "disabled")
    assert beat_check(readyz_after(timedelta(days=3, minutes=2))) == "ok"
    assert beat_check(readyz_after(timedelta(days=3, minutes=6))) == "stale"


def test_a_missing_schedule_is_reported(caplog):
    PeriodicTask.objects.filter(task=EXPIRY_TASK).delete()
    response = readyz_after(timedelta(0))
    assert (response.status_code, beat_check(response)) == (503, "missing")


def test_a_longer_interval_an_administrator_chose_is_waited_for():
    every_10_minutes = IntervalSchedule.objects.create(every=10, period=IntervalSchedule.MINUTES)
    PeriodicTask.objects.filter(task=EXPIRY_TASK).update(interval=every_10_minutes)
    assert beat_check(readyz_after(timedelta(minutes=10, seconds=50))) == "ok"
    assert beat_check(readyz_after(timedelta(minutes=11, seconds=10))) == "stale"


def test_a_nightly_crontab_is_waited_for_until_its_next_run():
    nightly = CrontabSchedule.objects.create(minute="0", hour="3", timezone="UTC")
    PeriodicTask.objects.filter(task=EXPIRY_TASK).update(interval=None, crontab=nightly)
    last_run = timezone.now().replace(hour=3, minute=0, second=0, microsecond=0) + timedelta(days=1)
    with time_machine.travel(last_run, tick=False):
        order_tasks.expire_unclaimed_packages()
    assert beat_check(readyz_after(last_run - timezone.now() + timedelta(hours=23, minutes=59))) == "ok"
    assert beat_check(readyz_after(last_run - timezone.now() + timedelta(hours=24, minutes=2))) == "stale"


def test_a_stale_beat_does_not_take_a_web_process_out_of_rotation():
    response = readyz_after(timedelta(minutes=30), "/readyz?require=database")
    assert response.status_code == 200
    assert beat_check(response) == "stale"
    assert beat_check(readyz_after(timedelta(minutes=30), "/readyz?require=beat")) == "stale"
    assert readyz_after(timedelta(minutes=30), "/readyz?require=beat").status_code == 503
