#!/usr/bin/env python
"""Drill: the Procfile's worker and beat through a Redis outage or a PostgreSQL restart (issue 15.3, SPEC 11).

    .venv/bin/python bench/drills/procfile_outage.py --outage redis --down 10
    .venv/bin/python bench/drills/procfile_outage.py --outage redis --down 120
    .venv/bin/python bench/drills/procfile_outage.py --outage postgres --down 10

The worker and beat are started with the Procfile's own lines (``bench/_common.py``, ``procfile_command``), with
production settings, against a private PostgreSQL cluster (``--pg-port``) and a private Redis (``--redis-port``,
no persistence); the shared servers are never touched. Sending goes through ``bench.drills.recording_backend``,
which logs every hand-over, so a duplicate would show; the outbox relay (beat, every minute) queues rows pending
for 5 s (``NOTIFY_RELAY_AFTER_SECONDS``).

redis:
1. A package whose customer has only a phone: its SMS takes ``--send-seconds`` and its task runs unacknowledged
   (late ack) while the worker waits on BRPOP with a free pool process.
2. Redis stops for ``--down`` seconds. Meanwhile another package is made ready: its messages cannot be queued and
   wait in the outbox. The worker and beat are checked every second.
3. Redis comes back empty. The worker reconnects and sends a package made ready now; beat's relay queues the rows
   written during the outage and the worker sends them.
postgres:
1. A package is sent. The cluster stops (``--mode``) for ``--down`` seconds and starts again; the worker and
   beat are checked every second, beat keeps sending its due tasks (they fail in the worker without a database).
2. A package made ready after the restart is sent; beat's relay runs in the worker again.
Both: the worker and beat are alive at the end and never logged ``Unrecoverable error``, every message row is
``sent``, and each message was handed over exactly once.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _common as common
import _drill


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outage", choices=["redis", "postgres"], default="redis")
    parser.add_argument("--down", type=float, default=10.0, help="seconds the server stays down")
    parser.add_argument("--mode", choices=["immediate", "fast"], default="fast", help="how PostgreSQL stops")
    parser.add_argument("--send-seconds", type=float, default=8.0, help="how long the slow SMS takes (redis)")
    parser.add_argument("--redis-port", type=int, default=6396)
    parser.add_argument("--pg-port", type=int, default=5443)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    workdir = _drill.make_workdir(f"drill-procfile-{args.outage}-")
    os.chmod(workdir, 0o755)  # the postgres user owns the cluster folder inside
    send_log = workdir / "sends.jsonl"
    report = _drill.Report()
    check = report.check
    cluster = common.PrivatePostgres(args.pg_port, workdir / "data")
    redis = common.PrivateRedis(args.redis_port, workdir / "redis")
    cluster.init()
    cluster.start()
    redis.start()
    worker = beat = None
    try:
        cluster.createdb("drill_procfile")
        env = common.production_env(
            database_url=cluster.url("drill_procfile"),
            redis_url=redis.url,
            NOTIFY_SMS_BACKEND=_drill.RECORDING_BACKEND,
            NOTIFY_EMAIL_BACKEND=_drill.RECORDING_BACKEND,
            NOTIFY_PUSH_BACKEND=_drill.RECORDING_BACKEND,
            DRILL_SEND_LOG=str(send_log),
            DRILL_SEND_DELAY=str(args.send_seconds if args.outage == "redis" else 0),
            DRILL_SLOW_CHANNELS="sms",
            NOTIFY_RELAY_AFTER_SECONDS="5",
            LOG_LEVEL="INFO",
        )
        common.django_setup(env)
        common.migrate_and_empty("drill_procfile")
        import logging

        from django.core.management import call_command
        from django.db import connections

        call_command("setup_schedules", verbosity=0)  # as the Procfile's release does: the relay every minute
        # This process makes packages ready while Redis is down: one warning with a traceback per message, expected.
        logging.getLogger("notifications.services").setLevel(logging.ERROR)

        from notifications.models import DeliveryStatus, Message

        connections.close_all()
        worker = common.ProcfileProcess("worker", env=env, log_path=workdir / "worker.log")
        beat = common.ProcfileProcess("beat", env=env, log_path=workdir / "beat.log")
        print(f"worker: {' '.join(worker.argv[1:])}\nbeat:   {' '.join(beat.argv[1:])}")
        worker.start()
        beat.start()
        if not common.wait_until(lambda: "ready." in worker.log_text(), timeout=60):
            check("the worker started", False, worker.log_text()[-500:])
            return
        message_ids: list[str] = []

        def make_ready(number: int, *, sms_only: bool = False) -> list[str]:
            ids = _drill.ready_package(number, sms_only=sms_only)
            connections.close_all()
            message_ids.extend(ids)
            return ids

        def delivered(ids: list[str]) -> bool:
            counts = _drill.delivered_counts(send_log)
            return all(counts.get(message_id) for message_id in ids)

        def watch(seconds: float) -> list[bool]:
            """Whether worker and beat were both alive, once a second for ``seconds``."""
            alive = []
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                time.sleep(1)
                alive.append(worker.alive() and beat.alive())
            return alive

        def beat_sends_after(marker: int) -> int:
            return beat.log_text()[marker:].count("Sending due task notifications-outbox-relay")

        def worker_relays_after(marker: int) -> int:
            return worker.log_text()[marker:].count("Task notifications.outbox_relay[")

        if args.outage == "redis":
            print(f"1. an SMS that takes {args.send_seconds:.0f}s is being sent (its task unacknowledged)")
            in_flight = make_ready(1, sms_only=True)
            check(
                "the SMS task runs",
                common.wait_until(lambda: set(in_flight) <= set(_drill.started_ids(send_log)), timeout=30),
            )
            time.sleep(1)
            print(f"2. Redis stopped for {args.down:.0f}s; a package is made ready meanwhile")
            redis.stop()
            stopped = time.monotonic()
            written_during = make_ready(2)
            alive = watch(args.down - (time.monotonic() - stopped))
            check(
                "worker and beat alive every second of the outage", all(alive), f"{alive.count(True)} of {len(alive)}"
            )
            check(
                "the SMS in flight was handed over during the outage",
                delivered(in_flight),
                str(_drill.delivered_counts(send_log).get(in_flight[0])),
            )
            pending = Message.objects.filter(pk__in=written_during, status=DeliveryStatus.PENDING).count()
            connections.close_all()
            check("the messages written during the outage wait in the outbox", pending == 3, f"{pending} pending")
            print("3. Redis back, empty")
            worker_mark, beat_mark = len(worker.log_text()), len(beat.log_text())
            redis.start()
            back = time.monotonic()
            reconnected = common.wait_until(lambda: "Connected to" in worker.log_text()[worker_mark:], timeout=60)
            check("the worker reconnected by itself", reconnected, f"after {time.monotonic() - back:.1f}s")
            after = make_ready(3)
            sent_after = common.wait_until(lambda: delivered(after), timeout=60)
            check(
                "a package made ready now is sent", sent_after, f"{time.monotonic() - back:.1f}s after Redis came back"
            )
            relayed = common.wait_until(lambda: delivered(written_during), timeout=100)
            check(
                "beat's relay queued the outage's messages and the worker sent them",
                relayed and beat_sends_after(beat_mark) >= 1,
                f"{time.monotonic() - back:.1f}s after Redis came back",
            )
        else:
            print("1. a package is sent")
            first = make_ready(1)
            check("sent before the restart", common.wait_until(lambda: delivered(first), timeout=60))
            print(f"2. PostgreSQL stopped ({args.mode}) for {args.down:.0f}s")
            worker_mark, beat_mark = len(worker.log_text()), len(beat.log_text())
            cluster.stop(args.mode)
            alive = watch(args.down)
            cluster.start()
            back = time.monotonic()
            alive += watch(3)
            check(
                "worker and beat alive every second of the restart", all(alive), f"{alive.count(True)} of {len(alive)}"
            )
            print("3. PostgreSQL back")
            after = make_ready(2)
            sent_after = common.wait_until(lambda: delivered(after), timeout=60)
            check("a package made ready now is sent", sent_after, f"{time.monotonic() - back:.1f}s after the restart")
            relay_mark = len(worker.log_text())
            relay_ok = common.wait_until(
                lambda: (
                    "succeeded"
                    in "".join(
                        line
                        for line in worker.log_text()[relay_mark:].splitlines()
                        if "notifications.outbox_relay" in line
                    )
                ),
                timeout=90,
            )
            check(
                "beat sends its due tasks and the worker runs them again",
                relay_ok and beat_sends_after(beat_mark) >= 1,
                f"relay sent by beat {beat_sends_after(beat_mark)}x since the stop, "
                f"run by the worker {worker_relays_after(worker_mark)}x",
            )

        print("4. outcome")
        time.sleep(2)  # a duplicate, if any, would arrive now
        check("worker alive", worker.alive())
        check("beat alive", beat.alive())
        logs = worker.log_text() + beat.log_text()
        check("no 'Unrecoverable error' logged", "Unrecoverable error" not in logs)
        rows = dict(Message.objects.filter(pk__in=message_ids).values_list("pk", "status"))
        connections.close_all()
        not_sent = {str(pk)[:8]: status for pk, status in rows.items() if status != DeliveryStatus.SENT}
        check("every message row sent", len(rows) == len(message_ids) and not not_sent, f"{len(rows)} rows, {not_sent}")
        counts = _drill.delivered_counts(send_log)
        wrong = {message_id[:8]: counts.get(message_id, 0) for message_id in message_ids if counts.get(message_id) != 1}
        check(
            "each message handed over exactly once",
            not wrong,
            f"{len(message_ids) - len(wrong)} of {len(message_ids)} once; other counts {wrong}",
        )
    finally:
        for process in (worker, beat):
            if process:
                process.stop()
        redis.stop()
        cluster.destroy()
    report.finish()


if __name__ == "__main__":
    main()
