from typing import Any

from django.db import transaction
from django.utils import timezone

from core.appsettings import get_spec, invalidate_cache
from core.models import AppSetting, TaskHeartbeat


def app_setting_set(*, key: str, value: Any, store: Any = None) -> AppSetting:
    """Validate and store ``value`` for ``key``, globally or for ``store``. Raises ApplicationError."""
    spec = get_spec(key)
    parsed = spec.parse(value)
    with transaction.atomic():
        setting, _created = AppSetting.objects.select_for_update().update_or_create(
            key=spec.key, store=store, defaults={"value": parsed}
        )
    transaction.on_commit(invalidate_cache)
    return setting


def app_setting_unset(*, key: str, store: Any = None) -> bool:
    """Remove the override (or the global row: the default then holds). True when a row was removed."""
    spec = get_spec(key)
    deleted, _rows = AppSetting.objects.filter(key=spec.key, store=store).delete()
    transaction.on_commit(invalidate_cache)
    return bool(deleted)


def task_heartbeat_record(*, task: str) -> None:
    """Record that a run of the periodic ``task`` has just finished (``/readyz`` reads it, core.selectors).

    One UPDATE of its row in autocommit; the row is created when missing. Two runs at once both write about the
    same time, so the last write winning is fine.
    """
    now = timezone.now()
    if not TaskHeartbeat.objects.filter(task=task).update(last_run_at=now):
        TaskHeartbeat.objects.update_or_create(task=task, defaults={"last_run_at": now})
