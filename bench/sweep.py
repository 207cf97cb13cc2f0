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

Broker: with ``--broker`` (a Redis URL) the sweep publishes one Celery task per message and webhook
delivery, as in production, and the queues are purged afterwards; without it publishing is counted
but not done, which measures the sweep itself.
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
    parser.add_argument("--broker", default="", help="Redis URL to publish the send tasks to (purged afterwards)")
    parser.add_argument("--tracemalloc", action="store_true", help="trace Python allocations (slower)")
    return parser.parse_args()


def configure(args: argparse.Namespace) -> None:
    if not args.database.startswith("bench"):
        sys.exit("refusing: the database name must start with 'bench' (its tables are emptied)")
    os.environ["DATABASE_URL"] = f"postgres://{args.user}@{args.host}:5432/{args.database}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.base"
    os.environ["DEBUG"] = "false"  # no query log growing with N
    os.environ.pop("REDIS_URL", None)
    if args.broker:
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
            INSERT INTO orders_customer (id, name, phone, email, push_token, language, trust_tier,
                                         restricted_until, created_at, updated_at)
            SELECT gen_random_uuid(), 'Bench Customer ' || g, '+90532' || lpad(g::text, 7, '0'),
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


def main() -> None:
    args = parse_args()
    configure(args)
    from django.db import connection
    from django.db.models import Count

    import notifications.services as outbox
    from notifications.models import Message, WebhookDelivery
    from orders import services
    from orders.models import NoShowStrike, Package, PackageStatus

    published = {"messages": 0, "webhooks": 0}
    if not args.broker:
        outbox.message_enqueue = lambda message_id: published.__setitem__("messages", published["messages"] + 1)
        outbox.webhook_enqueue = lambda delivery_id: published.__setitem__("webhooks", published["webhooks"] + 1)

    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    seed(packages=args.packages, per_customer=args.per_customer)
    print(f"seeded {args.packages} expired packages in {time.perf_counter() - started:.1f} s")
    connection.close()

    rss_before = rss_mib()
    if args.tracemalloc:
        tracemalloc.start()
    started = time.perf_counter()
    expired = services.packages_expire_unclaimed(batch_size=args.batch_size)
    elapsed = time.perf_counter() - started
    traced_peak = tracemalloc.get_traced_memory()[1] / 2**20 if args.tracemalloc else None
    if args.tracemalloc:
        tracemalloc.stop()
    rss_after = rss_mib()

    # Exactly once: every package cancelled, one strike and three messages each.
    assert expired == args.packages, (expired, args.packages)
    assert not Package.objects.filter(status=PackageStatus.READY_FOR_CUSTOMER_PICKUP).exists()
    assert NoShowStrike.objects.count() == args.packages
    per_package = (
        Message.objects.order_by().values("package").annotate(n=Count("id")).values_list("n", flat=True).distinct()
    )
    assert set(per_package) == {3}, set(per_package)
    deliveries = WebhookDelivery.objects.count()
    if args.broker:
        from config.celery_app import app

        purged = app.control.purge()
        print(f"published to {args.broker}; purged {purged} queued task(s)")
    else:
        print(
            f"publishing counted, not done: {published['messages']} message and {published['webhooks']} webhook tasks"
        )

    print(f"database: PostgreSQL {connection.pg_version // 10000}, batch size {args.batch_size}")
    print(f"expired {expired} packages in {elapsed:.1f} s: {expired / elapsed:,.0f} packages/s")
    print(f"written: {NoShowStrike.objects.count()} strikes, {Message.objects.count()} messages, {deliveries} webhooks")
    print(f"peak RSS: {rss_before:.0f} MiB before the sweep, {rss_after:.0f} MiB after")
    if traced_peak is not None:
        print(f"tracemalloc peak during the sweep: {traced_peak:.1f} MiB")


if __name__ == "__main__":
    main()
