"""Pickup codes (SPEC 4): issue, hash, check, count wrong entries, consume, invalidate; the resend limits and the
guess-spraying limit.

These functions are building blocks of the package commands in ``orders.services``; they expect to run inside the
caller's transaction with the package row already locked, which is what makes "exactly one of many simultaneous
verifications succeeds" hold. ``package`` is the model instance a code belongs to (``PickupCode.package``); nothing
here reads more of it than its primary key. What the limits need from above (the caller's failed verifications) is
passed in as a value. The code itself is returned only by ``pickup_code_issue``, to be handed to the outbox
encrypted; nothing here logs or stores it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta, tzinfo
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import BooleanField, Expression, F, Model
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core.errors import ApplicationError
from core.text import local_time_text
from otp import conf
from otp.models import PickupCode

# ASCII digits only: ``\d`` and ``int()`` also accept other scripts' digits ("١٢٣٤٥٦").
_CODE_RE = re.compile(rf"[0-9]{{{conf.CODE_DIGITS}}}")


def code_generate() -> str:
    return f"{secrets.randbelow(10**conf.CODE_DIGITS):0{conf.CODE_DIGITS}d}"


def code_hash(*, package_id: Any, code: str) -> str:
    """HMAC-SHA256 under OTP_HASH_KEY, bound to the package so a hash means nothing elsewhere."""
    key = settings.OTP_HASH_KEY.encode()
    return hmac.new(key, f"{package_id}:{code}".encode(), hashlib.sha256).hexdigest()


def code_check_format(value: Any) -> str:
    """Return ``value`` if it is a string of exactly six ASCII digits, else raise ``validation_error``.

    A malformed code is not an attempt: callers check the format before touching any counter.
    """
    if not isinstance(value, str) or not _CODE_RE.fullmatch(value):
        raise ApplicationError(
            "validation_error",
            _("The pickup code must be exactly 6 digits (0-9)."),
            {"fields": {"otp": [str(_("Enter the 6-digit code."))]}},
        )
    return value


def pickup_code_current(*, package: Model, with_values: dict[str, Expression] | None = None) -> PickupCode | None:
    """The package's code that is neither used nor invalidated (it may be expired or locked).

    ``with_values``: expressions the caller reads in the same statement, as attributes of the code returned
    (the caller's failure window, ``verification_check_spray_limit``).
    """
    codes = PickupCode.objects.current().filter(package=package)
    if with_values:
        codes = codes.annotate(**with_values)
    return codes.first()


def pickup_code_is_current(*, package_id: Any, pickup_code_id: Any, code: str) -> bool:
    """Whether a code written to the outbox is still the package's current code: not used, invalidated or replaced.

    The outbox records the ``PickupCode`` it carries, so the check compares ids and does not need OTP_HASH_KEY
    (while the key is being rotated, workers may hold another key than the web process that issued the code).
    Rows written before that reference existed (``pickup_code_id`` None) are checked by the code's hash; that
    branch can go once no outbox row holds a code without its row (``secret_encrypted`` set, ``pickup_code`` NULL,
    in ``notifications.Message`` and ``WebhookDelivery``): such rows are wiped when they are sent or fail.
    """
    current = PickupCode.objects.current().filter(package_id=package_id).first()
    if current is None:
        return False
    if pickup_code_id is not None:
        return current.pk == pickup_code_id
    return pickup_code_matches(code=current, value=code)


# What a pickup pass finds of the code it holds (``pickup_code_state``).
CODE_LIVE = "live"
CODE_EXPIRED = "expired"
CODE_LOCKED = "locked"
CODE_USED = "used"
CODE_REPLACED = "replaced"
CODE_UNKNOWN = "unknown"


def pickup_code_state(*, package_id: Any, value: str, now) -> str:
    """What became of the code ``value`` of the package, for its pickup pass (SPEC 13): ``live`` (the current code,
    unexpired and unlocked: the only state in which a pass shows it), ``expired``, ``locked``, ``used``,
    ``replaced`` (a resend, or the package's delivery or cancellation, ended it) or ``unknown``. Reads the package's
    codes newest first and compares each stored hash in constant time; it changes nothing and counts no attempt.
    """
    for code in PickupCode.objects.filter(package_id=package_id).order_by("-created_at", "-id"):
        if not pickup_code_matches(code=code, value=value):
            continue
        if code.used_at is not None:
            return CODE_USED
        if code.invalidated_at is not None:
            return CODE_REPLACED
        if code.is_locked:
            return CODE_LOCKED
        if code.is_expired(now):
            return CODE_EXPIRED
        return CODE_LIVE
    return CODE_UNKNOWN


def pickup_code_refusal(*, code: PickupCode | None, now) -> ApplicationError | None:
    """Why ``code`` cannot be used at all now, whatever value is entered; None when it is live."""
    if code is None:
        return ApplicationError("otp_not_issued")
    if code.is_locked:
        return ApplicationError("otp_locked", details={"attemptsRemaining": 0})
    if code.is_expired(now):
        return ApplicationError("otp_expired")
    return None


def pickup_code_matches(*, code: PickupCode, value: str) -> bool:
    """Constant-time comparison of the entered value's hash with the stored one."""
    return hmac.compare_digest(code_hash(package_id=code.package_id, code=value), code.code_hash)


# Why a pickup-code limit answered 429, in its ``details.reason`` (the OpenAPI document's enum).
RESEND_COOLDOWN = "resend_cooldown"
CODE_QUOTA = "code_quota"
FAILED_VERIFICATIONS = "failed_verifications"
THROTTLE_REASONS = [RESEND_COOLDOWN, CODE_QUOTA, FAILED_VERIFICATIONS]

# Why a code stopped working (``PickupCode.invalidated_reason``): a resend replaced it, its package was delivered,
# cancelled, or cancelled as a no-show (the same word as the package's ``cancellation_reason``).
REPLACED = "replaced"
DELIVERED = "delivered"
CANCELLED = "cancelled"
NO_SHOW = "no_show"


def pickup_code_matches_replaced(*, package_ids: list[Any], value: str, now) -> bool:
    """Whether ``value`` is an earlier code of one of the packages that a newer code replaced (a resend) within
    the last QUOTA_WINDOW_SECONDS: the customer showed the first message instead of the latest one.

    Only for the message of a wrong entry: the value is still refused and counted as one on the current code
    (SPEC 4: a replaced code stops working at once). One query, made only on the wrong-code path, so a
    successful verification reads nothing more. The window is the 24-hour resend quota's, counted from the
    replacement, not the TTL: a code replaced within the TTL would be only the one the current code replaced
    (the current code is live, so it was issued less than a TTL ago), while a customer who had two resends
    still holds the first message. Each replacement is the issue of a new code, and at most
    OTP_MAX_CODES_PER_PACKAGE codes of a package are issued within that window, so the read and the
    comparisons stay bounded. Each stored hash is compared in constant time, all of them whatever matched.
    """
    since = now - timedelta(seconds=conf.QUOTA_WINDOW_SECONDS)
    replaced = PickupCode.objects.filter(
        package_id__in=package_ids, invalidated_reason=REPLACED, invalidated_at__gt=since
    ).values_list("package_id", "code_hash")
    matches = [hmac.compare_digest(code_hash(package_id=pid, code=value), stored) for pid, stored in replaced]
    return any(matches)


def pickup_code_register_wrong_entry(*, code: PickupCode) -> int:
    """Count one wrong entry atomically in the database; return the attempts remaining.

    The guarded ``F() + 1`` update never counts past ``max_attempts``, whatever runs in parallel.
    """
    PickupCode.objects.filter(pk=code.pk, attempts__lt=F("max_attempts")).update(attempts=F("attempts") + 1)
    code.refresh_from_db(fields=["attempts"])
    return code.attempts_remaining


def pickup_code_consume(*, code: PickupCode, now) -> bool:
    """Mark the code used (compare-and-set); True for the one caller that consumed it."""
    return bool(PickupCode.objects.current().filter(pk=code.pk).update(used_at=now))


def pickup_code_invalidate(*, package: Model, reason: str, now=None) -> int:
    """Invalidate every current code of the package (replaced, cancelled, no_show, delivered)."""
    return (
        PickupCode.objects.current()
        .filter(package=package)
        .update(invalidated_at=now or timezone.now(), invalidated_reason=reason)
    )


def pickup_codes_invalidate_for_packages(*, package_ids: list[Any], reason: str, now) -> int:
    """``pickup_code_invalidate`` for many packages in one statement (the no-show sweep)."""
    return (
        PickupCode.objects.current()
        .filter(package_id__in=package_ids)
        .update(invalidated_at=now, invalidated_reason=reason)
    )


def pickup_code_check_issue_allowed(*, package: Model, store_settings: Any, zone: tzinfo, now) -> None:
    """Enforce the resend cooldown and the 24-hour quota; raise ``throttled`` with ``retryAfter``.

    ``zone``: the store's time zone, in which the message says when the quota opens again.
    """
    window_start = now - timedelta(seconds=conf.QUOTA_WINDOW_SECONDS)
    recent = list(
        PickupCode.objects.filter(package=package, created_at__gt=window_start)
        .order_by("created_at")
        .values_list("created_at", flat=True)
    )
    if recent:
        cooldown_ends = recent[-1] + timedelta(seconds=store_settings.OTP_RESEND_COOLDOWN_SECONDS)
        if now < cooldown_ends:
            retry_after = max(1, int((cooldown_ends - now).total_seconds() + 0.999))
            raise ApplicationError(
                "throttled",
                _("A new code can be sent in %(seconds)s seconds.") % {"seconds": retry_after},
                {"retryAfter": retry_after, "reason": RESEND_COOLDOWN},
            )
    if len(recent) >= store_settings.OTP_MAX_CODES_PER_PACKAGE:
        limit = store_settings.OTP_MAX_CODES_PER_PACKAGE
        frees_at = recent[-limit] + timedelta(seconds=conf.QUOTA_WINDOW_SECONDS)
        retry_after = max(1, int((frees_at - now).total_seconds() + 0.999))
        # The window is the last 24 hours, not the calendar day: after midnight it is still closed. Say when it
        # opens, in the store's time, rounded up to the minute (never a time at which it is still refused).
        shown = frees_at.replace(second=0, microsecond=0)
        if shown < frees_at:
            shown += timedelta(minutes=1)
        message = ngettext(
            "At most %(count)s code can be sent for a package in 24 hours. The next one can be sent at %(time)s.",
            "At most %(count)s codes can be sent for a package in 24 hours. The next one can be sent at %(time)s.",
            limit,
        ) % {"count": limit, "time": local_time_text(shown, zone)}
        raise ApplicationError("throttled", message, {"retryAfter": retry_after, "reason": CODE_QUOTA})


def pickup_code_issue(*, package: Model, store_settings: Any, now) -> tuple[PickupCode, str]:
    """Replace any current code with a new one; return the row and the plaintext code.

    The caller holds the package lock and has checked ``pickup_code_check_issue_allowed`` where
    a limit applies. The plaintext goes only into the encrypted outbox.
    """
    pickup_code_invalidate(package=package, reason=REPLACED, now=now)
    value = code_generate()
    code = PickupCode.objects.create(
        package=package,
        code_hash=code_hash(package_id=package.pk, code=value),
        created_at=now,
        expires_at=now + timedelta(seconds=store_settings.OTP_TTL_SECONDS),
        max_attempts=store_settings.OTP_MAX_ATTEMPTS,
    )
    return code, value


def spray_window_start(*, now: datetime) -> datetime:
    """The start of the guess-spraying window: failed verifications after it count towards the limit."""
    return now - timedelta(seconds=conf.SPRAY_WINDOW_SECONDS)


# pg_advisory_xact_lock(classid, objid) namespace of one user's verifications ("OTPV").
_VERIFICATIONS_LOCK_NAMESPACE = 0x4F545056


def verifications_lock_condition(*, actor: Any):
    """A filter condition that takes the actor's verification lock (PostgreSQL, transaction-scoped) before the
    statement locks any row: an uncorrelated subquery, which PostgreSQL evaluates once, ahead of the scan.

    The guess-spraying window counts failures on any package, so no package lock orders two verifications by
    one user; this lock does. A statement that runs after it sees the failures of the user's verifications that
    held it before (READ COMMITTED: each statement reads what was committed when it started), so the window
    must be read in a later statement (``pickup_code_current(with_values=...)``). None on other databases (SQLite
    serialises writers anyway) and for a caller without an account.
    """
    if actor is None or actor.pk is None or connection.vendor != "postgresql":
        return None
    return RawSQL(
        "(SELECT true FROM pg_advisory_xact_lock(%s, %s))",
        (_VERIFICATIONS_LOCK_NAMESPACE, actor.pk),
        output_field=BooleanField(),
    )


def verifications_lock(*, actor: Any) -> None:
    """Take the actor's verification lock (see ``verifications_lock_condition``) in a statement of its own,
    before the transaction locks any row: advisory locks are always taken first, so they cannot deadlock."""
    if actor is None or actor.pk is None or connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_advisory_xact_lock(%s, %s)", (_VERIFICATIONS_LOCK_NAMESPACE, actor.pk))


def verification_check_spray_limit(*, oldest_counted: datetime | None, now: datetime) -> None:
    """Refuse (``throttled``) a user with SPRAY_MAX_FAILURES failed verifications within the window.

    ``oldest_counted``: the time of the user's SPRAY_MAX_FAILURES-th most recent failed verification after
    ``spray_window_start(now)``, or None when there are fewer. The caller reads it from its record of attempts
    (the audit table in ``orders``), so the limit holds across processes and survives a cache flush.
    """
    if oldest_counted is not None:
        frees_at = oldest_counted + timedelta(seconds=conf.SPRAY_WINDOW_SECONDS)
        retry_after = max(1, int((frees_at - now).total_seconds() + 0.999))
        raise ApplicationError(
            "throttled",
            _("Too many wrong pickup codes. Try again in %(seconds)s seconds.") % {"seconds": retry_after},
            {"retryAfter": retry_after, "reason": FAILED_VERIFICATIONS},
        )
