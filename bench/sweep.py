#!/usr/bin/env python
"""Benchmark of the no-show sweep (SPEC 6): N expired packages, one sweep, packages/s and memory.

    createdb -h 127.0.0.1 -U postgres bench_sweep
    .venv/bin/python bench/sweep.py --database bench_sweep --packages 100000
    .venv/bin/python bench/sweep.py --database bench_sweep --packages 10000 --tracemalloc

It (re)creates the schema of the named PostgreSQL database, empties the product's tables there
(only in a database whose name starts with "bench"), inserts N ready packages whose readyExpiresAt
has passed (one order each, a live pickup code each, one customer per ``--per-customer`` packages,
one webhook endpoint) with a few INSERT ... SELECT statements, then runs
``orders.services.packages_expire_unclaimed`` and checks that every package was expired exactly once.

Memory: the resident set size before and after the sweep (``resource.getrusage``), and with
``--tracemalloc`` the peak of Python allocations during the sweep (slower: the rate printed then is
not the one to record). Flat memory means these stay the same whatever N is; run 10,000 and 100,000.

Broker: the sweep publishes its fan-out tasks (one per batch) to ``--broker`` as in production; the
queue is purged afterwards, so no worker sends anything. ``--processes 2`` runs two sweeps at once
(they share the work through SKIP LOCKED). CPU per package is printed for the sweep process(es) and
for their PostgreSQL backends, which tells what an idle machine would do when others share it.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="bench_sweep", help="PostgreSQL database name (must start with bench)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--user", default="postgres")
    parser.add_argument("--packages", type=int, default=100_000)
    parser.add_argument("--per-customer", type=int, default=2, help="packages per customer (default 2)")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument(
        "--broker", default="redis://127.0.0.1:6379/6", help="Celery broker (Redis) for the fan-out tasks; purged after"
    )
    parser.add_argument("--processes", type=int, default=1, help="sweeps to run in parallel (default 1)")
    parser.add_argument("--tracemalloc", action="store_true", help="trace Python allocations (slower)")
    return parser.parse_args()


def configure(args: argparse.Namespace) -> None:
    if not args.database.startswith("bench"):
        sys.exit("refusing: the database name must start with 'bench' (its tables are emptied)")
    os.environ["DATABASE_URL"] = f"postgres://{args.user}@{args.host}:5432/{args.database}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.base"
    os.environ["DEBUG"] = "false"  # no query log growing with N
    os.environ.pop("REDIS_URL", None)
    os.environ["CELERY_BROKER_URL"] = args.broker
    import django

    django.setup()


TABLES = [
    "notifications_webhookattempt",
    "notifications_webhookdelivery",
    "notifications_webhookendpoint",
    "notifications_message",
    "orders_noshowstrike",
    "orders_auditrecord",
    "otp_pickupcode",
    "orders_packageitem",
    "orders_package",
    "orders_order",
    "orders_customer",
]


def seed(*, packages: int, per_customer: int) -> None:
    """Insert ``packages`` expired ready packages with SQL (seconds for 100,000)."""
    from django.db import connection, transaction

    from notifications.models import WebhookEndpoint
    from orders.models import Store

    customers = max(1, packages // per_customer)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(TABLES)} CASCADE")
        store, _created = Store.objects.get_or_create(code="BENCH", defaults={"name": "Bench store"})
        WebhookEndpoint.objects.create(url="https://oms.example.com/hooks", secret="whsec_YmVuY2g=")
        cursor.execute(
            """
            INSERT INTO orders_customer (id, name, name_folded, phone, email, push_token, language, trust_tier,
                                         restricted_until, created_at, updated_at)
            SELECT gen_random_uuid(), 'Bench Customer ' || g, 'bench customer ' || g, '+90532' || lpad(g::text, 7, '0'),
                   'bench' || g || '@example.com', 'push-' || g, 'en', 'good', NULL, now(), now()
            FROM generate_series(1, %(customers)s) AS g
            """,
            {"customers": customers},
        )
        cursor.execute(
            """
            WITH numbered AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM orders_customer)
            INSERT INTO orders_order (id, order_number, customer_id, store_id, delivery_type, status,
                                      intake_fingerprint, created_at, updated_at)
            SELECT gen_random_uuid(), 'BENCH-' || g, numbered.id, %(store)s, 'in_store', 'ready', '',
                   now() - interval '4 days', now() - interval '4 days'
            FROM generate_series(0, %(packages)s - 1) AS g
            JOIN numbered ON numbered.n = g %% %(customers)s
            """,
            {"packages": packages, "customers": customers, "store": store.pk},
        )
        cursor.execute(
            """
            INSERT INTO orders_package (id, order_id, store_id, status, ready_at, ready_expires_at,
                                        reminder_sent_at, delivered_at, cancelled_at, cancellation_reason,
                                        created_at, updated_at)
            SELECT gen_random_uuid(), o.id, o.store_id, 'ready_for_customer_pickup',
                   now() - interval '73 hours' - (random() * interval '1 hour'),
                   now() - interval '1 hour' - (random() * interval '1 hour'),
                   now() - interval '25 hours', NULL, NULL, '', o.created_at, o.created_at
            FROM orders_order o
            """
        )
        cursor.execute(
            """
            INSERT INTO otp_pickupcode (package_id, code_hash, created_at, expires_at, attempts, max_attempts,
                                        used_at, invalidated_at, invalidated_reason)
            SELECT p.id, md5(p.id::text) || md5(p.id::text), p.ready_at, p.ready_at + interval '10 minutes',
                   0, 5, NULL, NULL, ''
            FROM orders_package p
            """
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def backend_cpu_seconds() -> float:
    """CPU time used so far by this process's PostgreSQL backend (same machine: read from /proc)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sweep_once(batch_size: int, trace: bool) -> dict:
    """Run one sweep in this process; what it did and what it cost."""
    from orders import services

    backend_before = backend_cpu_seconds()
    cpu_before = time.process_time()
    if trace:
        tracemalloc.start()
    expired = services.packages_expire_unclaimed(batch_size=batch_size)
    traced_peak = tracemalloc.get_traced_memory()[1] / 2**20 if trace else None
    if trace:
        tracemalloc.stop()
    return {
        "expired": expired,
        "cpu": time.process_time() - cpu_before,
        "backend_cpu": backend_cpu_seconds() - backend_before,
        "rss": rss_mib(),
        "traced_peak": traced_peak,
    }


def _child(batch_size: int, trace: bool, results) -> None:
    from django.db import connections

    connections.close_all()  # never share the parent's connection
    results.put(sweep_once(batch_size, trace))
    connections.close_all()


def main() -> None:
    args = parse_args()
    configure(args)
    import multiprocessing

    from django.core.management import call_command
    from django.db import connection, connections
    from django.db.models import Count

    from notifications.models import Message, WebhookDelivery
    from orders.models import NoShowStrike, Package, PackageStatus

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    seed(packages=args.packages, per_customer=args.per_customer)
    print(f"seeded {args.packages} expired packages in {time.perf_counter() - started:.1f} s")
    connection.close()

    rss_before = rss_mib()
    started = time.perf_counter()
    if args.processes == 1:
        runs = [sweep_once(args.batch_size, args.tracemalloc)]
    else:
        connections.close_all()
        context = multiprocessing.get_context("fork")
        results = context.Queue()
        children = [
            context.Process(target=_child, args=(args.batch_size, args.tracemalloc, results))
            for _ in range(args.processes)
        ]
        for child in children:
            child.start()
        runs = [results.get() for _ in children]
        for child in children:
            child.join()
    elapsed = time.perf_counter() - started
    expired = sum(run["expired"] for run in runs)

    # Exactly once: every package cancelled, one strike and three messages each.
    assert expired == args.packages, (expired, args.packages)
    assert not Package.objects.filter(status=PackageStatus.READY_FOR_CUSTOMER_PICKUP).exists()
    assert NoShowStrike.objects.count() == args.packages
    per_package = (
        Message.objects.order_by().values("package").annotate(n=Count("id")).values_list("n", flat=True).distinct()
    )
    assert set(per_package) == {3}, set(per_package)
    deliveries = WebhookDelivery.objects.count()
    from config.celery_app import app

    purged = app.control.purge()

    cpu = sum(run["cpu"] for run in runs)
    backend_cpu = sum(run["backend_cpu"] for run in runs)
    print(
        f"database: PostgreSQL {connection.pg_version // 10000}, batch size {args.batch_size}, {args.processes} sweep(s)"
    )
    print(f"expired {expired} packages in {elapsed:.1f} s: {expired / elapsed:,.0f} packages/s")
    print(f"written: {NoShowStrike.objects.count()} strikes, {Message.objects.count()} messages, {deliveries} webhooks")
    print(f"published {purged} fan-out task(s) to {args.broker} (purged afterwards)")
    print(
        f"CPU per package: {cpu / expired * 1000:.2f} ms in the sweep process(es), "
        f"{backend_cpu / expired * 1000:.2f} ms in PostgreSQL; load average now {os.getloadavg()[0]:.1f}"
    )
    print(f"peak RSS: {rss_before:.0f} MiB before the sweep, {max(run['rss'] for run in runs):.0f} MiB in a sweep")
    if args.tracemalloc:
        print(f"tracemalloc peak during the sweep: {max(run['traced_peak'] for run in runs):.1f} MiB")


if __name__ == "__main__":
    main()
