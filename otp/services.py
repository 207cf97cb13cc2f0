"""Pickup codes (SPEC 4): issue, hash, check, count wrong entries, consume, invalidate.

These functions are building blocks of the package commands in ``orders.services``; they expect
to run inside the caller's transaction with the package row already locked, which is what makes
"exactly one of many simultaneous verifications succeeds" hold. The code itself is returned only by
``pickup_code_issue``, to be handed to the outbox encrypted; nothing here logs or stores it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection
from django.db.models import BooleanField, F
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core.errors import ApplicationError
from core.text import local_time_text
from otp import conf
from otp.models import PickupCode

if TYPE_CHECKING:
    from orders.models import Package

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


def pickup_code_current(*, package: Package) -> PickupCode | None:
    """The package's code that is neither used nor invalidated (it may be expired or locked)."""
    return PickupCode.objects.current().filter(package=package).first()


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


# Why a code stopped working (``PickupCode.invalidated_reason``): a resend replaced it, its package was delivered
# or cancelled (a no-show writes ``orders.commands.NO_SHOW``).
# Why a pickup-code limit answered 429, in its ``details.reason`` (the OpenAPI document's enum, core.schema).
RESEND_COOLDOWN = "resend_cooldown"
CODE_QUOTA = "code_quota"
FAILED_VERIFICATIONS = "failed_verifications"
THROTTLE_REASONS = [RESEND_COOLDOWN, CODE_QUOTA, FAILED_VERIFICATIONS]

REPLACED = "replaced"
DELIVERED = "delivered"
CANCELLED = "cancelled"


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


def pickup_code_invalidate(*, package: Package, reason: str, now=None) -> int:
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


def pickup_code_check_issue_allowed(*, package: Package, store_settings: Any, now) -> None:
    """Enforce the resend cooldown and the 24-hour quota; raise ``throttled`` with ``retryAfter``."""
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
        ) % {"count": limit, "time": local_time_text(shown, package.store.zone)}
        raise ApplicationError("throttled", message, {"retryAfter": retry_after, "reason": CODE_QUOTA})


def pickup_code_issue(*, package: Package, store_settings: Any, now) -> tuple[PickupCode, str]:
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


def failed_verifications_recent(*, actor: Any, now) -> list:
    """Times of the actor's failed verifications within the spray window, oldest first."""
    from orders.models import AuditKind, AuditOutcome, AuditRecord

    since = now - timedelta(seconds=conf.SPRAY_WINDOW_SECONDS)
    return list(
        AuditRecord.objects.filter(
            actor=actor, kind=AuditKind.VERIFICATION, outcome=AuditOutcome.FAILURE, created_at__gt=since
        )
        .order_by("-created_at")
        .values_list("created_at", flat=True)[: conf.SPRAY_MAX_FAILURES]
    )


def failed_verifications_window_edge(*, actor: Any, now):
    """A subquery expression: the time of the actor's SPRAY_MAX_FAILURES-th most recent failed
    verification within the window, or NULL when there are fewer (the limit is not reached).

    Lets the caller read it in a query it makes anyway (the package lock of a delivery) and pass it to
    ``verification_check_spray_limit(oldest_counted=...)``, instead of one more round trip.
    """
    from django.db.models import Subquery

    from orders.models import AuditKind, AuditOutcome, AuditRecord

    since = now - timedelta(seconds=conf.SPRAY_WINDOW_SECONDS)
    edge = conf.SPRAY_MAX_FAILURES - 1
    return Subquery(
        AuditRecord.objects.filter(
            actor=actor, kind=AuditKind.VERIFICATION, outcome=AuditOutcome.FAILURE, created_at__gt=since
        )
        .order_by("-created_at")
        .values("created_at")[edge : edge + 1]
    )


_UNREAD = object()

# pg_advisory_xact_lock(classid, objid) namespace of one user's verifications ("OTPV").
_VERIFICATIONS_LOCK_NAMESPACE = 0x4F545056


def verifications_lock_condition(*, actor: Any):
    """A filter condition that takes the actor's verification lock (PostgreSQL, transaction-scoped) before the
    statement locks any row: an uncorrelated subquery, which PostgreSQL evaluates once, ahead of the scan.

    The guess-spraying window counts failures on any package, so no package lock orders two verifications by
    one user; this lock does. A statement that runs after it sees the failures of the user's verifications that
    held it before (READ COMMITTED: each statement reads what was committed when it started), so the window
    must be read in a later statement (``pickup_code_for_verification``). None on other databases (SQLite
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


def pickup_code_for_verification(*, package: Package, actor: Any, now) -> PickupCode | None:
    """``pickup_code_current`` after ``verification_check_spray_limit``, both read in one statement.

    Call it after the actor's verification lock (``verifications_lock_condition``): the window is then read
    with what the actor's earlier verifications committed.
    """
    if actor is None:
        return pickup_code_current(package=package)
    code = (
        PickupCode.objects.current()
        .filter(package=package)
        .annotate(spray_edge=failed_verifications_window_edge(actor=actor, now=now))
        .first()
    )
    verification_check_spray_limit(actor=actor, now=now, oldest_counted=_UNREAD if code is None else code.spray_edge)
    return code


def verification_check_spray_limit(*, actor: Any, now, oldest_counted: Any = _UNREAD) -> None:
    """Refuse (``throttled``) a user with more than SPRAY_MAX_FAILURES failures in the window.

    Counted from the audit table, so it holds across processes and survives a cache flush.
    ``oldest_counted``, when given, is the value of ``failed_verifications_window_edge`` read by
    the caller (None: below the limit); otherwise the failures are read here.
    """
    if actor is None:
        return
    if oldest_counted is _UNREAD:
        failures = failed_verifications_recent(actor=actor, now=now)
        oldest_counted = failures[-1] if len(failures) >= conf.SPRAY_MAX_FAILURES else None
    if oldest_counted is not None:
        frees_at = oldest_counted + timedelta(seconds=conf.SPRAY_WINDOW_SECONDS)
        retry_after = max(1, int((frees_at - now).total_seconds() + 0.999))
        raise ApplicationError(
            "throttled",
            _("Too many wrong pickup codes. Try again in %(seconds)s seconds.") % {"seconds": retry_after},
            {"retryAfter": retry_after, "reason": FAILED_VERIFICATIONS},
        )
