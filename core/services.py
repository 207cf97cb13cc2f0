from typing import Any

from django.db import transaction
from django.utils import timezone

from core.appsettings import get_spec
from core.models import AppSetting, TaskHeartbeat


def app_setting_set(*, key: str, value: Any, store: Any = None) -> AppSetting:
    """Validate and store ``value`` for ``key``, globally or for ``store``. Raises ApplicationError.

    In force in every process for its next request or task once the caller's transaction commits
    (``AppSetting.save`` announces it); refused with ``service_unavailable`` when the shared cache is down.
    """
    spec = get_spec(key)
    parsed = spec.parse(value)
    with transaction.atomic():
        setting, _created = AppSetting.objects.select_for_update().update_or_create(
            key=spec.key, store=store, defaults={"value": parsed}
        )
    return setting


def app_setting_unset(*, key: str, store: Any = None) -> bool:
    """Remove the override (or the global row: the default then holds). True when a row was removed."""
    spec = get_spec(key)
    deleted, _rows = AppSetting.objects.filter(key=spec.key, store=store).delete()
    return bool(deleted)


def task_heartbeat_record(*, task: str) -> None:
    """Record that a run of the periodic ``task`` has just finished (``/readyz`` reads it, core.selectors).

    One UPDATE of its row in autocommit; the row is created when missing. Two runs at once both write about the
    same time, so the last write winning is fine.
    """
    now = timezone.now()
    if not TaskHeartbeat.objects.filter(task=task).update(last_run_at=now):
        TaskHeartbeat.objects.update_or_create(task=task, defaults={"last_run_at": now})


def app_settings_save(*, store: Any = None, values: dict[str, Any]) -> list[str]:
    """Set or remove several keys of one scope (global when ``store`` is None) in one transaction: a value stores it,
    None removes the scope's own value (the store then follows the global value, the global the default). Only
    what differs from the stored rows is written. Returns the keys changed. Raises ApplicationError (nothing
    changed) for an unknown key or invalid value."""
    parsed = {get_spec(key).key: None if value is None else get_spec(key).parse(value) for key, value in values.items()}
    changed = []
    with transaction.atomic():
        stored = {row.key: row for row in AppSetting.objects.select_for_update().filter(key__in=parsed, store=store)}
        for key, value in parsed.items():
            row = stored.get(key)
            if value is None:
                if row is not None:
                    row.delete()
                    changed.append(key)
            elif row is None or row.value != value:
                app_setting_set(key=key, value=value, store=store)
                changed.append(key)
    return changed
