"""The Redis-outage drill as a test (issue 7.3; the full drill with gunicorn and a real Redis stop is
``bench/drills/redis_outage.py``).

The cache points at a port where nothing listens, and publishing a task fails the way kombu fails when
Redis refuses the connection. The counter must keep working: tokens, verification (its counters are in
the database), the package list (the request-rate throttle degrades open); nothing answers 500; the
customer's messages wait in the outbox and, once the broker is back, the relay sends each one once.
"""

import pytest
from django.core.cache import cache
from kombu.exceptions import OperationalError

from core.testing import wrong_code
from notifications import tasks
from notifications.models import DeliveryStatus, Message
from notifications.sending import outbox_relay
from orders import tasks as order_tasks
from orders.models import PackageStatus
from orders.tests.apiclient import bearer

DOWN_CACHE = {
    "default": {
        "BACKEND": "core.cache.RedisCache",  # what production uses
        "LOCATION": "redis://127.0.0.1:9/0",  # discard port: connection refused
        "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
    }
}


def _refuse(*args, **kwargs):
    raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


@pytest.mark.django_db
def test_the_counter_works_without_redis_and_nothing_is_lost(
    settings, employee, make_package, issued_code, outbox_dir, monkeypatch, django_capture_on_commit_callbacks
):
    cache.clear()  # no request-rate counts from earlier tests (apiclient's fixture would clear the dead cache)
    with django_capture_on_commit_callbacks(execute=True):
        package = make_package(PackageStatus.READY_FOR_CUSTOMER_PICKUP)
    code = issued_code(package)
    wrong = wrong_code(code)
    sent_before = {path.name for path in outbox_dir.rglob("*.json")}
    assert len(sent_before) == 3  # the ready message went out while everything was up

    # Redis goes down: the cache refuses connections, and so does the broker.
    settings.CACHES = DOWN_CACHE
    settings.CELERY_TASK_ALWAYS_EAGER = False
    from config.celery_app import app

    app.conf.task_always_eager = False
    monkeypatch.setattr(tasks.message_send, "delay", _refuse)
    monkeypatch.setattr(tasks.webhook_deliver, "delay", _refuse)
    monkeypatch.setattr(order_tasks.outbox_fan_out, "delay", _refuse)  # a delivery's one publish

    client = bearer(employee)  # the token endpoint's throttle degrades open too
    with django_capture_on_commit_callbacks(execute=True):
        refused = client.post(f"/api/packages/{package.pk}/verify-otp/", {"otp": wrong})
        listed = client.get("/api/packages/")
        delivered = client.post(f"/api/packages/{package.pk}/verify-otp/", {"otp": code})
    ready = client.get("/readyz")

    assert refused.status_code == 400 and refused.json()["details"]["attemptsRemaining"] == 4
    assert listed.status_code == 200 and listed.json()["count"] == 1
    assert delivered.status_code == 200, delivered.content
    assert delivered.json()["data"]["package"]["status"] == PackageStatus.DELIVERED
    assert ready.status_code == 503 and ready.json()["checks"]["cache"] == "unavailable"
    waiting = Message.objects.filter(package=package, event="picked_up")
    assert sorted(waiting.values_list("status", flat=True)) == [DeliveryStatus.PENDING] * 3

    # Redis is back: the relay (beat, every minute) sends what waited; a second run finds nothing.
    monkeypatch.undo()
    settings.CELERY_TASK_ALWAYS_EAGER = True
    app.conf.task_always_eager = True
    first = outbox_relay(after_seconds=0, inline=True)
    second = outbox_relay(after_seconds=0, inline=True)

    assert (first.messages, second.messages) == (3, 0)
    assert sorted(waiting.values_list("status", flat=True)) == [DeliveryStatus.SENT] * 3
    assert all(attempts == 1 for attempts in waiting.values_list("attempts", flat=True))
    new_files = {path.name for path in outbox_dir.rglob("*.json")} - sent_before
    assert len(new_files) == 3  # one file per message: each sent once
