"""Structured logs: one JSON object per line (``LOG_FORMAT=json``, the production default).

Log collectors (Loki, CloudWatch, ELK ...) index the fields without parsing free text. A record
carries the time (UTC, ISO 8601), level, logger, message, process id, and, when they are given with
``extra=``, a few known context fields (``package_id``, ``message_id``, ``webhook_id``, ``status``,
``duration_ms``, ``path``, ``method``). Any other ``extra`` is dropped on purpose: only the listed
fields can reach the logs, so a careless ``extra={"otp": ...}`` cannot leak a pickup code.

Nothing in the product logs a pickup code (the services never pass one to a logger; see
``core/tests/test_production_settings.py``, which checks that a whole verify flow logs none).

A pickup pass link holds the code sealed (``/p/<token>``, SPEC 13), and its QR text holds it in the clear
(``PICKUP:<package id>:<code>``). Both reach log lines the product does not write itself: gunicorn's access log
and runserver's request line carry the path, Django logs a 404's path. So every record, of every logger and
handler in every process that loads the settings (web, worker, beat, gunicorn's access log), is redacted when it
is made (``install_record_redaction``): ``/p/`` and ``PICKUP:`` are followed by ``…`` instead. The formatters here
redact their whole output as well, for text that reaches them otherwise (an exception's message).
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
from datetime import UTC, datetime
from typing import Any

# The only ``extra`` fields copied into a JSON line.
CONTEXT_FIELDS = (
    "request_id",
    "package_id",
    "message_id",
    "webhook_id",
    "status",
    "duration_ms",
    "path",
    "method",
    "task",
)

# The X-Request-Id of the request being served (core.middleware.RequestIdMiddleware), on every line it logs.
current_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` (the served request's X-Request-Id, or ``-`` outside a request) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = current_request_id.get() or "-"
        return True


# What follows /p/ up to a space or a quote (the pass token, or anything typed in its place), and a pass's QR text.
_SECRET_RE = re.compile(r"""(/p/|PICKUP:)[^\s"'<>]+""")


def redact_pass_secrets(text: str) -> str:
    """``text`` with every pickup pass token and QR text replaced by ``…`` (``/p/…``, ``PICKUP:…``)."""
    if "/p/" not in text and "PICKUP:" not in text:
        return text
    return _SECRET_RE.sub(r"\1…", text)


def _redact_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a malformed record is logging's to report, not ours
        return
    redacted = redact_pass_secrets(message)
    if redacted != message:
        record.msg, record.args = redacted, ()


def install_record_redaction() -> None:
    """Redact every log record of this process as it is made (``logging.setLogRecordFactory``), whoever logs it
    and whatever handler writes it (Celery's, gunicorn's, runserver's). Idempotent."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "redacts_pass_secrets", False):
        return

    def redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        _redact_record(record)
        return record

    redacting_factory.redacts_pass_secrets = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(redacting_factory)


install_record_redaction()


class PlainFormatter(logging.Formatter):
    """The ``plain`` format, its whole line redacted (``redact_pass_secrets``), traceback included."""

    def format(self, record: logging.LogRecord) -> str:
        return redact_pass_secrets(super().format(record))


class JsonFormatter(logging.Formatter):
    """``logging.Formatter`` that writes one compact JSON object per record."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process or os.getpid(),
        }
        for name in CONTEXT_FIELDS:
            value = record.__dict__.get(name)
            if value is not None and value != "-":
                document[name] = value if isinstance(value, int | float | bool) else str(value)
        if record.exc_info:
            # The exception class and traceback: line numbers and code, never local variables.
            document["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            document["stack"] = self.formatStack(record.stack_info)
        return redact_pass_secrets(json.dumps(document, ensure_ascii=False, default=str))


def logging_config(*, log_format: str = "plain", level: str = "INFO") -> dict[str, Any]:
    """The ``LOGGING`` dict: every record to stderr, as text (``plain``) or JSON lines (``json``)."""
    if log_format not in ("plain", "json"):
        raise ValueError(f"LOG_FORMAT must be plain or json, not {log_format!r}")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "plain": {
                "()": "core.logging.PlainFormatter",
                "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
            },
            "json": {"()": "core.logging.JsonFormatter"},
        },
        "filters": {"request_id": {"()": "core.logging.RequestIdFilter"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": log_format, "filters": ["request_id"]}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # SQL parameters could hold anything (hashes, bodies): never at INFO or below.
            "django.db.backends": {"level": "WARNING"},
            "axes": {"level": "WARNING"},
        },
    }
