#!/usr/bin/env python
"""Drill: PostgreSQL restarts during verify load (issue 7.3, third drill). Prints outcomes; exit 0 when all hold.

    .venv/bin/python bench/drills/postgres_restart.py            # immediate stop: crash recovery on start
    .venv/bin/python bench/drills/postgres_restart.py --mode fast

It creates a private PostgreSQL cluster (initdb, ``--pg-port``, default 5440, run as the ``postgres``
user when started as root) and a private Redis (``--redis-port``, default 6395); the shared servers
are never touched. gunicorn runs with production settings (``CONN_MAX_AGE`` 60 s with health checks).

1. N ready packages with known codes; employees verify them from a separate process.
2. About ``--after`` seconds into the load the cluster is stopped (``pg_ctl -m immediate``: in-flight
   transactions die as in a crash) and started again ``--down`` seconds later. gunicorn is not touched.
3. Counted: answers by status; requests in flight fail with a 5xx (reported), none hangs past its timeout.
4. Recovery, same gunicorn: every package not answered 200 is verified again with its code: those still
   ready are delivered now (200), those whose delivery had committed answer 409 ``invalid_state``.
5. No half-done transition: every delivered package has exactly one ``delivered`` transition, one
   successful verification, a used code and no live one, and its three picked-up messages; every
   package still ready has no delivered transition and at most one current code, unused. No code in
   the server log.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _common as common
import _drill


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg-port", type=int, default=5440)
    parser.add_argument("--redis-port", type=int, default=6395)
    parser.add_argument("--port", type=int, default=8767)
    parser.add_argument("--packages", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rate", type=float, default=40.0, help="requests per second at most during the load")
    parser.add_argument("--after", type=float, default=3.0, help="seconds of load before the restart")
    parser.add_argument("--down", type=float, default=3.0, help="seconds the database stays down")
    parser.add_argument("--mode", choices=["immediate", "fast"], default="immediate")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    workdir = _drill.make_workdir("drill-pg-")
    os.chmod(workdir, 0o755)  # the postgres user owns the cluster folder inside
    report = _drill.Report()
    check = report.check
    cluster = common.PrivatePostgres(args.pg_port, workdir / "data")
    redis = common.PrivateRedis(args.redis_port, workdir / "redis")
    server = None
    cluster.init()
    cluster.start()
    redis.start()
    try:
        cluster.createdb("drill_pg")
        env = common.production_env(database_url=cluster.url("drill_pg"), redis_url=redis.url, LOG_LEVEL="WARNING")
        common.django_setup(env)
        common.migrate_and_empty("drill_pg")
        usernames, packages = common.seed_ready_packages(packages=args.packages, employees=4)
        from django.db import connections

        connections.close_all()
        server = common.Gunicorn(env=env, port=args.port, workers=3, log_path=workdir / "gunicorn.log")
        server.start()
        tokens = []
        for username in usernames:
            _status, body = common.http_request(
                "POST", args.port, "/api/auth/token/", {"username": username, "password": common.PASSWORD}
            )
            tokens.append(body["access"])

        def jobs(indexes: list[int]) -> list[dict]:
            return [
                {
                    "method": "POST",
                    "path": f"/api/packages/{packages[i][0]}/verify-otp/",
                    "body": {"otp": packages[i][1]},
                    "token": tokens[i % len(tokens)],
                }
                for i in indexes
            ]

        print(
            f"1. {args.packages} verifications, {args.concurrency} threads, at most {args.rate:.0f}/s; "
            f"restart ({args.mode}) after {args.after}s"
        )
        source, target = workdir / "load-jobs.json", workdir / "load-result.json"
        source.write_text(
            json.dumps(
                {
                    "port": args.port,
                    "concurrency": args.concurrency,
                    "time_limit": 120,
                    "interval": args.concurrency / args.rate,
                    "jobs": jobs(list(range(len(packages)))),
                }
            )
        )
        driver = subprocess.Popen([common.PYTHON, str(Path(common.__file__)), "drive", str(source), str(target)])
        restart_times: dict[str, float] = {}

        def restart() -> None:
            time.sleep(args.after)
            restart_times["stop"] = time.monotonic()
            cluster.stop(args.mode)
            time.sleep(args.down)
            cluster.start()
            restart_times["started"] = time.monotonic()

        restarter = threading.Thread(target=restart)
        restarter.start()
        driver.wait(timeout=300)
        restarter.join()
        result = json.loads(target.read_text())
        outcomes = result["outcomes"]
        by_status: dict[int, int] = {}
        for outcome in outcomes:
            by_status[outcome.get("status", -1)] = by_status.get(outcome.get("status", -1), 0) + 1
        server_errors = sum(count for status, count in by_status.items() if status >= 500)
        dropped = by_status.get(0, 0)
        print(
            f"     answers by status: {dict(sorted(by_status.items()))}  (-1: not sent within the time limit)"
            f"  in {result['seconds']:.1f}s; database down {restart_times['started'] - restart_times['stop']:.1f}s"
        )
        check("the restart hit requests in flight (5xx reported)", server_errors > 0, f"{server_errors} answered 5xx")
        check("no request dropped without an answer", dropped == 0, f"{dropped} connection errors")
        check("gunicorn still running, never restarted", server.process.poll() is None)
        tail = [outcome.get("status") for outcome in outcomes[-50:]]
        check("the load recovered by itself once the database was back", tail == [200] * len(tail), f"last 50: {tail}")

        print("2. recovery through the same gunicorn: every package not answered 200 is verified again")
        retry = [i for i, outcome in enumerate(outcomes) if outcome.get("status") != 200]
        recovery = common.run_driver(
            jobs(retry), port=args.port, concurrency=args.concurrency, time_limit=120, name="recovery", workdir=workdir
        )
        recovered = json.loads((workdir / "recovery-result.json").read_text())["outcomes"]
        statuses = [outcome.get("status") for outcome in recovered]
        codes = [outcome.get("code") for outcome in recovered if outcome.get("status") == 409]
        print(f"     {recovery.line()}")
        check(
            "recovered without a restart: 200 or 409 invalid_state only",
            all(status in (200, 409) for status in statuses) and all(code == "invalid_state" for code in codes),
            f"{statuses.count(200)} delivered now, {statuses.count(409)} had been delivered already",
        )

        print("3. no half-done transition")
        connections.close_all()
        from django.db.models import Count, Q

        from notifications.models import Message
        from orders.models import AuditKind, Package, PackageStatus
        from otp.models import PickupCode

        delivered = Package.objects.filter(status=PackageStatus.DELIVERED)
        annotated = delivered.annotate(
            transitions=Count(
                "audit",
                filter=Q(audit__kind=AuditKind.TRANSITION, audit__to_status=PackageStatus.DELIVERED),
                distinct=True,
            ),
            verifications=Count(
                "audit", filter=Q(audit__kind=AuditKind.VERIFICATION, audit__outcome="success"), distinct=True
            ),
        )
        bad_audit = annotated.exclude(transitions=1, verifications=1).count()
        without_used_code = delivered.exclude(pickup_codes__used_at__isnull=False).count()
        live_on_delivered = PickupCode.objects.filter(
            package__status=PackageStatus.DELIVERED, used_at__isnull=True, invalidated_at__isnull=True
        ).count()
        messages = (
            Message.objects.filter(package__status=PackageStatus.DELIVERED, event="picked_up")
            .values("package_id")
            .annotate(n=Count("pk"))
            .exclude(n=3)
            .count()
        )
        ready = Package.objects.filter(status=PackageStatus.READY_FOR_CUSTOMER_PICKUP)
        half_ready = ready.filter(audit__kind=AuditKind.TRANSITION, audit__to_status=PackageStatus.DELIVERED).count()
        used_on_ready = PickupCode.objects.filter(
            package__status=PackageStatus.READY_FOR_CUSTOMER_PICKUP, used_at__isnull=False
        ).count()
        total = Package.objects.count()
        print(f"     {delivered.count()} delivered, {ready.count()} ready, {total} in all")
        check("every package delivered in the end", delivered.count() == total)
        check("one delivered transition and one successful verification each", bad_audit == 0, f"{bad_audit} wrong")
        check("a used code on every delivered package, no live one", without_used_code == 0 and live_on_delivered == 0)
        check("three picked-up messages per delivered package", messages == 0, f"{messages} wrong")
        check("no ready package with a delivery half written", half_ready == 0 and used_on_ready == 0)
        log = (workdir / "gunicorn.log").read_text(errors="replace")
        leaked = sum(1 for _id, code in packages if f'"{code}"' in log or f" {code} " in log)
        check("no code in the server log", leaked == 0, f"{leaked} found")
        check("the server log shows the database errors", "OperationalError" in log or "InterfaceError" in log)
    finally:
        if server:
            server.stop()
        redis.stop()
        cluster.destroy()
    report.finish()


if __name__ == "__main__":
    main()
