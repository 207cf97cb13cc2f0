#!/usr/bin/env python
"""Every page and endpoint at a year's volume: times, SQL statements and sequential scans per page.

    .venv/bin/python bench/scale_pages.py                      # 500,000 packages, ~300 stores; drops the database
    .venv/bin/python bench/scale_pages.py --packages 100000 --keep
    .venv/bin/python bench/scale_pages.py --reuse --keep       # measure again on the rows a --keep run left

It creates (if missing) the PostgreSQL database ``--database`` (``bench_scale``; the name must start with
"bench": its tables are emptied), migrates it under production settings (``bench/_common.production_env``:
DEBUG off, the cache and throttles in Redis ``--redis-url``, db 9 by default) and fills it straight into the
tables with ``INSERT ... SELECT`` from ``generate_series`` (no model instances, no services): for N packages
about N/1.1 orders, 0.6 N customers, 3 N audit records, 1.2 N pickup codes, 1.2 N messages, 0.6 N webhook
deliveries, a year of creation times, the statuses a year of business leaves (most delivered, some cancelled
as no-shows with their strikes, the last days' packages waiting, packed or ready), 4 staff per store, and the
stores' sizes skewed (the largest store has about 2 % of the packages). The fill runs in one PostgreSQL
backend without parallel workers; foreign-key triggers are off during it (the rows are consistent by
construction) and the secondary indexes of the big tables are built once after it. Then VACUUM ANALYZE, as
autovacuum would have left a year-old database.

Then it requests every page in this process through Django's test client (no network, no gunicorn), each
``--repeat`` times after one warm-up, and prints per page the median and the slowest time, the number of SQL
statements, and the big tables (over ``--big-rows`` rows) that the plan of one of its statements reads with a
sequential scan (``EXPLAIN`` of each captured statement with its real parameters). Pages: the staff package
list (first page, a name search, an order-number scan, a status filter, a late page), a package page, the API
list (first page, filters, searches, a late page, as an employee, a manager of 20 stores and a superuser),
a package and a verification (right code) through the API, the admin changelists of packages, orders,
customers, audit records, messages, webhook deliveries, pickup codes, items, strikes and stores with a
search and a filter where support uses them, their change pages, and the no-show sweep on one batch of 500.

Columns: the median and slowest wall time, the median CPU time of this process (Python: the view, the ORM,
the templates), the time spent inside the SQL statements of one more request, and how many statements it ran.
The machine is shared: wall times move with other load, CPU times and statement counts hardly.
``--json FILE`` writes the figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common

BATCH = 500  # the sweep's batch size (orders.tasks passes the default)
VERIFY_CODE = "246810"

# Names as intake stores them; the folded copies (Customer.name_folded) are computed here with search_fold.
FIRST_NAMES = [
    "Ayşe", "Fatma", "Emine", "Hatice", "Zeynep", "Elif", "Merve", "Büşra", "Şeyma", "İrem", "Özge", "Gül",
    "Mehmet", "Mustafa", "Ahmet", "Ali", "Hüseyin", "Hasan", "İbrahim", "İsmail", "Osman", "Yusuf", "Murat",
    "Ömer", "Emre", "Burak", "Çağlar", "Barış", "Can", "Deniz", "Ece", "Selin", "Kerem", "Onur", "Tuğba",
]  # fmt: skip
LAST_NAMES = [
    "Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Yıldız", "Yıldırım", "Öztürk", "Aydın", "Özdemir", "Arslan",
    "Doğan", "Kılıç", "Aslan", "Çetin", "Kara", "Koç", "Kurt", "Özkan", "Şimşek", "Polat", "Korkmaz", "Erdoğan",
    "Güneş", "Aksoy", "Tekin", "Bulut", "Ünal", "Acar", "Işık", "Karaca", "Uçar", "Bozkurt", "Sarı", "Çakır",
    "Ateş", "Turan", "Kaplan", "Avcı", "Taş", "Keskin", "Eren", "Gök", "Uysal", "Tuncer", "Güler", "Bayram",
]  # fmt: skip
CITIES = ["İstanbul", "Ankara", "İzmir", "Bursa", "Antalya", "Adana", "Konya", "Gaziantep", "Kayseri", "Eskişehir"]

# Tables the fill writes, in the order it writes them, and the big ones whose secondary indexes it rebuilds.
FILLED = [
    "orders_store",
    "auth_user",
    "orders_staffmembership",
    "orders_customer",
    "orders_order",
    "orders_package",
    "orders_packageitem",
    "otp_pickupcode",
    "orders_auditrecord",
    "notifications_message",
    "notifications_webhookendpoint",
    "notifications_webhookdelivery",
    "orders_noshowstrike",
]
BIG = FILLED[3:]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="bench_scale", help="PostgreSQL database (name starts with bench)")
    parser.add_argument("--packages", type=int, default=500_000, help="packages to fill (default 500,000)")
    parser.add_argument("--stores", type=int, default=300)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/9", help="cache, throttles and broker")
    parser.add_argument("--repeat", type=int, default=5, help="timed requests per page after one warm-up")
    parser.add_argument("--big-rows", type=int, default=20_000, help="a table with more rows is a big table")
    parser.add_argument("--reuse", action="store_true", help="measure the rows left by a --keep run (no fill)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards (default: drop it)")
    parser.add_argument("--only", default="", help="measure only pages whose name contains this text")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    return parser.parse_args()


# --- the fill ------------------------------------------------------------------------------------------------------


def _sql_array(values: list[str]) -> str:
    return "ARRAY[" + ", ".join("'" + value.replace("'", "''") + "'" for value in values) + "]"


def fill(*, packages: int, stores: int) -> dict[str, int]:
    """Fill the emptied tables with a year of history for ``packages`` packages; returns row counts."""
    from django.db import connection

    from core.text import search_fold

    orders = round(packages / 1.1)  # one order in ten has a second package
    customers = max(1, round(packages * 0.6))
    firsts, lasts = _sql_array(FIRST_NAMES), _sql_array(LAST_NAMES)
    firsts_folded = _sql_array([search_fold(name) for name in FIRST_NAMES])
    lasts_folded = _sql_array([search_fold(name) for name in LAST_NAMES])
    params = {"stores": stores, "orders": orders, "customers": customers}
    steps: list[tuple[str, str]] = [
        (
            "stores",
            f"""
            INSERT INTO orders_store (id, code, name, timezone, is_active)
            SELECT md5('store' || k)::uuid, 'S' || lpad(k::text, 3, '0'),
                   ({_sql_array(CITIES)})[1 + k %% {len(CITIES)}] || ' ' || k, 'Europe/Istanbul', true
            FROM generate_series(0, %(stores)s - 1) AS k
            """,
        ),
        (
            "staff",
            """
            INSERT INTO auth_user (id, password, is_superuser, username, first_name, last_name, email, is_staff,
                                   is_active, date_joined)
            SELECT 1000 + k * 4 + j, '!', false, 'staff-' || k || '-' || j, '', '', '', false, true,
                   now() - interval '400 days'
            FROM generate_series(0, %(stores)s - 1) AS k, generate_series(0, 3) AS j;
            SELECT setval(pg_get_serial_sequence('auth_user', 'id'), 1000 + %(stores)s * 4);
            INSERT INTO orders_staffmembership (role, created_at, user_id, store_id)
            SELECT CASE WHEN j = 0 THEN 'manager' ELSE 'employee' END, now() - interval '400 days',
                   1000 + k * 4 + j, md5('store' || k)::uuid
            FROM generate_series(0, %(stores)s - 1) AS k, generate_series(0, 3) AS j
            """,
        ),
        (
            "customers",
            f"""
            INSERT INTO orders_customer (id, name, name_folded, phone, email, push_token, language, trust_tier,
                                         restricted_until, created_at, updated_at)
            SELECT md5('customer' || g)::uuid,
                   ({firsts})[1 + g %% {len(FIRST_NAMES)}] || ' ' || ({lasts})[1 + (g / 7) %% {len(LAST_NAMES)}],
                   ({firsts_folded})[1 + g %% {len(FIRST_NAMES)}] || ' '
                       || ({lasts_folded})[1 + (g / 7) %% {len(LAST_NAMES)}],
                   '+90' || (530 + g %% 30) || lpad(g::text, 7, '0'), 'customer' || g || '@example.com',
                   CASE WHEN g %% 3 = 0 THEN 'push-' || md5(g::text) ELSE '' END,
                   CASE WHEN g %% 10 = 0 THEN 'en' ELSE 'tr' END, 'good', NULL,
                   now() - interval '400 days' + g * interval '365 days' / %(customers)s,
                   now() - interval '400 days' + g * interval '365 days' / %(customers)s
            FROM generate_series(0, %(customers)s - 1) AS g
            """,
        ),
        (
            # The order's status decides its packages' (orders.services.order_status_from): older orders are
            # picked up or cancelled, the last days' still processing or ready. Stores skewed by a power law.
            "orders",
            """
            INSERT INTO orders_order (id, order_number, delivery_type, status, intake_fingerprint, created_at,
                                      updated_at, customer_id, store_id)
            SELECT md5('order' || g)::uuid, 'CC' || lpad((10000000 + g)::text, 10, '0'), 'in_store',
                   CASE
                       WHEN age < 1 THEN (ARRAY['processing', 'processing', 'ready', 'ready', 'picked_up'])[1 + g %% 5]
                       WHEN age < 3 THEN (ARRAY['ready', 'ready', 'picked_up', 'picked_up', 'picked_up',
                                                'picked_up', 'picked_up', 'picked_up', 'picked_up',
                                                'cancelled'])[1 + g %% 10]
                       WHEN g %% 100 < 91 THEN 'picked_up'
                       ELSE 'cancelled'
                   END,
                   md5('fingerprint' || g), created, created + interval '1 day',
                   md5('customer' || ((g::bigint * 7919) %% %(customers)s))::uuid,
                   md5('store' || floor(%(stores)s * power(random(), 1.6))::int)::uuid
            FROM (
                SELECT g, now() - interval '365 days' + g * interval '365 days' / %(orders)s
                                                      + random() * interval '10 minutes' AS created,
                       365.0 * (%(orders)s - g) / %(orders)s AS age
                FROM generate_series(0, %(orders)s - 1) AS g
            ) AS numbered
            """,
        ),
        (
            # No-show cancellations (two in three cancelled orders) keep `no_show` as their reason.
            "packages",
            """
            INSERT INTO orders_package (id, status, ready_at, ready_expires_at, reminder_sent_at, delivered_at,
                                        cancelled_at, cancellation_reason, created_at, updated_at, order_id,
                                        store_id)
            SELECT md5('package' || o.id || n)::uuid, pstatus,
                   CASE WHEN pstatus IN ('ready_for_customer_pickup', 'delivered') OR reason = 'no_show'
                        THEN o.created_at + interval '3 hours' END,
                   CASE WHEN pstatus = 'ready_for_customer_pickup' THEN o.created_at + interval '75 hours' END,
                   CASE WHEN reason = 'no_show' THEN o.created_at + interval '51 hours' END,
                   CASE WHEN pstatus = 'delivered' THEN o.created_at + interval '27 hours' END,
                   CASE WHEN pstatus = 'cancelled' THEN o.created_at + interval '76 hours' END,
                   reason, o.created_at, o.updated_at, o.id, o.store_id
            FROM (
                SELECT o.id, o.created_at, o.updated_at, o.store_id, n,
                       CASE o.status
                           WHEN 'processing' THEN CASE WHEN n = 1 THEN 'waiting' ELSE 'packed_all_items' END
                           WHEN 'ready' THEN 'ready_for_customer_pickup'
                           WHEN 'picked_up' THEN 'delivered'
                           ELSE 'cancelled'
                       END AS pstatus,
                       CASE WHEN o.status = 'cancelled' THEN
                           CASE WHEN hashtext(o.order_number) %% 3 = 0 THEN 'Customer asked' ELSE 'no_show' END
                       ELSE '' END AS reason
                FROM orders_order o
                CROSS JOIN LATERAL generate_series(1, CASE WHEN hashtext(o.order_number) %% 10 = 0 THEN 2 ELSE 1 END) n
            ) AS o
            """,
        ),
        (
            "items",
            """
            INSERT INTO orders_packageitem (sku, name, quantity, package_id)
            SELECT 'SKU-' || (abs(hashtext(p.id::text)) %% 90000 + 10000), 'Item ' || (abs(hashtext(p.id::text)) %% 500),
                   1 + abs(hashtext(p.id::text)) %% 3, p.id
            FROM orders_package p
            """,
        ),
        (
            # One code per package that became ready (used, expired-and-current, or invalidated by the no-show)
            # and, for one package in five, an earlier one replaced by a resend.
            "pickup codes",
            """
            INSERT INTO otp_pickupcode (code_hash, created_at, expires_at, attempts, max_attempts, used_at,
                                        invalidated_at, invalidated_reason, package_id)
            SELECT md5(p.id::text) || md5(p.id::text || 'x'), p.ready_at - interval '1 hour',
                   p.ready_at - interval '50 minutes', 0, 5, NULL, p.ready_at, 'replaced', p.id
            FROM orders_package p
            WHERE p.ready_at IS NOT NULL AND hashtext(p.id::text) %% 5 = 0;
            INSERT INTO otp_pickupcode (code_hash, created_at, expires_at, attempts, max_attempts, used_at,
                                        invalidated_at, invalidated_reason, package_id)
            SELECT md5(p.id::text) || md5(p.id::text || 'y'), p.ready_at, p.ready_at + interval '10 minutes',
                   CASE WHEN hashtext(p.id::text) %% 7 = 0 THEN 1 ELSE 0 END, 5, p.delivered_at,
                   p.cancelled_at, CASE WHEN p.cancelled_at IS NOT NULL THEN 'no_show' ELSE '' END, p.id
            FROM orders_package p
            WHERE p.ready_at IS NOT NULL
            """,
        ),
        (
            # Packed, ready (code issued), then the verification and the delivery; a no-show's cancellation by
            # the system; staff of the package's store act (employee 1-3 or the manager, user 1000 + 4k + j).
            "audit records",
            """
            INSERT INTO orders_auditrecord (created_at, kind, outcome, error_code, command, from_status, to_status,
                                            manual, channel, reason, actor_id, package_id, store_id)
            SELECT p.created_at + step.after, step.kind, step.outcome, step.error_code, step.command,
                   step.from_status, step.to_status, false,
                   CASE WHEN step.system THEN 'system' WHEN hashtext(p.id::text) %% 4 = 0 THEN 'api' ELSE 'web' END,
                   CASE WHEN step.system THEN 'no_show' ELSE '' END,
                   CASE WHEN step.system THEN NULL ELSE s.base + abs(hashtext(p.id::text || step.n)) %% 4 END,
                   p.id, p.store_id
            FROM orders_package p
            JOIN (SELECT md5('store' || k)::uuid AS id, 1000 + k * 4 AS base
                  FROM generate_series(0, %(stores)s - 1) AS k) AS s ON s.id = p.store_id
            CROSS JOIN LATERAL (VALUES
                (1, interval '1 hour', 'transition', 'success', '', 'COMPLETE_PACKAGING_WITHOUT_SHIPMENT',
                 'waiting', 'packed_all_items', false),
                (2, interval '3 hours', 'transition', 'success', '', 'READY_FOR_PICKUP',
                 'packed_all_items', 'ready_for_customer_pickup', false),
                (3, interval '27 hours', 'verification', 'success', '', '', '', '', false),
                (4, interval '27 hours', 'verification', 'failure', 'otp_invalid', '', '', '', false),
                (5, interval '76 hours', 'transition', 'success', '', 'CANCEL_PACKAGE',
                 'ready_for_customer_pickup', 'cancelled', true)
            ) AS step(n, after, kind, outcome, error_code, command, from_status, to_status, system)
            WHERE CASE step.n
                WHEN 1 THEN p.status <> 'waiting'
                WHEN 2 THEN p.ready_at IS NOT NULL
                WHEN 3 THEN p.status = 'delivered'
                WHEN 4 THEN p.status = 'delivered' AND hashtext(p.id::text) %% 9 = 0
                ELSE p.cancellation_reason = 'no_show'
            END
            """,
        ),
        (
            # The ready SMS of every package that became ready, a reminder e-mail for one in five.
            "messages",
            """
            INSERT INTO notifications_message (id, channel, recipient, event, language, subject, body, context,
                                               secret_encrypted, status, attempts, last_error, provider_message_id,
                                               created_at, sent_at, customer_id, package_id, pickup_code_id)
            SELECT md5('message' || p.id || m.n)::uuid, m.channel,
                   CASE m.channel WHEN 'sms' THEN c.phone ELSE c.email END, m.event, c.language, '',
                   'Siparişiniz ' || o.order_number || ' teslim almaya hazır. Kod: ****** (10 dk). Mağaza: '
                       || o.store_id, '{}'::jsonb, NULL, 'sent', 1, '', 'prov-' || md5(p.id::text || m.n),
                   p.ready_at + m.after, p.ready_at + m.after + interval '2 seconds', c.id, p.id, NULL
            FROM orders_package p
            JOIN orders_order o ON o.id = p.order_id
            JOIN orders_customer c ON c.id = o.customer_id
            CROSS JOIN LATERAL (VALUES (1, 'sms', 'ready_for_pickup', interval '0 hours'),
                                       (2, 'email', 'pickup_reminder', interval '24 hours')) AS m(n, channel, event, after)
            WHERE p.ready_at IS NOT NULL AND (m.n = 1 OR hashtext(p.id::text) %% 5 = 1)
            """,
        ),
        (
            "webhook deliveries",
            """
            INSERT INTO notifications_webhookendpoint (url, secret, event_types, is_active, description, created_at)
            VALUES ('https://oms.example.com/hooks/click-collect', 'whsec_YmVuY2gtc2NhbGUtc2VjcmV0LTAxMjM0NTY3',
                    '[]', true, 'Order system', now() - interval '400 days'),
                   ('https://bi.example.com/ingest', 'whsec_YmVuY2gtc2NhbGUtc2VjcmV0LTk4NzY1NDMy',
                    '["PackageDeliveredEvent"]', true, 'Reporting', now() - interval '400 days');
            INSERT INTO notifications_webhookdelivery (id, webhook_id, event_type, payload, secret_encrypted, status,
                                                       attempts, last_response_status, last_error, created_at,
                                                       delivered_at, package_id, endpoint_id, pickup_code_id)
            SELECT md5('delivery' || p.id)::uuid, 'msg_' || md5('delivery' || p.id),
                   'PackageStatusChangedEvent',
                   jsonb_build_object('type', 'PackageStatusChangedEvent', 'timestamp', p.updated_at,
                                      'data', jsonb_build_object('packageId', p.id, 'orderId', p.order_id,
                                                                 'status', p.status, 'previousStatus',
                                                                 'ready_for_customer_pickup')),
                   NULL, 'sent', 1, 200, '', p.updated_at, p.updated_at + interval '1 second', p.id,
                   (SELECT min(id) FROM notifications_webhookendpoint), NULL
            FROM orders_package p
            WHERE abs(hashtext(p.id::text || 'w')) %% 5 < 3
            """,
        ),
        (
            "no-show strikes",
            """
            INSERT INTO orders_noshowstrike (created_at, forgiven_at, forgiven_reason, customer_id, forgiven_by_id,
                                             package_id)
            SELECT p.cancelled_at, NULL, '', o.customer_id, NULL, p.id
            FROM orders_package p JOIN orders_order o ON o.id = p.order_id
            WHERE p.cancellation_reason = 'no_show'
            """,
        ),
    ]
    with connection.cursor() as cursor:
        # One backend, no parallel workers (a shared machine); no FK triggers (consistent by construction).
        cursor.execute("SET max_parallel_workers_per_gather = 0")
        cursor.execute("SET max_parallel_maintenance_workers = 0")
        cursor.execute("SET synchronous_commit = off")
        cursor.execute("SET maintenance_work_mem = '256MB'")
        cursor.execute("SET work_mem = '64MB'")
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = ANY(%s) "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)",
            [BIG],
        )
        secondary = cursor.fetchall()
        for name, _definition in secondary:
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute("SET session_replication_role = replica")
        try:
            for label, sql in steps:
                started = time.perf_counter()
                for statement in (sql % params).split(";\n"):
                    if statement.strip():
                        cursor.execute(statement)
                print(f"  {label:<20} {time.perf_counter() - started:6.1f} s", flush=True)
        finally:
            # Also after a failed step: the schema must stay whole for the next run.
            cursor.execute("SET session_replication_role = DEFAULT")
            started = time.perf_counter()
            for _name, definition in secondary:
                cursor.execute(definition)
            print(f"  {'secondary indexes':<20} {time.perf_counter() - started:6.1f} s", flush=True)
        started = time.perf_counter()
        for table in FILLED:
            cursor.execute(f'VACUUM ANALYZE "{table}"')
        print(f"  {'vacuum analyze':<20} {time.perf_counter() - started:6.1f} s", flush=True)
        counts = {}
        for table in FILLED:
            cursor.execute(f'SELECT count(*) FROM "{table}"')
            counts[table] = cursor.fetchone()[0]
    return counts


# --- the people and rows the pages are asked for -------------------------------------------------------------------


class Fixture:
    """Users, ids and search terms picked from the filled rows."""

    def __init__(self) -> None:
        from django.contrib.auth import get_user_model
        from django.db.models import Count, Exists, OuterRef

        from notifications.models import WebhookDelivery
        from orders.models import Package, PackageStatus, StaffMembership, StaffRole, Store

        User = get_user_model()
        sizes = Package.objects.values("store_id").annotate(n=Count("pk")).order_by("-n")
        biggest = sizes[0]
        self.store = Store.objects.get(pk=biggest["store_id"])
        self.store_packages = biggest["n"]
        staff = StaffMembership.objects.filter(store=self.store, user__username__startswith="staff-")
        self.manager = staff.get(role=StaffRole.MANAGER).user
        self.employee = staff.filter(role=StaffRole.EMPLOYEE).order_by("user_id").first().user
        for user in (self.manager, self.employee):
            user.set_password(_common.PASSWORD)
            user.save(update_fields=["password"])
        # A regional manager: manager of the 20 largest stores.
        self.regional, _created = User.objects.get_or_create(username="bench-regional")
        self.regional.set_password(_common.PASSWORD)
        self.regional.save()
        for row in sizes[:20]:
            StaffMembership.objects.get_or_create(
                user=self.regional, store_id=row["store_id"], defaults={"role": StaffRole.MANAGER}
            )
        self.admin, _created = User.objects.get_or_create(
            username="bench-admin", defaults={"is_superuser": True, "is_staff": True}
        )
        self.admin.set_password(_common.PASSWORD)
        self.admin.save()
        # A delivered package of an order with no other package (the scanner's exact match opens it), with a webhook.
        store_packages = Package.objects.filter(store=self.store).annotate(siblings=Count("order__packages"))
        self.package = (
            store_packages.filter(status=PackageStatus.DELIVERED, siblings=1)
            .filter(Exists(WebhookDelivery.objects.filter(package=OuterRef("pk"))))
            .order_by("-created_at")[500]
        )
        self.order = self.package.order
        self.customer = self.order.customer
        self.order_number = self.order.order_number
        # A customer of this store (the package's), searched by part of the surname and by phone digits.
        self.surname = self.customer.name.split()[-1]
        self.phone_digits = self.customer.phone[-7:]
        self.late_page = max(1, self.store_packages // 50 - 2)
        self.webhook_id = WebhookDelivery.objects.filter(package=self.package).values_list("webhook_id", flat=True)[0]

    def verify_packages(self, count: int) -> list:
        """``count`` new packages of the store made ready through the services, each with a live code whose value
        the bench knows (its hash replaced: the issued code is only in the encrypted outbox)."""
        from datetime import timedelta

        from django.utils import timezone

        from orders import services
        from orders.models import Order, Package, PackageItem
        from otp.models import PickupCode
        from otp.services import code_hash

        stamp = time.strftime("%Y%m%d%H%M%S")
        ready = []
        for index in range(count):
            order = Order.objects.create(
                order_number=f"VERIFY-{stamp}-{index}", customer=self.customer, store=self.store
            )
            package = Package.objects.create(order=order, store=self.store)
            PackageItem.objects.create(package=package, sku="SKU-1", name="Sneakers", quantity=1)
            services.package_complete_packaging(package=package, actor=self.employee, channel="api")
            services.package_mark_ready(package=package, actor=self.employee, channel="api")
            now = timezone.now()
            PickupCode.objects.current().filter(package=package).update(
                code_hash=code_hash(package_id=package.pk, code=VERIFY_CODE), expires_at=now + timedelta(hours=1)
            )
            ready.append(package)
        return ready


def make_due_for_sweep(count: int) -> int:
    """``count`` ready packages, of stores of every size, whose deadline has just passed (one sweep batch). A
    database measured before (``--reuse``) may lack ready ones: delivered packages are made ready again for it."""
    from datetime import timedelta

    from django.utils import timezone

    from orders.models import Package, PackageStatus

    now = timezone.now()
    ready = Package.objects.filter(status=PackageStatus.READY_FOR_CUSTOMER_PICKUP, ready_expires_at__gt=now)
    ids = list(ready.order_by("?").values_list("pk", flat=True)[:count])
    if len(ids) < count:
        ids += list(
            Package.objects.filter(status=PackageStatus.DELIVERED)
            .order_by("?")
            .values_list("pk", flat=True)[: count - len(ids)]
        )
    return Package.objects.filter(pk__in=ids).update(
        status=PackageStatus.READY_FOR_CUSTOMER_PICKUP, delivered_at=None, ready_expires_at=now - timedelta(minutes=1)
    )


# --- measuring -------------------------------------------------------------------------------------------------------


class Measure:
    def __init__(self, *, repeat: int, big_rows: int, only: str) -> None:
        from django.db import connection

        self.repeat, self.only = repeat, only
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT relname, reltuples::bigint FROM pg_class WHERE relkind = 'r' AND relnamespace = "
                "'public'::regnamespace AND reltuples >= %s",
                [big_rows],
            )
            self.big = dict(cursor.fetchall())
        self.rows: list[dict] = []

    def page(self, name: str, call, *, check=None, repeat: int | None = None) -> None:
        """Run ``call`` once to warm up and ``repeat`` times timed; one more time capturing its statements."""
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        if self.only and self.only not in name:
            return
        repeat = self.repeat if repeat is None else repeat
        result = call()
        if check is not None:
            check(result)
        times, cpu = [], []
        for _ in range(repeat):
            started, cpu_started = time.perf_counter(), time.process_time()
            call()
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - cpu_started) * 1000)
        with CaptureQueriesContext(connection) as captured:
            call()
        self.record(name, times, cpu, captured.captured_queries)

    def once(self, name: str, call) -> None:
        """A call that cannot run twice (it changes what it reads): timed once, its statements captured."""
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        if self.only and self.only not in name:
            return
        with CaptureQueriesContext(connection) as captured:
            started, cpu_started = time.perf_counter(), time.process_time()
            call()
            elapsed = (time.perf_counter() - started) * 1000
            cpu = (time.process_time() - cpu_started) * 1000
        self.record(name, [elapsed], [cpu], captured.captured_queries)

    def record(self, name: str, times: list[float], cpu: list[float], queries: list[dict]) -> None:
        control = ("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT")
        queries = [query for query in queries if not query["sql"].startswith(control)]
        scans, slowest = self.sequential_scans([query["sql"] for query in queries])
        row = {
            "page": name,
            "median_ms": round(statistics.median(times), 1),
            "max_ms": round(max(times), 1),
            "python_cpu_ms": round(statistics.median(cpu), 1),
            # Wall time inside the statements of the captured run: the database's share.
            "sql_ms": round(sum(float(query["time"]) for query in queries) * 1000, 1),
            "queries": len(queries),
            "seq_scans": scans,
            "costliest_statement": slowest,
        }
        self.rows.append(row)
        flag = "  SEQ: " + ", ".join(scans) if scans else ""
        print(
            f"{name:<52} {row['median_ms']:>9.1f} {row['max_ms']:>9.1f} {row['python_cpu_ms']:>8.1f} "
            f"{row['sql_ms']:>8.1f} {row['queries']:>5}{flag}",
            flush=True,
        )

    def sequential_scans(self, statements: list[str]) -> tuple[list[str], str]:
        """Big tables read by a Seq Scan in the plans of ``statements``, and the statement with the highest cost."""
        from django.db import DatabaseError, connection, transaction

        found: dict[str, int] = {}
        costliest, top = "", 0.0
        for sql in statements:
            if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            try:
                with transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute("EXPLAIN (FORMAT JSON) " + sql)
                    plan = cursor.fetchone()[0]
            except DatabaseError as error:  # named, not fatal
                print(f"    (no plan: {type(error).__name__}: {sql[:80]})")
                continue
            if isinstance(plan, str):
                plan = json.loads(plan)
            root = plan[0]["Plan"]
            if root["Total Cost"] > top:
                top, costliest = root["Total Cost"], sql[:300]
            for node in _nodes(root):
                relation = node.get("Relation Name")
                if "Seq Scan" in node["Node Type"] and relation in self.big:
                    found[relation] = max(found.get(relation, 0), int(self.big[relation]))
        return [f"{table} ({rows:,})" for table, rows in sorted(found.items())], costliest


def _nodes(node: dict):
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)


def ok(status: int = 200):
    def check(response) -> None:
        if response.status_code != status:
            raise SystemExit(f"{response.request['PATH_INFO']}: {response.status_code} {response.content[:300]!r}")

    return check


def run_pages(measure: Measure, fixture: Fixture) -> None:
    from django.test import Client

    from orders import services

    def browser(user):
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        return client

    def bearer(user):
        client = Client(HTTP_HOST="127.0.0.1")
        response = client.post(
            "/api/auth/token/",
            {"username": user.username, "password": _common.PASSWORD},
            content_type="application/json",
        )
        ok()(response)
        return Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")

    staff, admin = browser(fixture.manager), browser(fixture.admin)
    employee_api, regional_api, admin_api = bearer(fixture.employee), bearer(fixture.regional), bearer(fixture.admin)
    code = fixture.store.code
    package, order, customer = fixture.package, fixture.order, fixture.customer

    print(
        f"\nstore {code}: {fixture.store_packages:,} packages; package {package.pk} of order {fixture.order_number}; "
        f"search '{fixture.surname}', phone digits {fixture.phone_digits}\n"
    )
    print(f"{'page':<52} {'median ms':>9} {'max ms':>9} {'CPU ms':>8} {'SQL ms':>8} {'SQL':>5}")

    page = measure.page
    get = lambda client, url, **kw: lambda: client.get(url, **kw)  # noqa: E731
    page("staff list, first page", get(staff, f"/packages/?store={code}"), check=ok())
    page("staff list, name search", get(staff, f"/packages/?store={code}&q={fixture.surname}"), check=ok())
    page("staff list, phone digits", get(staff, f"/packages/?store={code}&q={fixture.phone_digits}"), check=ok())
    page("staff list, order number scanned", get(staff, f"/packages/?q={fixture.order_number}"), check=ok(302))
    page(
        "staff list, status ready", get(staff, f"/packages/?store={code}&status=ready_for_customer_pickup"), check=ok()
    )
    page("staff list, late page", get(staff, f"/packages/?store={code}&page={fixture.late_page}"), check=ok())
    page("staff package page", get(staff, f"/packages/{package.pk}/"), check=ok())

    page("API list, employee", get(employee_api, "/api/packages/"), check=ok())
    page("API list, employee, status", get(employee_api, "/api/packages/?status=delivered"), check=ok())
    page(
        "API list, employee, store + status",
        get(employee_api, f"/api/packages/?store={code}&status=ready_for_customer_pickup"),
        check=ok(),
    )
    page("API list, employee, name search", get(employee_api, f"/api/packages/?search={fixture.surname}"), check=ok())
    page(
        "API list, employee, order number",
        get(employee_api, f"/api/packages/?search={fixture.order_number}"),
        check=ok(),
    )
    page("API list, employee, late page", get(employee_api, f"/api/packages/?page={fixture.late_page}"), check=ok())
    page("API list, 20-store manager", get(regional_api, "/api/packages/"), check=ok())
    page("API list, 20-store manager, status", get(regional_api, "/api/packages/?status=cancelled"), check=ok())
    page("API list, superuser", get(admin_api, "/api/packages/"), check=ok())
    page("API list, superuser, name search", get(admin_api, f"/api/packages/?search={fixture.surname}"), check=ok())
    page("API package", get(employee_api, f"/api/packages/{package.pk}/"), check=ok())
    page("API order", get(employee_api, f"/api/orders/{order.pk}/"), check=ok())

    ready = iter(fixture.verify_packages(measure.repeat + 2))

    def verify():
        target = next(ready)
        return employee_api.post(
            f"/api/packages/{target.pk}/verify-otp/", {"otp": VERIFY_CODE}, content_type="application/json"
        )

    page("API verify (right code)", verify, check=ok())

    changelists = [
        ("packages", "orders/package", [f"q={fixture.order_number}", f"q={fixture.surname}", f"store__id__exact={fixture.store.pk}", "status__exact=cancelled"]),
        ("orders", "orders/order", [f"q={fixture.order_number}", "status__exact=ready"]),
        ("customers", "orders/customer", [f"q={fixture.phone_digits}", f"q={fixture.surname}", "trust_tier__exact=watch"]),
        ("audit records", "orders/auditrecord", [f"q={fixture.order_number}", "kind__exact=verification&outcome__exact=failure"]),
        ("messages", "notifications/message", [f"q={fixture.order_number}", "status__exact=failed"]),
        ("webhook deliveries", "notifications/webhookdelivery", ["status__exact=failed", f"q={fixture.webhook_id}"]),
        ("pickup codes", "otp/pickupcode", [f"q={fixture.order_number}", "invalidated_reason__exact=no_show"]),
        ("package items", "orders/packageitem", [f"q={fixture.order_number}"]),
        ("no-show strikes", "orders/noshowstrike", [f"q={fixture.phone_digits}"]),
        ("stores", "orders/store", []),
        ("staff memberships", "orders/staffmembership", []),
    ]  # fmt: skip
    for label, path, variants in changelists:
        page(f"admin {label}", get(admin, f"/admin/{path}/"), check=ok())
        for query in variants:
            page(f"admin {label} ?{query}"[:52], get(admin, f"/admin/{path}/?{query}"), check=ok())
    # Drilling the date hierarchy one level down (a year) reads that year's months.
    year = package.created_at.year
    for label, path in (("packages", "orders/package"), ("audit records", "orders/auditrecord")):
        page(f"admin {label} ?created_at__year", get(admin, f"/admin/{path}/?created_at__year={year}"), check=ok())

    from notifications.models import Message, WebhookDelivery
    from orders.models import AuditRecord
    from otp.models import PickupCode

    audit = AuditRecord.objects.filter(package=package).first()
    message = Message.objects.filter(package=package).first()
    delivery = WebhookDelivery.objects.exclude(package=None).order_by("-created_at").first()
    code_row = PickupCode.objects.filter(package=package).first()
    for label, url in (
        ("package", f"/admin/orders/package/{package.pk}/change/"),
        ("order", f"/admin/orders/order/{order.pk}/change/"),
        ("customer", f"/admin/orders/customer/{customer.pk}/change/"),
        ("store", f"/admin/orders/store/{fixture.store.pk}/change/"),
        ("audit record", f"/admin/orders/auditrecord/{audit.pk}/change/"),
        ("message", f"/admin/notifications/message/{message.pk}/change/"),
        ("webhook delivery", f"/admin/notifications/webhookdelivery/{delivery.pk}/change/"),
        ("pickup code", f"/admin/otp/pickupcode/{code_row.pk}/change/"),
    ):
        page(f"admin {label} change page", get(admin, url), check=ok())

    if not measure.only or measure.only in "no-show sweep, one batch":
        due = make_due_for_sweep(BATCH)
        expired = []
        measure.once(f"no-show sweep, one batch ({due})", lambda: expired.append(services.packages_expire_unclaimed()))
        if expired and expired[0] != due:
            raise SystemExit(f"the sweep expired {expired[0]} packages, {due} were due")


def main() -> None:
    args = parse_args()
    if not args.database.startswith("bench"):
        sys.exit("refusing: the database name must start with 'bench' (its tables are emptied)")

    _common.ensure_database(args.database)
    env = _common.production_env(
        database_url=f"postgres://postgres@127.0.0.1:5432/{args.database}",
        redis_url=args.redis_url,
        CONN_MAX_AGE="0",
    )
    _common.django_setup(env)
    from django.core.management import call_command
    from django.db import connection

    try:
        started = time.perf_counter()
        if args.reuse:
            # New migrations run on the year of rows here: their time is what a deployment takes.
            call_command("migrate", verbosity=1, interactive=False)
            print(f"migrated in {time.perf_counter() - started:.1f} s")
            counts = {}
        else:
            _common.migrate_and_empty(args.database)
            print(f"filling {args.database} for {args.packages:,} packages in {args.stores} stores:")
            counts = fill(packages=args.packages, stores=args.stores)
            print(
                f"filled in {time.perf_counter() - started:.0f} s: "
                + ", ".join(f"{t} {n:,}" for t, n in counts.items())
            )
        from django.core.cache import cache

        cache.clear()  # throttles of an earlier run
        fixture = Fixture()
        measure = Measure(repeat=args.repeat, big_rows=args.big_rows, only=args.only)
        run_pages(measure, fixture)
        flagged = [row for row in measure.rows if row["seq_scans"]]
        print(f"\n{len(flagged)} of {len(measure.rows)} pages read a big table with a sequential scan.")
        from config.celery_app import app

        app.control.purge()  # the verifications' and the sweep's outbox tasks: no worker sends them
        if args.json:
            args.json.write_text(json.dumps({"counts": counts, "pages": measure.rows}, indent=2))
    finally:
        connection.close()
        if not args.keep:
            _common.drop_database(args.database)


if __name__ == "__main__":
    main()
