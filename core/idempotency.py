"""``Idempotency-Key`` on the API's POSTs (SPEC 14): the same key with the same body within 24 hours answers the
first answer again, without doing anything twice; with another body 409 ``idempotency_key_reused``.

A request with the header first claims (caller, key) by inserting an ``IdempotencyRecord`` ``in_progress`` in a
transaction of its own, committed before the work starts. The unique (user, key) pair decides between parallel
requests: exactly one insert succeeds; the others read the record and wait (polling, up to ``WAIT_SECONDS``) for
its answer, which they then send as their own. The work's answer is kept with the record (``idempotency_finish``);
an answer that says nothing was done and a retry may succeed (429, 5xx) is not kept: the claim is dropped, so the
retry runs (``idempotency_release``). A claim left ``in_progress`` by a process that died is taken over after
``STALE_AFTER``. Expired records are deleted by the beat task ``core.idempotency_records_purge``.

The fingerprint is the method, the path (without its trailing slash, which names the same resource) and the
body: JSON in a canonical form (keys sorted, no spaces), so ``{"otp": "1"}`` and ``{ "otp":"1" }`` are one body;
any other body byte for byte. Only a caller's own keys are looked up: two callers never share a key.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from dataclasses import dataclass
from datetime import timedelta

from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.errors import ApplicationError
from core.models import IdempotencyRecord, IdempotencyStatus

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
TTL = timedelta(hours=24)
# How long a request waits for the answer of another one with its key that is still running; gunicorn's timeout
# (30 s) ends a request long before a claim is taken for abandoned (STALE_AFTER).
WAIT_SECONDS = 25.0
POLL_SECONDS = 0.05
STALE_AFTER = timedelta(seconds=60)
# Visible ASCII, as Stripe and the IETF draft's examples use (UUIDs, random strings); at most 255 characters.
KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,255}")

INVALID_KEY = _("The Idempotency-Key header must be 1 to 255 visible ASCII characters, such as a UUID.")
KEY_REUSED = _(
    "This Idempotency-Key was used with another request (method, path or body) in the last 24 hours. "
    "Use a new key for a new request."
)
KEY_IN_USE = _("A request with this Idempotency-Key is still being processed. Retry it in a moment.")


@dataclass(frozen=True)
class StoredAnswer:
    status: int
    body: str
    content_type: str
    location: str


def idempotency_fingerprint(*, method: str, path: str, body: bytes) -> str:
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        content = canonical.encode("utf-8", "surrogatepass")
    except (ValueError, UnicodeDecodeError, RecursionError):
        content = body
    digest = hashlib.sha256(f"{method.upper()} {path.rstrip('/')}\n".encode())
    digest.update(content)
    return digest.hexdigest()


def idempotency_key_check(key: str) -> str:
    """The key as sent, or ``validation_error`` for one that is not 1-255 visible ASCII characters."""
    if not KEY_PATTERN.fullmatch(key):
        raise ApplicationError("validation_error", INVALID_KEY, {"fields": {HEADER: [str(INVALID_KEY)]}})
    return key


def idempotency_begin(*, user_id, key: str, fingerprint: str) -> IdempotencyRecord | StoredAnswer:
    """Claim ``key`` for the caller (the record to finish or release), or the answer of the first request with it.

    ``idempotency_key_reused`` (409) when the key was used with another fingerprint; ``idempotency_key_in_use``
    (409, ``details.retryAfter``) when the first request has not answered within ``WAIT_SECONDS``."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        now = timezone.now()
        try:
            with transaction.atomic():
                return IdempotencyRecord.objects.create(
                    user_id=user_id,
                    key=key,
                    fingerprint=fingerprint,
                    status=IdempotencyStatus.IN_PROGRESS,
                    created_at=now,
                    expires_at=now + TTL,
                )
        except IntegrityError:
            pass
        record = IdempotencyRecord.objects.filter(user_id=user_id, key=key).first()
        if record is None:
            continue  # released or purged meanwhile: claim it again
        if record.expires_at <= now or (
            record.status == IdempotencyStatus.IN_PROGRESS and record.created_at <= now - STALE_AFTER
        ):
            # Expired, or abandoned by a process that died: delete exactly that claim, then claim the key again.
            IdempotencyRecord.objects.filter(pk=record.pk, status=record.status, created_at=record.created_at).delete()
            continue
        if record.fingerprint != fingerprint:
            raise ApplicationError("idempotency_key_reused", KEY_REUSED)
        if record.status == IdempotencyStatus.DONE:
            return StoredAnswer(
                status=record.response_status,
                body=record.response_body,
                content_type=record.response_content_type,
                location=record.response_location,
            )
        if time.monotonic() >= deadline:
            raise ApplicationError("idempotency_key_in_use", KEY_IN_USE, {"retryAfter": 1})
        time.sleep(POLL_SECONDS)


def idempotency_finish(*, record: IdempotencyRecord, status: int, body: str, content_type: str, location: str) -> None:
    """Keep the answer of the claimed request, or drop the claim when the answer is one to retry (429, 5xx)."""
    if status == 429 or status >= 500:
        idempotency_release(record=record)
        return
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        status=IdempotencyStatus.DONE,
        response_status=status,
        response_body=body,
        response_content_type=content_type[:100],
        response_location=location[:500],
    )


def idempotency_release(*, record: IdempotencyRecord) -> None:
    """Drop a claim whose request failed (nothing kept, so the retry runs). Never raises: it runs while another
    error (a database outage) is being answered; a claim left behind is taken over after STALE_AFTER."""
    try:
        IdempotencyRecord.objects.filter(pk=record.pk, status=IdempotencyStatus.IN_PROGRESS).delete()
    except DatabaseError as error:
        logger.warning("idempotency claim not released: %s", error.__class__.__name__)


def idempotency_records_purge(*, batch_size: int = 5000) -> int:
    """Delete the records older than 24 hours, in batches; return how many."""
    deleted = 0
    while True:
        ids = list(
            IdempotencyRecord.objects.filter(expires_at__lte=timezone.now()).values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return deleted
        deleted += IdempotencyRecord.objects.filter(pk__in=ids).delete()[0]
