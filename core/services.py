from typing import Any

from django.db import transaction

from core.appsettings import get_spec
from core.models import AppSetting


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
