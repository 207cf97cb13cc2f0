"""Helpers for the sending tests: a local HTTP receiver and a watch for leaked pickup codes."""

from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from celery import signals


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class LocalReceiver:
    """An HTTP server on 127.0.0.1 answering POSTs with ``statuses`` in turn (the last one repeats)."""

    statuses: list[int]
    answer: dict = field(default_factory=dict)
    requests: list[Received] = field(default_factory=list)
    url: str = ""

    def next_status(self) -> int:
        index = min(len(self.requests) - 1, len(self.statuses) - 1)
        return self.statuses[index]


@pytest.fixture
def receiver():
    """receiver(statuses=[503, 503, 200], answer={...}) -> LocalReceiver, stopped after the test."""
    servers = []

    def start(statuses=(200,), answer=None):
        state = LocalReceiver(statuses=list(statuses), answer=answer or {})

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                state.requests.append(
                    Received(path=self.path, headers={k.lower(): v for k, v in self.headers.items()}, body=body)
                )
                status = state.next_status()
                payload = json.dumps(state.answer if status < 300 else {"error": "try later"}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        return state

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


class LeakWatch:
    """Everything a pickup code must never appear in: log records, task arguments and task results."""

    def __init__(self, caplog):
        self.caplog = caplog
        self.task_texts: list[str] = []

    def on_publish(self, sender=None, body=None, headers=None, **kwargs):
        self.task_texts.append(repr(body))
        # Only the parts that carry the call; the headers also hold the id and timing fields.
        self.task_texts.append(repr({k: (headers or {}).get(k) for k in ("argsrepr", "kwargsrepr", "task")}))

    def on_prerun(self, sender=None, args=None, kwargs=None, **extra):
        self.task_texts.append(repr((args, kwargs)))

    def on_postrun(self, sender=None, args=None, kwargs=None, retval=None, **extra):
        self.task_texts.append(repr((args, kwargs, retval)))

    def texts(self) -> list[str]:
        texts = list(self.task_texts)
        for record in self.caplog.records:
            texts.append(record.getMessage())
            texts.append(repr(record.args))
            if record.exc_info:
                texts.append(logging.Formatter().formatException(record.exc_info))
            if record.exc_text:
                texts.append(record.exc_text)
        return texts

    def assert_clean(self, *codes: str) -> None:
        assert self.caplog.records, "no log record was captured: the watch would prove nothing"
        assert self.task_texts, "no task call was captured: the watch would prove nothing"
        for code in codes:
            if len(code) == 6 and code.isdigit():
                # As a token of its own: a random id or a timing float may hold the same six digits by chance.
                pattern = re.compile(rf"(?<![0-9A-Za-z]){code}(?![0-9A-Za-z])")
            else:  # a pickup pass token or QR text: anywhere
                assert len(code) >= 20, "a secret this short would match by chance"
                pattern = re.compile(re.escape(code))
            leaks = [text for text in self.texts() if pattern.search(text)]
            assert not leaks, f"the pickup code leaked into: {leaks[:3]}"


@pytest.fixture
def leak_watch(caplog):
    """Capture every log record (DEBUG, every logger incl. celery and kombu) and every task call."""
    caplog.set_level(logging.DEBUG)
    for name in ("celery", "kombu", "amqp", "urllib3", "notifications", "orders", "otp", "django"):
        caplog.set_level(logging.DEBUG, logger=name)
    watch = LeakWatch(caplog)
    signals.before_task_publish.connect(watch.on_publish, weak=False)
    signals.task_prerun.connect(watch.on_prerun, weak=False)
    signals.task_postrun.connect(watch.on_postrun, weak=False)
    yield watch
    signals.before_task_publish.disconnect(watch.on_publish)
    signals.task_prerun.disconnect(watch.on_prerun)
    signals.task_postrun.disconnect(watch.on_postrun)
