"""Structured logs: one JSON object per line (``LOG_FORMAT=json``, the production default).

Log collectors (Loki, CloudWatch, ELK ...) index the fields without parsing free text. A record
carries the time (UTC, ISO 8601), level, logger, message, process id, and, when they are given with
``extra=``, a few known context fields (``package_id``, ``message_id``, ``webhook_id``, ``status``,
``duration_ms``, ``path``, ``method``). Any other ``extra`` is dropped on purpose: only the listed
fields can reach the logs, so a careless ``extra={"otp": ...}`` cannot leak a pickup code.

Nothing in the product logs a pickup code (the services never pass one to a logger; see
``core/tests/test_production_settings.py``, which checks that a whole verify flow logs none).
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
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
        return json.dumps(document, ensure_ascii=False, default=str)


def logging_config(*, log_format: str = "plain", level: str = "INFO") -> dict[str, Any]:
    """The ``LOGGING`` dict: every record to stderr, as text (``plain``) or JSON lines (``json``)."""
    if log_format not in ("plain", "json"):
        raise ValueError(f"LOG_FORMAT must be plain or json, not {log_format!r}")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
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
