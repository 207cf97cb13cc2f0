#!/usr/bin/env python
"""Drill: Redis stops while employees verify (issue 7.3, first drill). Prints each outcome; exit 0 when all hold.

    .venv/bin/python bench/drills/redis_outage.py

Uses a private Redis (``--redis-port``, default 6390: cache, throttles and broker) that it stops and
starts again, and a ``drill*`` database on the shared PostgreSQL (never stopped). Web is gunicorn with
production settings, one Celery worker sends through ``bench.drills.recording_backend``, which
records every hand-over, so a duplicate would show.

1. Redis up: employees verify 10 packages (200 each).
2. Redis stopped: 20 more verifications (200 each: the attempt counters are in the database), two
   wrong codes on another package (400 otp_invalid with 4 then 3 attempts left), the package list
   (200: the request-rate throttle lets requests through when its cache is down), a new token (200),
   ``/readyz`` (503 naming cache and broker). No 5xx. The picked-up messages stay ``pending``.
3. Redis back, empty (no persistence: what was queued before is gone, as after a lost broker). The
   outbox relay (what beat runs every minute) queues every pending row again; the worker sends them.
4. Every message row is ``sent``, and the recording backend got every message exactly once.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _common as common
import _drill


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="drill_redis")
    parser.add_argument("--redis-port", type=int, default=6390)
    parser.add_argument("--port", type=int, default=8766)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    workdir = _drill.make_workdir("drill-redis-")
    send_log = workdir / "sends.jsonl"
    redis = common.PrivateRedis(args.redis_port, workdir / "redis")
    report = _drill.Report()
    redis.start()
    server = worker = None
    try:
        env = _drill.recording_setup(
            database=args.database, redis_url=redis.url, send_log=send_log, PYTHONPATH=str(common.ROOT)
        )
        usernames, packages = common.seed_ready_packages(packages=40, employees=2)
        from django.db import connections

        from notifications.models import DeliveryStatus, Message

        connections.close_all()
        server = common.Gunicorn(env=env, port=args.port, workers=2, log_path=workdir / "gunicorn.log")
        server.start()
        worker = common.ProcfileProcess("worker", env=env, log_path=workdir / "worker.log")
        worker.start()

        def token(username: str) -> tuple[int, str | None]:
            status, body = common.http_request(
                "POST", args.port, "/api/auth/token/", {"username": username, "password": common.PASSWORD}
            )
            return status, (body or {}).get("access")

        def drained() -> bool:
            connections.close_all()
            return not Message.objects.filter(status=DeliveryStatus.PENDING).exists()

        # The ready messages (with the codes) go out first, as they would long before the customer arrives.
        report.check(
            "ready messages sent before the drill",
            common.wait_until(drained, timeout=120, interval=1),
            f"{Message.objects.filter(status=DeliveryStatus.SENT).count()} sent",
        )
        tokens = [token(name)[1] for name in usernames]
        statuses: list[int] = []

        def verify(index: int, code: str | None = None) -> tuple[int, dict]:
            package_id, right = packages[index]
            status, body = common.http_request(
                "POST",
                args.port,
                f"/api/packages/{package_id}/verify-otp/",
                {"otp": code or right},
                token=tokens[index % len(tokens)],
            )
            statuses.append(status)
            return status, body or {}

        print("1. Redis up: 10 verifications")
        up = [verify(i)[0] for i in range(10)]
        report.check("all delivered", up == [200] * 10, str(up))

        print("2. Redis stopped")
        redis.stop()
        started = time.monotonic()
        down = [verify(i)[0] for i in range(10, 30)]
        seconds = time.monotonic() - started
        report.check("20 verifications without Redis delivered", down == [200] * 20, f"{down} in {seconds:.1f}s")
        wrong_code = f"{(int(packages[30][1]) + 1) % 1_000_000:06d}"
        first, second = verify(30, wrong_code), verify(30, wrong_code)
        remaining = [body.get("details", {}).get("attemptsRemaining") for _status, body in (first, second)]
        report.check(
            "wrong codes counted in the database",
            (first[0], second[0]) == (400, 400) and remaining == [4, 3],
            f"statuses {first[0]}, {second[0]}, attempts left {remaining}",
        )
        listed, _ = common.http_request("GET", args.port, "/api/packages/", token=tokens[0])
        statuses.append(listed)
        report.check("package list answers (throttle degrades open)", listed == 200, str(listed))
        new_token_status, _ = token(usernames[0])
        statuses.append(new_token_status)
        report.check("a new token is issued", new_token_status == 200, str(new_token_status))
        ready_status, ready_body = common.http_request("GET", args.port, "/readyz")
        report.check(
            "/readyz says what is down",
            ready_status == 503 and (ready_body or {}).get("checks", {}).get("cache") == "unavailable",
            f"{ready_status} {(ready_body or {}).get('checks')}",
        )
        server_errors = [status for status in statuses if status == 0 or status >= 500]
        report.check("no 5xx and no dropped connection during the outage", not server_errors, str(server_errors))
        pending_picked_up = Message.objects.filter(
            package_id__in=[package_id for package_id, _ in packages[10:30]],
            event="picked_up",
            status=DeliveryStatus.PENDING,
        ).count()
        report.check(
            "the picked-up messages wait in the outbox", pending_picked_up == 60, f"{pending_picked_up} pending"
        )
        connections.close_all()

        print("3. Redis back (empty); the relay queues the pending rows")
        redis.start()
        time.sleep(3)  # the worker reconnects on its own
        relay = common.manage(env, "outbox_relay", "--older-than", "0")
        print(f"     relay: {(relay.stdout + relay.stderr).strip().splitlines()[-1:]}")
        report.check("relay ran", relay.returncode == 0, relay.stderr[-300:] if relay.returncode else "")

        done = common.wait_until(drained, timeout=120, interval=1)
        total = Message.objects.count()
        sent = Message.objects.filter(status=DeliveryStatus.SENT).count()
        report.check("every message row sent", done and sent == total, f"{sent} of {total} sent")
        time.sleep(2)  # a duplicate, if any, would arrive now
        per_message = _drill.delivered_counts(send_log)
        duplicates = {key: count for key, count in per_message.items() if count > 1}
        ids = {str(pk) for pk in Message.objects.values_list("pk", flat=True)}
        report.check(
            "each message delivered exactly once",
            set(per_message) == ids and not duplicates,
            f"{len(per_message)} delivered of {len(ids)}, duplicates {len(duplicates)}",
        )
    finally:
        if worker:
            worker.stop()
        if server:
            server.stop()
        redis.stop()
    report.finish()


if __name__ == "__main__":
    main()
