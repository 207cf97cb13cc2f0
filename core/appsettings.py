"""Application settings (SPEC 5): the registry of keys, their validation, and the run-time lookup.

Values live in the ``AppSetting`` table: one global row per key (or none: the default holds) and
optional per-store overrides. Every process keeps a snapshot of the (small) table and checks that it is
current once per request or Celery task (outside of both, at every read), and a change is in force in
every web and worker process for the next request or task after it commits:

- ``AppSettingsVersion`` holds a token that every write to ``AppSetting`` replaces, in the same
  transaction (``settings_changed``: the model's ``save``, its queryset's bulk paths and every delete,
  cascades included). Replacing it locks the row, so writers queue there until they commit.
- While it holds that lock, and before it commits, the writer puts the new token in the shared cache
  (Redis, or the file cache of local runs). A process compares the cache's token with its snapshot's:
  one cache read, no SQL. Any difference reloads the snapshot from the database, reading the token
  first and the rows after it, so a snapshot is never older than its token says.
- A token in the cache whose write has not committed yet (or was rolled back) matches no snapshot, so
  readers read the database until it commits: the database decides, the cache only says "unchanged".
- The cache unreachable: the process reads the token from the database instead (one small query per
  request) until the cache answers again. A write that cannot put its token in the cache is refused
  (nothing changed) rather than left unannounced. A token missing from the cache (evicted, Redis
  restarted) or different from the database's for more than a second (a rolled-back write, a Redis
  failover that lost a write) is put right under the row lock, as a writer would.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import caches
from django.db import DEFAULT_DB_ALIAS, transaction
from django.utils import timezone
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
        SettingSpec(
            "CHECKIN_ALERT_MINUTES",
            "int",
            5,
            _("Minutes a customer who checked in may wait before staff pages show them as overdue."),
            1,
            120,
        ),
    )
}


def get_spec(key: str) -> SettingSpec:
    try:
        return SPECS[key]
    except KeyError:
        raise ApplicationError(
            "validation_error", _("Unknown setting %(key)s.") % {"key": key}, {"known": sorted(SPECS)}
        ) from None


# --- the snapshot of the table, kept current through the shared cache -------------------------------------------

CACHE_KEY = "appsettings:token"
# A token stays in the cache until the next write replaces it: an expiry would only make every process reload (and
# one put it back) for nothing. One that goes missing anyway (eviction, a Redis restart) or goes wrong is put right
# by the first process that notices (``_repair``).
CACHE_TOKEN_SECONDS = None
# After a failed cache read, the database is asked for the token instead for this long before the cache is tried again:
# a Redis outage must not cost every request a connection timeout.
CACHE_RETRY_SECONDS = 5.0
# A cache token unlike the database's is left to its writer this long (its transaction commits) before it is put right.
REPAIR_AFTER_SECONDS = 1.0
MISSING_TOKEN = "-"  # the token while the version row does not exist (a flushed database)

logger = logging.getLogger(__name__)
_UNREACHABLE = object()


class _Snapshot:
    """The settings table as this process last read it, with the token it was read at."""

    def __init__(self) -> None:
        # One attribute, replaced whole: a thread reads a token and the values read with it, never a mix.
        self._state: tuple[str | None, dict[tuple[str, str | None], Any]] = (None, {})
        self._cache_down_until = 0.0
        self._mismatch: tuple[Any, float] | None = None

    def invalidate(self) -> None:
        self._state = (None, {})

    def values(self) -> dict[tuple[str, str | None], Any]:
        token, values = self._state
        cached = self._cached_token()
        if cached is not None and cached is not _UNREACHABLE and cached == token:
            return values
        if cached is _UNREACHABLE:
            # Correct without the cache: the database's token says whether the snapshot is current.
            if token is not None and _database_token() == token:
                return values
            return self._reload()[1]
        loaded, values = self._reload()
        if cached is None:
            self._repair()
        elif cached != loaded:
            self._repair_if_lasting(cached)
        else:
            self._mismatch = None
        return values

    def _cached_token(self) -> Any:
        if time.monotonic() < self._cache_down_until:
            return _UNREACHABLE
        try:
            return caches["default"].get(CACHE_KEY)
        except Exception as error:  # noqa: BLE001 - any cache failure: read the database instead
            logger.warning(
                "settings cache unavailable, reading the version from the database: %s", type(error).__name__
            )
            self._cache_down_until = time.monotonic() + CACHE_RETRY_SECONDS
            return _UNREACHABLE

    def _reload(self) -> tuple[str, dict[tuple[str, str | None], Any]]:
        from core.models import AppSetting

        # The token first: rows read after it are at least as new as it says (a write committed in between makes
        # them newer, and the token then differs from the cache's: the next check reloads again).
        token = _database_token()
        rows = AppSetting.objects.values_list("key", "store_id", "value")
        values = {(key, str(store_id) if store_id else None): value for key, store_id, value in rows}
        if token != getattr(_local, "uncommitted_token", None):
            # Not a token this thread's own open transaction wrote: it may still roll back.
            self._state = (token, values)
        return token, values

    def _repair_if_lasting(self, cached: Any) -> None:
        now = time.monotonic()
        if self._mismatch is None or self._mismatch[0] != cached:
            self._mismatch = (cached, now)
        elif now - self._mismatch[1] >= REPAIR_AFTER_SECONDS:
            self._repair()

    def _repair(self) -> None:
        """Put the database's token in the cache, holding the version row's lock as a writer does: no write can be
        between its cache update and its commit meanwhile, so what is put there is what the database holds. A row
        locked by someone else is skipped (``skip_locked``): a writer puts its own token there, and the reader does
        not wait for it inside its own transaction. A missing row (a flushed database) is created."""
        from core.models import AppSettingsVersion

        self._mismatch = None
        try:
            with transaction.atomic():
                versions = AppSettingsVersion.objects
                if not versions.filter(pk=1).exists():
                    # Not on every repair: an insert waits for a writer's uncommitted update of the row.
                    versions.bulk_create([AppSettingsVersion(pk=1, token=uuid.uuid4().hex)], ignore_conflicts=True)
                token = (
                    versions.select_for_update(skip_locked=True).filter(pk=1).values_list("token", flat=True).first()
                )
                if token is not None:
                    caches["default"].set(CACHE_KEY, token, CACHE_TOKEN_SECONDS)
        except Exception as error:  # noqa: BLE001 - the snapshot is right anyway; the next reader tries again
            logger.warning("settings cache token not repaired: %s", type(error).__name__)


def _database_token() -> str:
    from core.models import AppSettingsVersion

    return AppSettingsVersion.objects.filter(pk=1).values_list("token", flat=True).first() or MISSING_TOKEN


_snapshot = _Snapshot()
# Per thread: whether it is in a request or task (``unit_begin``/``unit_end``), the values that unit reads (checked
# once, then the same for the whole unit), and the token of a write in its open transaction.
_local = threading.local()


def unit_begin(**kwargs: Any) -> None:
    """A request or task starts: its first read checks the snapshot, its later reads reuse what that one found."""
    _local.in_unit = True
    _local.pinned = None


def unit_end(**kwargs: Any) -> None:
    _local.in_unit = False
    _local.pinned = None


def _values() -> dict[tuple[str, str | None], Any]:
    pinned = getattr(_local, "pinned", None)
    if pinned is not None:
        return pinned
    values = _snapshot.values()
    if getattr(_local, "in_unit", False):
        _local.pinned = values
    return values


def invalidate_cache() -> None:
    """Drop this process's snapshot (and the current unit's values): the next read loads the table again."""
    _snapshot.invalidate()
    _local.pinned = None


def forget_shared_token() -> None:
    """Tests only: the cache's token, which a test's rolled-back transaction may have left behind, and what this
    process remembers of the cache's health."""
    invalidate_cache()
    _snapshot._cache_down_until = 0.0
    _snapshot._mismatch = None
    _local.uncommitted_token = None
    caches["default"].delete(CACHE_KEY)


def _after_commit() -> None:
    _local.uncommitted_token = None
    invalidate_cache()


def settings_changed(*, using: str = DEFAULT_DB_ALIAS) -> None:
    """Announce a write to ``AppSetting``; call it inside the transaction that writes (the model does).

    Replaces the version row's token (locking the row until commit), puts the new token in the shared cache
    before the commit, and drops this process's snapshot after it. Raises ApplicationError
    (``service_unavailable``) when the cache cannot take the token: the caller's transaction then rolls back.
    """
    from core.models import AppSettingsVersion

    connection = transaction.get_connection(using)
    if not connection.in_atomic_block:
        raise AssertionError("settings_changed() must run inside the transaction that writes the settings")
    token = uuid.uuid4().hex
    versions = AppSettingsVersion.objects.using(using)
    if not versions.filter(pk=1).update(token=token, changed_at=timezone.now()):
        # A database without the row (flushed): create it; a concurrent writer may just have done so.
        versions.bulk_create([AppSettingsVersion(pk=1, token=token)], ignore_conflicts=True)
        versions.filter(pk=1).update(token=token, changed_at=timezone.now())
    try:
        caches["default"].set(CACHE_KEY, token, CACHE_TOKEN_SECONDS)
    except Exception as error:  # refused below: nothing changes
        logger.warning("settings cache unavailable, settings change refused: %s", type(error).__name__)
        raise ApplicationError(
            "service_unavailable",
            _(
                "Settings cannot be saved while the shared cache is unavailable; nothing was changed. Try again shortly."
            ),
        ) from error
    _local.uncommitted_token = token
    _local.pinned = None
    transaction.on_commit(_after_commit, using=using)


def get_setting(key: str, store: Any = None) -> Any:
    """The value in force for ``store`` (a Store, its id, or None for the global value)."""
    spec = get_spec(key)
    values = _values()
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
