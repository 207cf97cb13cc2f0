#!/usr/bin/env python
"""Drill: a worker is killed with SIGKILL in the middle of sending (issue 7.3, second drill).

    .venv/bin/python bench/drills/worker_kill.py

A private Redis (``--redis-port``, default 6394) is the broker; the database is a ``drill*`` database on
the shared PostgreSQL. Sending goes through ``bench.drills.recording_backend`` slowed to
``--delay`` seconds per message, so the kill lands while a message is being handed over (the backend
records "started" at once and "delivered" only when the hand-over completes).

A. The pool process running the task is SIGKILLed. The task was not acknowledged (late ack,
   ``CELERY_TASK_ACKS_LATE`` + ``CELERY_TASK_REJECT_ON_WORKER_LOST``): the worker's main process puts
   it back, a new pool process runs it, and the message is delivered once.
B. The whole worker (main process and pool) is SIGKILLed and a new worker started. The unacknowledged
   task would come back after the broker's visibility timeout; the outbox relay (beat, every minute)
   queues the still-pending row again sooner. Whichever comes first sends it; the row lock and the
   ``pending`` check make any second run a no-op. Delivered once.

For both: the killed attempt left no trace in the row (its transaction died with the process), the
row ends ``sent`` with one counted try, and the backend recorded exactly one delivery per message.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _common as common
import _drill
from recording_backend import read_log


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="drill_worker")
    parser.add_argument("--redis-port", type=int, default=6394)
    parser.add_argument("--delay", type=float, default=4.0, help="seconds each send takes")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    workdir = _drill.make_workdir("drill-worker-")
    send_log = workdir / "sends.jsonl"
    redis = common.PrivateRedis(args.redis_port, workdir / "redis")
    report = _drill.Report()
    check = report.check
    redis.start()
    workers: list[common.ProcfileProcess] = []
    try:
        env = _drill.recording_setup(
            database=args.database,
            redis_url=redis.url,
            send_log=send_log,
            DRILL_SEND_DELAY=str(args.delay),
            # The relay re-queues a row pending this long (production: 180 s).
            NOTIFY_RELAY_AFTER_SECONDS="5",
        )
        from django.db import connections

        from notifications.models import DeliveryStatus, Message

        def started_ids() -> list[str]:
            return [entry["id"] for entry in read_log(send_log) if entry["event"] == "started"]

        def all_sent(ids: list[str]) -> bool:
            connections.close_all()
            return Message.objects.filter(pk__in=ids, status=DeliveryStatus.SENT).count() == len(ids)

        def run(variant: str) -> None:
            before = set(started_ids())
            _users, packages = common.seed_ready_packages(packages=1, employees=1)
            ids = [
                str(pk)
                for pk in Message.objects.filter(package_id=packages[0][0])
                .order_by("channel")
                .values_list("pk", flat=True)
            ]
            connections.close_all()
            worker = common.ProcfileProcess("worker", env=env, log_path=workdir / f"worker-{variant}.log")
            workers.append(worker)
            worker.start()
            if not common.wait_until(lambda: set(started_ids()) - before, timeout=60, interval=0.1):
                check(f"{variant}: a send started", False)
                return
            victim = next(iter(set(started_ids()) - before))
            time.sleep(args.delay / 4)  # well inside the hand-over
            if variant == "A":
                pool = worker.children()
                for pid in pool:
                    os.kill(pid, signal.SIGKILL)
                print(f"     SIGKILL pool process(es) {pool} while message {victim} was being sent")
            else:
                worker.kill_hard()
                print(f"     SIGKILL worker {worker.process.pid} and its pool while message {victim} was being sent")
                row = Message.objects.get(pk=victim)
                check(
                    "B: the killed attempt left the row pending and uncounted",
                    (row.status, row.attempts) == ("pending", 0),
                    f"{row.status}, attempts {row.attempts}",
                )
                connections.close_all()
                restarted = common.ProcfileProcess("worker", env=env, log_path=workdir / "worker-B2.log")
                workers.append(restarted)
                restarted.start()
                time.sleep(6)  # past NOTIFY_RELAY_AFTER_SECONDS
                relay = common.manage(env, "outbox_relay")
                check(
                    "B: relay ran (what beat runs every minute)",
                    relay.returncode == 0,
                    relay.stderr[-300:] if relay.returncode else "",
                )
            sent = common.wait_until(lambda: all_sent(ids), timeout=120, interval=0.5)
            time.sleep(args.delay + 1)  # a duplicate hand-over, if any, would finish now
            counts = _drill.delivered_counts(send_log)
            starts = started_ids()
            rows = {str(m.pk): (m.status, m.attempts) for m in Message.objects.filter(pk__in=ids)}
            check(f"{variant}: every message of the package sent", sent, str(rows))
            check(
                f"{variant}: the interrupted message was delivered exactly once",
                counts.get(victim) == 1 and starts.count(victim) >= 2,
                f"hand-overs started {starts.count(victim)}, completed {counts.get(victim)}",
            )
            check(
                f"{variant}: the other messages delivered exactly once",
                all(counts.get(message_id) == 1 for message_id in ids),
                str({message_id[:8]: counts.get(message_id) for message_id in ids}),
            )
            check(
                f"{variant}: one counted try per row (the killed one rolled back)",
                all(attempts == 1 for _status, attempts in rows.values()),
                str(sorted(attempts for _status, attempts in rows.values())),
            )
            for running in workers:
                running.stop()

        print("A. SIGKILL the pool process mid-send")
        run("A")
        print("B. SIGKILL the whole worker mid-send, start a new one")
        run("B")
    finally:
        for worker in workers:
            worker.stop()
        redis.stop()
    report.finish()


if __name__ == "__main__":
    main()
