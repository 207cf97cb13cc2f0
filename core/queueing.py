"""Publishing a Celery task by its registered name.

A service whose own app's task module imports it (a task calls the service; the service queues the task after
commit) cannot import that module back without an import cycle. It publishes by name instead; each app's
``AppConfig.ready`` imports its ``tasks`` module, so every task is registered in every process (web, worker, beat).
"""

from __future__ import annotations

from typing import Any

from celery import current_app


def task_publish(name: str, *args: Any) -> None:
    """``delay(*args)`` on the task registered as ``name``; raises what the broker raises (callers that must not
    fail log it and leave the row to the outbox relay)."""
    current_app.tasks[name].delay(*args)
