#!/usr/bin/env python
"""Verify throughput under gunicorn (issue 7.1): POST /api/packages/{id}/verify-otp/ against GET /healthz.

    createdb -h 127.0.0.1 -U postgres bench_verify        # once (the script creates it when missing)
    .venv/bin/python bench/verify_load.py --packages 2000 --concurrency 16

What it does, in order:

1. starts a private Redis on ``--redis-port`` (default 6391: cache, throttles and broker of this run);
2. configures Django with ``config.settings.production`` (DEBUG off, ALLOWED_HOSTS=127.0.0.1,
   SECURE_SSL_REDIRECT off for the local run, JSON logs) against the ``bench*`` database on the shared
   PostgreSQL, migrates and empties it;
3. creates N ready packages through the real services (``package_complete_packaging`` and
   ``package_mark_ready``: the code is issued, hashed and written encrypted to the outbox), and learns
   each code the way the customer does, from the outbox row (``notifications.crypto.decrypt``);
4. starts gunicorn (``config/gunicorn.conf.py``, ``--workers`` processes) on ``--port``;
5. gets one JWT per employee through ``POST /api/auth/token/``;
6. from a separate process (``bench/_common.py drive``), ``--concurrency`` threads verify every package
   once with its right code, then request ``/healthz`` as many times; both bounded by ``--time-limit``;
   and, as a yardstick between the two, as many ``GET /api/packages/{id}/`` (an authenticated API read:
   token, user, access checks, throttle, one package's representation);
7. prints requests/s, p50/p95/p99, errors and the ratio verify/healthz, and checks the database:
   every 200 delivered exactly one package (one ``delivered`` transition, its code used), and no
   code appears in the server's log;
8. prints the CPU time each request cost the server, per phase: the gunicorn processes and the
   PostgreSQL backends of the bench database, read from ``/proc`` before and after the phase. Unlike
   requests/s, this hardly depends on what else the machine is doing;
9. prints the ceiling that PostgreSQL's CPU alone puts on verifications (the machine's cores divided by
   the database CPU of one verification), as a share of the ``/healthz`` rate: the rate no web tier,
   however lean, could pass on this machine while the database does this verification's work.

The request-rate throttle stays on (its counters are in Redis) but ``API_USER_RATE`` is raised for
the run: a few employees sending thousands of requests a minute is the point of the benchmark.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as common

PASSWORD = common.PASSWORD


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="bench_verify", help="PostgreSQL database (name must start with bench)")
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--redis-port", type=int, default=6391)
    parser.add_argument("--port", type=int, default=8765, help="gunicorn port (loopback)")
    parser.add_argument("--packages", type=int, default=2000)
    parser.add_argument("--employees", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=0, help="gunicorn workers (default: gunicorn.conf.py)")
    parser.add_argument("--time-limit", type=float, default=120.0, help="seconds per phase at most")
    parser.add_argument("--keep-db", action="store_true", help="leave the rows in the database afterwards")
    return parser.parse_args()


def check_database(*, delivered_ids: list[str], codes: list[str], log_path: Path) -> list[str]:
    """Problems found after the run (empty when every promise held)."""
    from django.db.models import Count, Q

    from orders.models import AuditKind, Package, PackageStatus
    from otp.models import PickupCode

    problems = []
    delivered = set(
        str(pk) for pk in Package.objects.filter(status=PackageStatus.DELIVERED).values_list("pk", flat=True)
    )
    if delivered != set(delivered_ids):
        problems.append(f"{len(delivered)} packages delivered, {len(delivered_ids)} verify answers were 200")
    transitions = (
        Package.objects.filter(status=PackageStatus.DELIVERED)
        .annotate(
            n=Count("audit", filter=Q(audit__kind=AuditKind.TRANSITION, audit__to_status=PackageStatus.DELIVERED))
        )
        .exclude(n=1)
        .count()
    )
    if transitions:
        problems.append(f"{transitions} delivered packages without exactly one delivered transition")
    unused = Package.objects.filter(status=PackageStatus.DELIVERED).exclude(pickup_codes__used_at__isnull=False).count()
    if unused:
        problems.append(f"{unused} delivered packages without a used code")
    live = PickupCode.objects.filter(
        package__status=PackageStatus.DELIVERED, used_at__isnull=True, invalidated_at__isnull=True
    ).count()
    if live:
        problems.append(f"{live} live codes on delivered packages")
    log = log_path.read_text(errors="replace")
    leaked = sum(1 for code in codes if f'"{code}"' in log or f" {code} " in log or f"={code}" in log)
    if leaked:
        problems.append(f"{leaked} codes appear in the server log")
    return problems


class ServerCpu:
    """CPU seconds used so far by the gunicorn process tree and the bench database's PostgreSQL backends."""

    def __init__(self, gunicorn_pid: int, database: str) -> None:
        self.gunicorn_pid, self.database = gunicorn_pid, database
        self.ticks = os.sysconf("SC_CLK_TCK")

    def _stat(self, pid: int) -> list[str] | None:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                return stat.read().rsplit(")", 1)[1].split()
        except OSError:
            return None

    def _cpu(self, pids) -> float:
        total = 0
        for pid in pids:
            fields = self._stat(pid)
            if fields:
                total += int(fields[11]) + int(fields[12])  # utime + stime of the process itself
        return total / self.ticks

    def read(self) -> tuple[float, float]:
        """(gunicorn master and workers, PostgreSQL backends) in CPU seconds."""
        from django.db import connection

        web = [self.gunicorn_pid]
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                fields = self._stat(int(entry))
                if fields and int(fields[1]) == self.gunicorn_pid:  # a worker: parent is the master
                    web.append(int(entry))
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [self.database]
            )
            backends = [row[0] for row in cursor.fetchall()]
        return self._cpu(web), self._cpu(backends)


def _measured(meter: ServerCpu, run) -> tuple[common.LoadResult, float, float]:
    """Run a phase; return its result and the server's CPU per request in ms (web, database)."""
    web_before, db_before = meter.read()
    result = run()
    web_after, db_after = meter.read()
    count = max(result.requests, 1)
    return result, (web_after - web_before) / count * 1000, (db_after - db_before) / count * 1000


def main() -> None:
    args = parse_args()
    if not args.database.startswith("bench"):
        sys.exit("refusing: the database name must start with 'bench' (its tables are emptied)")
    workdir = Path(tempfile.mkdtemp(prefix="verify-load-"))
    print(f"machine: {common.machine_description()}")
    print(f"workdir: {workdir}")
    redis = common.PrivateRedis(args.redis_port, workdir / "redis")
    redis.start()
    server = None
    try:
        common.ensure_database(args.database, host=args.pg_host, port=args.pg_port)
        env = common.production_env(
            database_url=f"postgres://postgres@{args.pg_host}:{args.pg_port}/{args.database}",
            redis_url=redis.url,
            API_USER_RATE="1000000/min",
            NOTIFY_SMS_BACKEND="file",
            NOTIFY_EMAIL_BACKEND="file",
            NOTIFY_PUSH_BACKEND="file",
            OUTBOX_DIR=str(workdir / "outbox"),
        )
        common.django_setup(env)
        common.migrate_and_empty(args.database)
        print("seeding ...")
        usernames, packages = common.seed_ready_packages(packages=args.packages, employees=args.employees)
        import redis as redis_client

        redis_client.Redis.from_url(redis.url).flushdb()  # the seeding's queued sends and cache: start clean
        from django.db import connections

        connections.close_all()

        if args.workers:
            env["GUNICORN_WORKERS"] = str(args.workers)
        server = common.Gunicorn(
            env=env, port=args.port, workers=args.workers or _default_workers(), log_path=workdir / "gunicorn.log"
        )
        server.start()
        tokens = []
        for username in usernames:
            status, body = common.http_request(
                "POST", args.port, "/api/auth/token/", {"username": username, "password": PASSWORD}
            )
            if status != 200:
                sys.exit(f"token request for {username} answered {status}: {body}")
            tokens.append(body["access"])

        verify_jobs = [
            {
                "method": "POST",
                "path": f"/api/packages/{package_id}/verify-otp/",
                "body": {"otp": code},
                "token": tokens[index % len(tokens)],
            }
            for index, (package_id, code) in enumerate(packages)
        ]
        health_jobs = [{"method": "GET", "path": "/healthz"} for _ in packages]
        read_jobs = [
            {"method": "GET", "path": f"/api/packages/{package_id}/", "token": tokens[index % len(tokens)]}
            for index, (package_id, _code) in enumerate(packages)
        ]
        print(
            f"driving {len(verify_jobs)} verifications, then {len(health_jobs)} healthz, then {len(read_jobs)} "
            f"package reads, {args.concurrency} threads"
        )
        meter = ServerCpu(server.process.pid, args.database)

        def phase(jobs, name):
            return lambda: common.run_driver(
                jobs,
                port=args.port,
                concurrency=args.concurrency,
                time_limit=args.time_limit,
                name=name,
                workdir=workdir,
            )

        verify, verify_web, verify_db = _measured(meter, phase(verify_jobs, "verify"))
        health, health_web, health_db = _measured(meter, phase(health_jobs, "healthz"))
        read, read_web, read_db = _measured(meter, phase(read_jobs, "read"))
    finally:
        if server:
            server.stop()
        redis.stop()

    import json

    outcomes = json.loads((workdir / "verify-result.json").read_text())["outcomes"]
    delivered_ids = [packages[i][0] for i, outcome in enumerate(outcomes) if outcome.get("status") == 200]
    problems = check_database(
        delivered_ids=delivered_ids, codes=[code for _id, code in packages], log_path=workdir / "gunicorn.log"
    )
    ratio = verify.rps / health.rps if health.rps else 0.0
    print()
    print(verify.line())
    print(health.line())
    print(read.line() + f"   ({read.rps / health.rps if health.rps else 0:.1%} of healthz)")
    print("server CPU per request (gunicorn + PostgreSQL backends), ms:")
    for name, web, db in (
        ("verify", verify_web, verify_db),
        ("healthz", health_web, health_db),
        ("read", read_web, read_db),
    ):
        print(f"  {name:8} {web:6.2f} + {db:5.2f} = {web + db:6.2f}")
    print(f"ratio verify/healthz: {ratio:.1%} (goal >= 40%), verify errors: {verify.errors()} (goal 0)")
    if verify_db > 0 and health.rps:
        # The database's share alone, as if the web tier and the load driver cost nothing: no application
        # that runs this verification's statements can pass this rate on this machine.
        ceiling = (os.cpu_count() or 1) * 1000 / verify_db
        print(
            f"ceiling from PostgreSQL's CPU alone: {os.cpu_count()} cores / {verify_db:.2f} ms = "
            f"{ceiling:.0f} verifications/s = {ceiling / health.rps:.0%} of healthz"
        )
    print("database and log checks:", "ok" if not problems else "; ".join(problems))
    if not args.keep_db:
        common.migrate_and_empty(args.database)
    goal_met = ratio >= 0.40 and verify.errors() == 0 and health.errors() == 0 and not problems
    print("GOAL MET" if goal_met else "GOAL MISSED")
    sys.exit(0 if goal_met else 1)


def _default_workers() -> int:
    import multiprocessing

    return multiprocessing.cpu_count() * 2 + 1


if __name__ == "__main__":
    main()
