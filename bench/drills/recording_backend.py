"""A channel backend for the drills: records every hand-over, slowly if asked. Never used in production.

Configured by dotted path (``NOTIFY_SMS_BACKEND=bench.drills.recording_backend.RecordingBackend``, see
``notifications.backends.backend_for``). Each send appends a JSON line to ``DRILL_SEND_LOG``:
``{"event": "started", ...}``, then, after ``DRILL_SEND_DELAY`` seconds, ``{"event": "delivered", ...}``
with the message id, channel and process id. It models a provider that accepts a message when the
request completes: a worker killed during the delay has delivered nothing. No body is written
(it holds the pickup code). ``DRILL_SLOW_CHANNELS`` (comma-separated, e.g. ``sms``) limits the delay
to those channels, so a drill can keep exactly one task running while the others finish.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from notifications.backends import OutgoingMessage


def _append(entry: dict) -> None:
    path = os.environ["DRILL_SEND_LOG"]
    with open(path, "a", encoding="utf-8") as stream:
        fcntl.flock(stream, fcntl.LOCK_EX)
        stream.write(json.dumps(entry) + "\n")
        stream.flush()
        fcntl.flock(stream, fcntl.LOCK_UN)


class RecordingBackend:
    def send(self, message: OutgoingMessage) -> str:
        entry = {"id": message.id, "channel": message.channel, "kind": message.event, "pid": os.getpid()}
        _append({**entry, "event": "started", "at": time.time()})
        slow = os.environ.get("DRILL_SLOW_CHANNELS", "")
        if not slow or message.channel in slow.split(","):
            time.sleep(float(os.environ.get("DRILL_SEND_DELAY", "0")))
        _append({**entry, "event": "delivered", "at": time.time()})
        return f"drill-{message.id}"


def read_log(path) -> list[dict]:
    try:
        with open(path, encoding="utf-8") as stream:
            return [json.loads(line) for line in stream if line.strip()]
    except FileNotFoundError:
        return []
