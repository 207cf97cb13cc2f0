"""The Procfile's worker and beat survive a Redis outage and carry on when it ends (SPEC 11, config/celery_redis.py).

Each test starts the Procfile's own command line (read from the file, flags untouched) against a private
``redis-server`` on a free port, stops Redis, starts it again (empty, as after a lost broker) and looks at what the
process did. The database is a SQLite file migrated once for the module (the worker and beat are other processes, so
the in-memory test database will not do); the Celery settings are base.py's, the ones production uses.

Sending goes through ``bench.drills.recording_backend``, which logs every hand-over, so a duplicate would show. An SMS
takes 8 s, so Redis stops while its task runs unacknowledged (late ack) and the worker's task channel waits on
``BRPOP`` for a free pool process: the state in which kombu's Redis transport made the worker exit with
``AttributeError: 'NoneType' object has no attribute 'hostname'`` (3 runs of 3 without config/celery_redis.py). The
2-minute outage and a PostgreSQL restart are drills (``bench/drills/procfile_outage.py``).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
REDIS_SERVER = shutil.which("redis-server")
pytestmark = pytest.mark.skipif(
    REDIS_SERVER is None, reason="needs redis-server installed: the test stops and starts a Redis of its own"
)
RECORDING_BACKEND = "bench.drills.recording_backend.RecordingBackend"

# Run in the worker's environment: a package made ready through the services, its message ids printed as JSON.
SEED_SCRIPT = """
import json, sys
import django
django.setup()
from django.contrib.auth import get_user_model
from notifications.models import Message
from orders import services
from orders.models import Customer, Order, Package, StaffMembership, StaffRole, Store

number, only_sms = int(sys.argv[1]), sys.argv[2] == "sms"
store, _ = Store.objects.get_or_create(code="OUT01", defaults={"name": "Outage Store", "timezone": "Europe/Istanbul"})
user, created = get_user_model().objects.get_or_create(username="outage")
if created:
    StaffMembership.objects.create(user=user, store=store, role=StaffRole.EMPLOYEE)
customer = Customer.objects.create(
    name=f"Customer {number}", phone=f"+90532{number:07d}", email="" if only_sms else f"c{number}@example.com",
    push_token="" if only_sms else f"push-{number}", language="en",
)
order = Order.objects.create(order_number=f"OUTAGE{number:05d}", customer=customer, store=store)
package = Package.objects.create(order=order, store=store)
services.package_complete_packaging(package=package, actor=user, channel="api")
services.package_mark_ready(package=package, actor=user, channel="api")
print(json.dumps({str(m.pk): m.channel for m in Message.objects.filter(package=package)}))
"""


def procfile_command(process: str) -> list[str]:
    """The Procfile's line for ``process`` as an argument list, its program taken from this interpreter's env."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == process:
            argv = shlex.split(command)
            argv[0] = str(Path(sys.executable).parent / argv[0])
            return argv
    raise LookupError(f"no {process!r} line in the Procfile")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_for(condition, timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return bool(condition())


class PrivateRedis:
    """A ``redis-server`` of this test's own, without persistence: stopped, it comes back empty."""

    def __init__(self, workdir: Path):
        self.port, self.workdir, self.process = free_port(), workdir, None

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            cwd=self.workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert wait_for(lambda: port_open(self.port), timeout=10), "redis-server did not start"

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None
        assert wait_for(lambda: not port_open(self.port), timeout=10)

    def llen(self, db: int, key: str) -> int:
        import redis

        return redis.Redis.from_url(self.url(db), socket_timeout=2).llen(key)


class Process:
    """A Procfile process in its own session, logging to a file."""

    def __init__(self, argv: list[str], env: dict[str, str], log_path: Path):
        self.log_path = log_path
        self._log = open(log_path, "wb")  # closed in stop()
        self.process = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def alive(self) -> bool:
        return self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.alive():
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self._log.close()


@pytest.fixture(scope="module")
def outage_setup(tmp_path_factory):
    """A migrated SQLite file and a running private Redis, for the processes this module starts."""
    workdir = tmp_path_factory.mktemp("celery-outage")
    redis_server = PrivateRedis(workdir)
    redis_server.start()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_", "REDIS_", "CELERY_", "NOTIFY_", "LOG_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        DATABASE_URL=f"sqlite:///{workdir / 'db.sqlite3'}",
        PYTHONPATH=str(ROOT),
        LOG_FORMAT="plain",
    )
    migrated = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env={**env, "REDIS_URL": redis_server.url(0)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert migrated.returncode == 0, migrated.stderr
    yield workdir, redis_server, env
    redis_server.stop()


def _sent_rows(database: Path, ids: list[str]) -> int:
    with sqlite3.connect(database, timeout=20) as connection:
        marks = ",".join("?" * len(ids))
        query = (
            f"SELECT COUNT(*) FROM notifications_message WHERE status = 'sent' AND replace(id, '-', '') IN ({marks})"
        )
        return connection.execute(query, [i.replace("-", "") for i in ids]).fetchone()[0]


def _log_entries(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_the_procfile_worker_outlives_a_redis_outage_with_a_task_unacknowledged_and_sends_each_message_once(
    outage_setup,
):
    workdir, redis_server, base_env = outage_setup
    send_log = workdir / "sends.jsonl"
    env = {
        **base_env,
        "REDIS_URL": redis_server.url(0),
        "NOTIFY_SMS_BACKEND": RECORDING_BACKEND,
        "NOTIFY_EMAIL_BACKEND": RECORDING_BACKEND,
        "NOTIFY_PUSH_BACKEND": RECORDING_BACKEND,
        "DRILL_SEND_LOG": str(send_log),
        "DRILL_SEND_DELAY": "8",
        "DRILL_SLOW_CHANNELS": "sms",
    }

    def seed(number: int, channels: str) -> dict[str, str]:
        result = subprocess.run(
            [sys.executable, "-c", SEED_SCRIPT, str(number), channels],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout.strip().splitlines()[-1])

    def events(event: str) -> list[str]:
        return [entry["id"] for entry in _log_entries(send_log) if entry["event"] == event]

    worker = Process(procfile_command("worker"), env, workdir / "worker.log")
    try:
        # One SMS only (a customer with no e-mail or push): its task runs unacknowledged while the worker waits on
        # BRPOP for more, having a free pool process (the Procfile's default concurrency is the number of CPUs).
        before = seed(1, "sms")
        assert wait_for(lambda: set(before) <= set(events("started")), timeout=30), worker.log()
        time.sleep(1)

        redis_server.stop()
        alive_during = []
        for _ in range(10):
            time.sleep(1)
            alive_during.append(worker.alive())
        redis_server.start()

        # Back: the worker reconnects by itself and sends what is queued now.
        after = seed(2, "all")
        assert wait_for(lambda: set(after) <= set(events("delivered")), timeout=40), worker.log()
        everything = [*before, *after]
        assert wait_for(lambda: _sent_rows(workdir / "db.sqlite3", everything) == len(everything), timeout=20)
        time.sleep(1)  # a duplicate, if any, would arrive now
        alive_after = worker.alive()
    finally:
        worker.stop()

    log = worker.log()
    assert alive_during == [True] * 10, log
    assert alive_after, log
    assert "Unrecoverable error" not in log
    delivered = events("delivered")
    # The SMS went out during the outage (its ack could not), and once only; every other message once.
    assert sorted(delivered) == sorted(everything), f"delivered {delivered}"


def test_the_procfile_beat_outlives_a_redis_outage_and_sends_after_it(outage_setup):
    workdir, redis_server, base_env = outage_setup
    env = {**base_env, "REDIS_URL": redis_server.url(1)}
    # A periodic task due every second, so that beat sends during the whole test (its queue is read, not consumed).
    schedule = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup()\n"
            "from django_celery_beat.models import IntervalSchedule, PeriodicTask\n"
            "every, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)\n"
            "PeriodicTask.objects.update_or_create(name='outage-test', defaults={"
            "'task': 'notifications.outbox_relay', 'interval': every, 'enabled': True})\n",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert schedule.returncode == 0, schedule.stderr

    beat = Process(procfile_command("beat"), env, workdir / "beat.log")
    try:
        assert wait_for(lambda: redis_server.llen(1, "celery") >= 2, timeout=30), beat.log()
        redis_server.stop()
        alive_during = []
        for _ in range(6):
            time.sleep(1)
            alive_during.append(beat.alive())
        redis_server.start()  # empty
        sends_after = wait_for(lambda: redis_server.llen(1, "celery") >= 3, timeout=30)
        alive_after = beat.alive()
    finally:
        beat.stop()

    log = beat.log()
    assert alive_during == [True] * 6, log
    assert alive_after and sends_after, log
