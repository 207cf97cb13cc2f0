"""Application settings (SPEC 5): the registry of keys, their validation, and the run-time lookup.

Values live in the ``AppSetting`` table: one global row per key (or none: the default holds) and
optional per-store overrides. Every process keeps a snapshot of the table for
``settings.APP_SETTINGS_CACHE_SECONDS`` (2 s by default), so a saved change is in force in every web
and worker process within a few seconds, with one small query per process per window.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings as django_settings
from django.utils.translation import gettext_lazy as _

from core.errors import ApplicationError

CHANNELS = ("sms", "email", "push")
_ASCII_INTEGER = re.compile(r"-?[0-9]+")


@dataclass(frozen=True)
class SettingSpec:
    key: str
    kind: str  # "bool" | "int" | "channels"
    default: Any
    help_text: str
    min_value: int | None = None
    max_value: int | None = None
    choices: tuple[str, ...] = field(default=())

    def parse(self, raw: Any) -> Any:
        """Turn a value from the admin, the CLI or JSON into the typed value, or raise ApplicationError."""
        if self.kind == "bool":
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ApplicationError(
                "validation_error",
                _("%(key)s must be true or false, not %(value)r.") % {"key": self.key, "value": raw},
            )
        if self.kind == "int":
            if isinstance(raw, bool):
                raise ApplicationError("validation_error", _("%(key)s must be a whole number.") % {"key": self.key})
            # ASCII digits only: int() also takes other scripts' digits ("١٢٠"), underscores and "+".
            if not isinstance(raw, int) and not _ASCII_INTEGER.fullmatch(str(raw).strip()):
                raise ApplicationError(
                    "validation_error",
                    _("%(key)s must be a whole number, not %(value)r.") % {"key": self.key, "value": raw},
                )
            value = raw if isinstance(raw, int) else int(str(raw).strip())
            if (self.min_value is not None and value < self.min_value) or (
                self.max_value is not None and value > self.max_value
            ):
                raise ApplicationError(
                    "validation_error",
                    _("%(key)s must be between %(min)s and %(max)s.")
                    % {"key": self.key, "min": self.min_value, "max": self.max_value},
                )
            return value
        if self.kind == "channels":
            items = raw if isinstance(raw, list | tuple) else str(raw).replace(" ", "").split(",")
            items = [str(item).strip().lower() for item in items if str(item).strip()]
            unknown = sorted(set(items) - set(CHANNELS))
            if unknown or not items:
                raise ApplicationError(
                    "validation_error",
                    _("%(key)s takes one or more of sms, email, push.") % {"key": self.key},
                )
            return [channel for channel in CHANNELS if channel in items]
        raise AssertionError(self.kind)

    def render(self, value: Any) -> str:
        if self.kind == "bool":
            return "true" if value else "false"
        if self.kind == "channels":
            return ",".join(value)
        return str(value)


_BIG = 10**6
SPECS: dict[str, SettingSpec] = {
    spec.key: spec
    for spec in (
        SettingSpec("IS_OTP_ENABLED", "bool", True, _("Issue and require a pickup code.")),
        SettingSpec("OTP_TTL_SECONDS", "int", 600, _("How long a pickup code is valid."), 60, 86400),
        SettingSpec("OTP_MAX_ATTEMPTS", "int", 5, _("Wrong entries before a code is locked."), 1, 10),
        SettingSpec("OTP_RESEND_COOLDOWN_SECONDS", "int", 60, _("Minimum seconds between codes."), 0, 86400),
        SettingSpec("OTP_MAX_CODES_PER_PACKAGE", "int", 5, _("Codes per package in 24 hours."), 1, 100),
        SettingSpec("ALLOW_MANUAL_CONFIRM", "bool", True, _("Staff may confirm a code seen on the phone.")),
        SettingSpec("PICKUP_HOLD_HOURS", "int", 72, _("Hours a ready package is held."), 1, 720),
        SettingSpec("PICKUP_REMINDER_HOURS", "int", 24, _("Reminder this many hours before expiry; 0 = none."), 0, 720),
        SettingSpec("NO_SHOW_WATCH_THRESHOLD", "int", 2, _("No-shows for the watch tier."), 1, 1000),
        SettingSpec("NO_SHOW_RESTRICT_THRESHOLD", "int", 3, _("No-shows for the restricted tier."), 1, 1000),
        SettingSpec("NO_SHOW_RESTRICT_DAYS", "int", 14, _("Days a restriction lasts."), 1, 3650),
        SettingSpec("NO_SHOW_STRIKE_DECAY_DAYS", "int", 90, _("Days a no-show counts."), 1, 3650),
        SettingSpec("CODE_CHANNELS", "channels", list(CHANNELS), _("Channels that carry pickup codes.")),
    )
}


def get_spec(key: str) -> SettingSpec:
    try:
        return SPECS[key]
    except KeyError:
        raise ApplicationError(
            "validation_error", _("Unknown setting %(key)s.") % {"key": key}, {"known": sorted(SPECS)}
        ) from None


class _Snapshot:
    """The settings table as one process last read it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded_at = -1.0
        self._values: dict[tuple[str, str | None], Any] = {}

    def invalidate(self) -> None:
        self._loaded_at = -1.0

    def values(self) -> dict[tuple[str, str | None], Any]:
        max_age = django_settings.APP_SETTINGS_CACHE_SECONDS
        now = time.monotonic()
        if self._loaded_at < 0 or now - self._loaded_at >= max_age:
            from core.models import AppSetting

            rows = AppSetting.objects.values_list("key", "store_id", "value")
            values = {(key, str(store_id) if store_id else None): value for key, store_id, value in rows}
            with self._lock:
                self._values, self._loaded_at = values, now
        return self._values


_snapshot = _Snapshot()


def invalidate_cache() -> None:
    _snapshot.invalidate()


def get_setting(key: str, store: Any = None) -> Any:
    """The value in force for ``store`` (a Store, its id, or None for the global value)."""
    spec = get_spec(key)
    values = _snapshot.values()
    store_id = getattr(store, "pk", store)
    if store_id is not None and (key, str(store_id)) in values:
        return values[(key, str(store_id))]
    return values.get((key, None), spec.default)


class StoreSettings:
    """Attribute access to the settings in force for one store: ``StoreSettings(store).OTP_TTL_SECONDS``."""

    def __init__(self, store: Any = None) -> None:
        self._store = store

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):
            raise AttributeError(key)
        return get_setting(key, self._store)
