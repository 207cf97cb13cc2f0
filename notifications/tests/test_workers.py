"""Sending through a real broker and a real Celery worker (SPEC 7, 11): no eager mode here.

The worker runs in a thread of this process (``celery.contrib.testing.worker``) and consumes from a real
broker: Redis when REDIS_URL is set, kombu's in-memory transport otherwise (only for the outage test).
The database is truly committed (``transactional_db``), since the worker reads it on its own connection.
"""

import json
import os
import re
import time
from pathlib import Path

import pytest
from celery import signals
from celery.contrib.testing.worker import start_worker
from django.db import connections
from kombu import pools as kombu_pools

from config.celery_app import app
from core.testing import requires_redis
from notifications import sending
from notifications.models import DeliveryStatus, Message
from orders import services
from orders.models import PackageStatus

CODE_RE = re.compile(r"\b[0-9]{6}\b")
UNREACHABLE_BROKER = "redis://127.0.0.1:1/3"  # nothing listens on port 1: connection refused


def _close_worker_connections(**kwargs):
    # The worker thread's own database connections, so the test database can be dropped afterwards.
    connections.close_all()


def _drop_broker_pools():
    """Forget pooled connections and producers, so the next publish uses the new broker URL."""
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None
    kombu_pools.reset()  # kombu's process-wide producer pools, keyed by broker address


@pytest.fixture
def broker(settings):
    """broker(url) points the Celery app at ``url`` (no eager mode); restored after the test."""
    from config.settings import base

    saved = {
        key: app.conf[key]
        for key in ("broker_url", "broker_transport_options", "task_always_eager", "worker_hijack_root_logger")
    }
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False
    app.conf.worker_hijack_root_logger = False  # keep pytest's log capture on the root logger

    def use(url):
        app.conf.broker_url = url
        # The production options (fail-fast publishing), without the filesystem transport's folders.
        app.conf.broker_transport_options = {"visibility_timeout": 3600, **base.PUBLISH_FAIL_FAST_OPTIONS}
        _drop_broker_pools()

    signals.task_postrun.connect(_close_worker_connections, weak=False)
    yield use
    signals.task_postrun.disconnect(_close_worker_connections)
    for key, value in saved.items():
        app.conf[key] = value
    _drop_broker_pools()


def _redis_url() -> str:
    return os.environ["REDIS_URL"]


def _purge(url):
    with app.connection_for_write(url) as conn:
        conn.default_channel.queue_purge(app.conf.task_default_queue)


def _wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def _files(outbox_dir: Path, channel: str) -> list[Path]:
    return sorted((outbox_dir / channel).glob("*.json"))


@requires_redis
def test_a_real_worker_on_redis_sends_the_sms_whose_code_verifies(
    transactional_db, broker, make_package, employee, outbox_dir, leak_watch
):
    broker(_redis_url())
    _purge(_redis_url())
    package = make_package(PackageStatus.PACKED_ALL_ITEMS)
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20):
        services.package_mark_ready(package=package, actor=employee, channel="web")
        assert _wait_for(lambda: len(_files(outbox_dir, "sms")) == 1 and len(_files(outbox_dir, "push")) == 1)
        assert _wait_for(lambda: len(_files(outbox_dir, "email")) == 1)

    sms = json.loads(_files(outbox_dir, "sms")[0].read_text())
    assert sms["event"] == "ready_for_pickup" and sms["packageId"] == str(package.pk)
    (code,) = CODE_RE.findall(sms["body"])
    assert set(Message.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT}
    assert not Message.objects.filter(secret_encrypted__isnull=False).exists()

    outcome = services.package_deliver(package=package, actor=employee, channel="api", otp_value=code)
    assert outcome.package.status == PackageStatus.DELIVERED
    leak_watch.assert_clean(code)


def test_broker_down_the_command_commits_and_the_relay_sends_exactly_once(
    transactional_db, broker, make_package, employee, outbox_dir, leak_watch, issued_code
):
    broker(UNREACHABLE_BROKER)
    package = make_package(PackageStatus.PACKED_ALL_ITEMS)

    started = time.monotonic()
    services.package_mark_ready(package=package, actor=employee, channel="web")
    assert time.monotonic() - started < 5, "publishing to a dead broker must not hold the command up"

    package.refresh_from_db()
    assert package.status == PackageStatus.READY_FOR_CUSTOMER_PICKUP
    messages = Message.objects.filter(package=package)
    assert messages.count() == 3
    assert set(messages.values_list("status", flat=True)) == {DeliveryStatus.PENDING}
    assert all(m.secret_encrypted for m in messages) and not _files(outbox_dir, "sms")
    assert any("could not queue message" in r.getMessage() for r in leak_watch.caplog.records)

    # The relay while the broker is still down: nothing is lost, nothing is sent.
    result = sending.outbox_relay(after_seconds=0)
    assert (result.messages, result.broker_down) == (0, True)
    assert set(messages.values_list("status", flat=True)) == {DeliveryStatus.PENDING}

    # The broker is back: the relay queues the rows, a worker sends each once. Running the relay
    # twice queues each row twice; the second task finds the row sent and does nothing.
    back = _redis_url() if os.environ.get("REDIS_URL") else "memory://"
    broker(back)
    if back != "memory://":
        _purge(back)
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20):
        assert sending.outbox_relay(after_seconds=0).messages == 3
        assert sending.outbox_relay(after_seconds=0).messages in (0, 1, 2, 3)
        assert _wait_for(lambda: all(len(_files(outbox_dir, c)) == 1 for c in ("sms", "email", "push")))
        time.sleep(1.5)  # let the duplicate tasks run: they must not send again

    assert [len(_files(outbox_dir, c)) for c in ("sms", "email", "push")] == [1, 1, 1]
    assert set(messages.values_list("status", flat=True)) == {DeliveryStatus.SENT}
    assert set(messages.values_list("attempts", flat=True)) == {1}
    sms = json.loads(_files(outbox_dir, "sms")[0].read_text())
    assert CODE_RE.findall(sms["body"]) == [issued_code(package)]
    leak_watch.assert_clean(issued_code(package))
