"""Start-up shared by the failure drills in this folder (scripts, not tests, not part of the product).

A drill runs as a script from this folder with ``bench/`` put on ``sys.path`` first, so ``import _drill``
finds this module and this module finds ``_common``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import NoReturn

import _common as common
from recording_backend import read_log

RECORDING_BACKEND = "bench.drills.recording_backend.RecordingBackend"


class Report:
    """The drill's checks, printed as they are made; ``finish()`` says the verdict and exits 0 only if all held."""

    def __init__(self) -> None:
        self.failures: list[str] = []

    def check(self, label: str, ok: bool, detail: str = "") -> None:
        print(f"  [{'ok' if ok else 'FAIL'}] {label}{(': ' + detail) if detail else ''}")
        if not ok:
            self.failures.append(label)

    def finish(self) -> NoReturn:
        print("DRILL PASSED" if not self.failures else f"DRILL FAILED: {self.failures}")
        sys.exit(1 if self.failures else 0)


def make_workdir(prefix: str) -> Path:
    """A new temporary folder for the drill's servers, logs and files; its path is printed."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    print(f"workdir: {workdir}")
    return workdir


def recording_setup(*, database: str, redis_url: str, send_log: Path, **extra: str) -> dict[str, str]:
    """Production settings on the ``drill*`` database ``database`` of the shared PostgreSQL (created if missing,
    migrated and emptied), every channel sent through the recording backend into ``send_log``, Django set up
    in this process. Returns the environment for the servers and workers the drill starts."""
    common.ensure_database(database)
    env = common.production_env(
        database_url=f"postgres://postgres@127.0.0.1:5432/{database}",
        redis_url=redis_url,
        NOTIFY_SMS_BACKEND=RECORDING_BACKEND,
        NOTIFY_EMAIL_BACKEND=RECORDING_BACKEND,
        NOTIFY_PUSH_BACKEND=RECORDING_BACKEND,
        DRILL_SEND_LOG=str(send_log),
        LOG_LEVEL="INFO",
        **extra,
    )
    common.django_setup(env)
    common.migrate_and_empty(database)
    return env


def delivered_counts(send_log: Path) -> dict[str, int]:
    """Completed hand-overs per message id, as the recording backend logged them."""
    counts: dict[str, int] = {}
    for entry in read_log(send_log):
        if entry["event"] == "delivered":
            counts[entry["id"]] = counts.get(entry["id"], 0) + 1
    return counts


def ready_package(number: int, *, sms_only: bool = False) -> list[str]:
    """A package made ready through the services for a new customer (SMS only: no e-mail, no push token);
    returns its message ids. Its sends are queued on commit, or stay pending when the broker is down."""
    from django.contrib.auth import get_user_model

    from notifications.models import Message
    from orders import services
    from orders.models import Customer, Order, Package, StaffMembership, StaffRole, Store

    store, _ = Store.objects.get_or_create(
        code="DRL01", defaults={"name": "Drill Store", "timezone": "Europe/Istanbul"}
    )
    user, created = get_user_model().objects.get_or_create(username="drill")
    if created:
        StaffMembership.objects.create(user=user, store=store, role=StaffRole.EMPLOYEE)
    customer = Customer.objects.create(
        name=f"Customer {number}",
        phone=f"+90533{number:07d}",
        email="" if sms_only else f"drill{number}@example.com",
        push_token="" if sms_only else f"push-drill-{number}",
        language="en",
    )
    order = Order.objects.create(order_number=f"DRILL{number:07d}", customer=customer, store=store)
    package = Package.objects.create(order=order, store=store)
    services.package_complete_packaging(package=package, actor=user, channel="api")
    services.package_mark_ready(package=package, actor=user, channel="api")
    return [str(pk) for pk in Message.objects.filter(package=package).values_list("pk", flat=True)]


def started_ids(send_log: Path) -> list[str]:
    return [entry["id"] for entry in read_log(send_log) if entry["event"] == "started"]
