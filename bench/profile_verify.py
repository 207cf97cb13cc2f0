#!/usr/bin/env python
"""Where the time of one verification goes: queries per request, milliseconds in-process, cProfile.

    .venv/bin/python bench/profile_verify.py --packages 80 --top 30

Same set-up as ``bench/verify_load.py`` (production settings, ``bench*`` database on the shared
PostgreSQL, private Redis on ``--redis-port``), but the requests go through Django's test client in
this process: no gunicorn, no network, so what is left is the application's own cost. Prints the
SQL statements of one ``POST /api/packages/{id}/verify-otp/``, the mean time of a verification and of
``GET /healthz``, and the functions with the most own time (``--sort cumulative`` for the call tree).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as common


def _backend_cpu_reader(connection):
    """A function returning the CPU seconds used so far by this connection's PostgreSQL backend (same machine)."""
    import os

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    ticks = os.sysconf("SC_CLK_TCK")

    def read() -> float:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime

    return read


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="bench_verify")
    parser.add_argument("--redis-port", type=int, default=6392)
    parser.add_argument("--packages", type=int, default=80)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--sort", default="tottime", choices=["tottime", "cumulative"])
    args = parser.parse_args()
    if not args.database.startswith("bench"):
        sys.exit("refusing: the database name must start with 'bench' (its tables are emptied)")
    workdir = Path(tempfile.mkdtemp(prefix="profile-verify-"))
    redis = common.PrivateRedis(args.redis_port, workdir / "redis")
    redis.start()
    try:
        common.ensure_database(args.database)
        env = common.production_env(
            database_url=f"postgres://postgres@127.0.0.1:5432/{args.database}",
            redis_url=redis.url,
            API_USER_RATE="1000000/min",
            OUTBOX_DIR=str(workdir / "outbox"),
        )
        common.django_setup(env)
        common.migrate_and_empty(args.database)
        usernames, packages = common.seed_ready_packages(packages=args.packages, employees=1)

        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        client = Client(HTTP_HOST="127.0.0.1")
        token = client.post(
            "/api/auth/token/",
            {"username": usernames[0], "password": common.PASSWORD},
            content_type="application/json",
        ).json()["access"]

        def verify(package_id: str, code: str) -> None:
            response = client.post(
                f"/api/packages/{package_id}/verify-otp/",
                {"otp": code},
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {token}",
            )
            if response.status_code != 200:
                raise SystemExit(f"verify answered {response.status_code}: {response.content[:200]!r}")

        warm, one, rest = packages[:5], packages[5], packages[6:]
        for package_id, code in warm:
            verify(package_id, code)
        with CaptureQueriesContext(connection) as captured:
            verify(*one)
        print(f"SQL statements of one verify request: {len(captured.captured_queries)}")
        for query in captured.captured_queries:
            print(f"  {query['sql'][:150]}")
        timed, profiled = rest[: len(rest) // 2], rest[len(rest) // 2 :]
        backend = _backend_cpu_reader(connection)
        started, cpu_started, pg_started = time.perf_counter(), time.process_time(), backend()
        for package_id, code in timed:
            verify(package_id, code)
        count = max(len(timed), 1)
        verify_ms = (time.perf_counter() - started) / count * 1000
        python_ms = (time.process_time() - cpu_started) / count * 1000
        pg_ms = (backend() - pg_started) / count * 1000
        print(
            f"one verification: {verify_ms:.1f} ms wall, {python_ms:.1f} ms CPU in Python, {pg_ms:.1f} ms CPU in PostgreSQL"
        )
        started = time.perf_counter()
        for _ in range(300):
            client.get("/healthz")
        health_ms = (time.perf_counter() - started) / 300 * 1000
        print(f"in-process: verify {verify_ms:.1f} ms, healthz {health_ms:.2f} ms, ratio {health_ms / verify_ms:.1%}")
        profiler = cProfile.Profile(time.process_time)  # CPU time: waiting on PostgreSQL is not counted
        profiler.enable()
        for package_id, code in profiled:
            verify(package_id, code)
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(args.sort).print_stats(args.top)
        print(out.getvalue())
        common.migrate_and_empty(args.database)
    finally:
        redis.stop()


if __name__ == "__main__":
    main()
