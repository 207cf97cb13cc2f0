"""Sending the outbox (SPEC 7, 8): the services behind the Celery tasks in ``notifications.tasks``.

Writing the rows happens in ``notifications.services`` inside the commands' transactions; this module
delivers them afterwards. Every attempt follows one contract:

- The row is claimed with ``SELECT ... FOR UPDATE SKIP LOCKED`` and must still be ``pending``, so a
  message is sent once even when its task runs twice or in parallel: the second run finds the row locked
  (and skips it) or already ``sent``/``failed`` (and does nothing). On SQLite the transaction's write lock
  serialises attempts the same way.
- The lock is held while the backend hands the message over; the outcome is written in that same
  transaction: ``sent`` (with the provider's id), ``pending`` again with the error and a retry delay, or
  ``failed`` after ``NOTIFY_MAX_TRIES`` tries or an error that no retry can fix.
- A webhook delivery deliberately not sent (``NotSent``: the Whisperer event of a code that was used, invalidated
  or replaced meanwhile) becomes ``skipped`` with the reason, not ``failed``, and is never retried (SPEC 8).
- The code waits encrypted in ``secret_encrypted`` and is wiped when the row becomes ``sent``, ``failed`` or
  ``skipped``. It is decrypted only into the text handed to the backend, never logged, stored or returned.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import requests
from cryptography.fernet import InvalidToken
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.template import TemplateDoesNotExist
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext, gettext_noop

from core.queueing import task_publish
from notifications.backends import OutgoingMessage, PermanentSendError, SendError, TransientSendError, backend_for
from notifications.crypto import decrypt
from notifications.http_deadline import DeadlineExceeded, post_within
from notifications.models import (
    CODE_MASK,
    DeliveryStatus,
    Message,
    WebhookAttempt,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEventType,
)
from notifications.rendering import message_pass_url, message_render
from notifications.services import message_enqueue, webhook_enqueue

logger = logging.getLogger(__name__)

# Fixed reasons stored in ``last_error`` in English (the logs' language), shown translated in admin.
CODE_NOT_CURRENT = gettext_noop("not sent: the code was used, invalidated or replaced in the meantime")
_TRANSLATED_REASONS = frozenset({CODE_NOT_CURRENT})


class NotSent(PermanentSendError):
    """Deliberately not sent: nothing failed, there is just nothing that should go out any more (a dead code). A
    webhook delivery ends ``skipped``; a customer message, whose statuses are SPEC 7's three, ends ``failed``."""


def sending_error_label(text: str) -> str:
    """A stored ``last_error`` as the reader sees it: a fixed reason translated, any other text as stored."""
    return gettext(text) if text in _TRANSLATED_REASONS else text


@dataclass(frozen=True)
class AttemptOutcome:
    """What one attempt did: the row's new status and tries so far; ``retry_in`` seconds when pending."""

    status: str
    attempts: int
    retry_in: float | None = None


def max_tries() -> int:
    return settings.NOTIFY_MAX_TRIES


def retry_delay(*, attempts: int) -> float:
    """Exponential backoff after ``attempts`` failed tries: base, 2x base, 4x base ... plus up to 10% jitter."""
    delay = settings.NOTIFY_RETRY_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0)
    return delay + random.uniform(0, delay / 10)


def _backoff_span(attempts: int) -> float:
    """Time the retries of a row with ``attempts`` failed tries have had by design (without jitter)."""
    return settings.NOTIFY_RETRY_BACKOFF_SECONDS * (2**attempts - 1)


def _safe_error(error: BaseException) -> str:
    """A storable text for an unexpected error: the class only, since a message may quote the body."""
    return f"unexpected error: {error.__class__.__name__}"


def _outcome_for(*, attempts: int, error: SendError | None) -> tuple[str, float | None]:
    if error is None:
        return DeliveryStatus.SENT, None
    if not error.retryable or attempts >= max_tries():
        return DeliveryStatus.FAILED, None
    return DeliveryStatus.PENDING, retry_delay(attempts=attempts)


# --- customer messages ----------------------------------------------------------------------------


def _decrypt_code(secret: bytes | memoryview) -> str:
    """The code waiting in ``secret``; TransientSendError when no key of this process opens it.

    Retried rather than failed at once: while a FIELD_ENCRYPTION_KEYS change rolls out, a web process may
    already encrypt with a key this worker does not have yet, and a later try (here after a restart, or on
    another worker) has it. After NOTIFY_MAX_TRIES the row fails and the code is wiped, as for any error.
    """
    try:
        return decrypt(secret)
    except InvalidToken:
        raise TransientSendError(
            "the code cannot be decrypted (FIELD_ENCRYPTION_KEYS changed?); send a new code"
        ) from None


def _message_outgoing(message: Message) -> OutgoingMessage:
    """The real text of ``message``: its template rendered with the decrypted code."""
    code = None
    if message.secret_encrypted:
        code = _decrypt_code(message.secret_encrypted)
    elif CODE_MASK in message.body:
        raise PermanentSendError("the code of this message was wiped; send a new code")
    if (
        code is not None
        and message.package_id
        and not _code_is_current(package_id=message.package_id, pickup_code_id=message.pickup_code_id, code=code)
    ):
        # Sent late (a broker outage): the package was delivered or cancelled, or a newer code went out since.
        raise NotSent(CODE_NOT_CURRENT)
    try:
        subject, body = message_render(
            event=message.event,
            channel=message.channel,
            language=message.language,
            context=message.context,
            code=code,
            pass_url=message_pass_url(package_id=message.package_id, context=message.context, code=code, masked=False),
        )
    except TemplateDoesNotExist as error:
        raise PermanentSendError(f"no template {error}") from None
    return OutgoingMessage(
        id=str(message.pk),
        channel=message.channel,
        to=message.recipient,
        event=message.event,
        language=message.language,
        subject=subject,
        body=body,
        masked_body=message.body,
        package_id=str(message.package_id) if message.package_id else None,
        created_at=message.created_at,
    )


def _code_is_current(*, package_id: Any, pickup_code_id: int | None, code: str) -> bool:
    """Whether the row's code is still the package's code: not used, invalidated or replaced by a resend.

    Asked of the function named by NOTIFY_CODE_IS_CURRENT (the pickup codes' own, ``otp.services``), with the
    ``PickupCode`` row the outbox row recorded (None on rows written before that reference existed).
    """
    return import_string(settings.NOTIFY_CODE_IS_CURRENT)(
        package_id=package_id, pickup_code_id=pickup_code_id, code=code
    )


def message_send_attempt(*, message_id: Any) -> AttemptOutcome | None:
    """Try to send one pending message once; see the module docstring for the contract.

    Returns None when there is nothing to do: no such row, no longer pending, or locked by a parallel
    attempt. Otherwise the outcome, with ``retry_in`` when the caller should try again later.
    """
    with transaction.atomic():
        message = (
            Message.objects.select_for_update(skip_locked=True)
            .filter(pk=message_id, status=DeliveryStatus.PENDING)
            .first()
        )
        if message is None:
            return None
        attempts = message.attempts + 1
        error: SendError | None = None
        provider_id = ""
        try:
            provider_id = backend_for(message.channel).send(_message_outgoing(message))
        except SendError as send_error:
            error = send_error
        except Exception as unexpected:  # a backend bug must not leave the row locked forever
            logger.exception("message %s: the %s backend raised", message.pk, message.channel)
            error = TransientSendError(_safe_error(unexpected))
        status, retry_in = _outcome_for(attempts=attempts, error=error)
        changes: dict[str, Any] = {"status": status, "attempts": attempts, "last_error": str(error or "")[:2000]}
        if status == DeliveryStatus.SENT:
            changes.update(sent_at=timezone.now(), provider_message_id=provider_id[:255])
        if status != DeliveryStatus.PENDING:
            changes["secret_encrypted"] = None
        Message.objects.filter(pk=message.pk).update(**changes)
    if error is None:
        logger.info("message %s sent (%s, %s)", message.pk, message.channel, message.event)
    else:
        logger.warning(
            "message %s try %s of %s failed: %s%s",
            message.pk,
            attempts,
            max_tries(),
            error,
            "" if status == DeliveryStatus.PENDING else " (final)",
        )
    return AttemptOutcome(status=status, attempts=attempts, retry_in=retry_in)


# --- webhooks -----------------------------------------------------------------------------------------


def webhook_secret_bytes(secret: str) -> bytes:
    """The signing key of a Standard Webhooks secret ``whsec_<base64>``; PermanentSendError if malformed."""
    encoded = secret.strip().removeprefix("whsec_")
    try:
        # Padding is optional in the secrets other implementations hand out.
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise PermanentSendError("the endpoint's secret is not whsec_<base64>") from None
    if not key:
        raise PermanentSendError("the endpoint's secret is empty")
    return key


def webhook_signature(*, secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of "id.timestamp.body">`` (Standard Webhooks)."""
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(webhook_secret_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def _webhook_body(delivery: WebhookDelivery) -> bytes:
    """The bytes to send: the stored payload, with the Whisperer event's code decrypted into ``data.otp``."""
    payload = json.loads(json.dumps(delivery.payload))
    if delivery.event_type == WebhookEventType.PACKAGE_READY_WHISPERER:
        data = payload.setdefault("data", {})
        if delivery.secret_encrypted:
            code = _decrypt_code(delivery.secret_encrypted)
            if delivery.package_id and not _code_is_current(
                package_id=delivery.package_id, pickup_code_id=delivery.pickup_code_id, code=code
            ):
                # Late (an endpoint down, retried with backoff): the extension app must not get a dead code.
                raise NotSent(CODE_NOT_CURRENT)
            data["otp"] = code
        elif data.get("otp") == CODE_MASK:
            raise PermanentSendError("the code of this event was wiped")
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def _webhook_post(delivery: WebhookDelivery) -> tuple[int | None, SendError | None]:
    endpoint = delivery.endpoint
    if not endpoint.is_active:
        return None, PermanentSendError("the endpoint is not active")
    body = _webhook_body(delivery)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "clickcollect-webhooks/1",
        "webhook-id": delivery.webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": webhook_signature(
            secret=endpoint.secret, webhook_id=delivery.webhook_id, timestamp=timestamp, body=body
        ),
    }
    try:
        # stream=True (post_within): the answer's status is all that counts, and its body is never read. Without
        # it requests reads the whole body, and WEBHOOK_TIMEOUT bounds each read, not the total: a receiver that
        # answers 200 and then trickles a byte every few seconds held the worker, and this row's lock and
        # transaction, for as long as it liked, and the delivery it had accepted was recorded as failed. The same
        # trickle in the status line or the headers is cut by WEBHOOK_DEADLINE, which bounds the whole try
        # (connect, TLS, sending, status line and headers) however each read is paced.
        response = post_within(
            endpoint.url,
            data=body,
            headers=headers,
            deadline=settings.WEBHOOK_DEADLINE,
            timeout=settings.WEBHOOK_TIMEOUT,
            allow_redirects=False,
        )
    except DeadlineExceeded as error:
        return None, TransientSendError(f"endpoint too slow: {error} (WEBHOOK_DEADLINE)")
    except requests.RequestException as error:
        return None, TransientSendError(f"endpoint unreachable: {error.__class__.__name__}")
    response.close()
    if 200 <= response.status_code < 300:
        return response.status_code, None
    # Any other answer is retried (Standard Webhooks); the response body is not kept.
    return response.status_code, TransientSendError(f"endpoint answered HTTP {response.status_code}")


def webhook_deliver_attempt(*, delivery_id: Any) -> AttemptOutcome | None:
    """Try to deliver one pending webhook once, with the same ``webhook-id`` as every other try.

    Same contract as ``message_send_attempt``; every try that reaches the network (or fails before it)
    is recorded as a ``WebhookAttempt`` with its response status, error and duration. A delivery
    deliberately not sent (``NotSent``) ends ``skipped`` with the reason, its code wiped, not retried.
    """
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("endpoint")
            .filter(pk=delivery_id, status=DeliveryStatus.PENDING)
            .first()
        )
        if delivery is None:
            return None
        attempts = delivery.attempts + 1
        started_at = timezone.now()
        started = time.monotonic()
        try:
            response_status, error = _webhook_post(delivery)
        except SendError as send_error:
            response_status, error = None, send_error
        except Exception as unexpected:  # recorded like any failed try
            logger.exception("webhook delivery %s raised", delivery.pk)
            response_status, error = None, TransientSendError(_safe_error(unexpected))
        duration_ms = int((time.monotonic() - started) * 1000)
        WebhookAttempt.objects.create(
            delivery=delivery,
            attempted_at=started_at,
            response_status=response_status,
            error=str(error or "")[:2000],
            duration_ms=duration_ms,
        )
        if isinstance(error, NotSent):
            status, retry_in = WebhookDeliveryStatus.SKIPPED, None
        else:
            status, retry_in = _outcome_for(attempts=attempts, error=error)
        changes: dict[str, Any] = {
            "status": status,
            "attempts": attempts,
            "last_response_status": response_status,
            "last_error": str(error or "")[:2000],
        }
        if status == DeliveryStatus.SENT:
            changes["delivered_at"] = timezone.now()
        if status != DeliveryStatus.PENDING:
            changes["secret_encrypted"] = None
        WebhookDelivery.objects.filter(pk=delivery.pk).update(**changes)
    if error is None:
        logger.info("webhook %s (%s) delivered", delivery.webhook_id, delivery.event_type)
    elif status == WebhookDeliveryStatus.SKIPPED:
        # Not a failure: said apart, at info, so that failure counts and alerts on the warnings do not include it.
        logger.info("webhook %s (%s) skipped: %s", delivery.webhook_id, delivery.event_type, error)
    else:
        logger.warning(
            "webhook %s try %s of %s failed: %s%s",
            delivery.webhook_id,
            attempts,
            max_tries(),
            error,
            "" if status == DeliveryStatus.PENDING else " (final)",
        )
    return AttemptOutcome(status=status, attempts=attempts, retry_in=retry_in)


# --- the relay and retries from admin -----------------------------------------------------------------


@dataclass(frozen=True)
class RelayResult:
    messages: int
    webhooks: int
    broker_down: bool


def _overdue(now: datetime, after_seconds: float) -> Q:
    """Pending rows whose next try is overdue: never tried after ``after_seconds``, or tried and
    past the retries they had by design plus ``after_seconds`` (a retry lost with its worker or broker)."""
    condition = Q()
    for attempts in range(max_tries()):
        deadline = now - timedelta(seconds=after_seconds + _backoff_span(attempts))
        condition |= Q(attempts=attempts, created_at__lte=deadline)
    return Q(status=DeliveryStatus.PENDING) & condition


def _publish(task_name: str, row_id: Any) -> bool:
    try:
        task_publish(task_name, str(row_id))
    except Exception:  # any broker failure: try again on the next run
        logger.warning("relay: the broker is unreachable; pending rows wait for the next run", exc_info=True)
        return False
    return True


def outbox_relay(
    *, now: datetime | None = None, after_seconds: float | None = None, batch_size: int = 500, inline: bool = False
) -> RelayResult:
    """Queue again the rows still ``pending`` well after they should have been sent (SPEC 7).

    Picks up what a broker outage or a lost task left behind; at most ``batch_size`` rows of each kind
    per run, oldest first. Stops at the first publish failure (the broker is down: the next run tries
    again). With ``inline`` the rows are sent in this process instead of queued (no broker needed).
    Queuing a row twice is harmless: an attempt on a row that is no longer pending does nothing.
    """
    now = now or timezone.now()
    after = settings.NOTIFY_RELAY_AFTER_SECONDS if after_seconds is None else after_seconds
    counts = {}
    broker_down = False
    for model, task_name, attempt in (
        (Message, "notifications.message_send", message_send_attempt),
        (WebhookDelivery, "notifications.webhook_deliver", webhook_deliver_attempt),
    ):
        ids = list(
            model.objects.filter(_overdue(now, after)).order_by("created_at").values_list("pk", flat=True)[:batch_size]
        )
        done = 0
        for row_id in ids:
            if inline:
                if model is Message:
                    attempt(message_id=row_id)
                else:
                    attempt(delivery_id=row_id)
            elif broker_down or not _publish(task_name, row_id):
                broker_down = True
                break
            done += 1
        counts[model] = done
    if counts[Message] or counts[WebhookDelivery]:
        logger.info(
            "relay: %s %s message(s) and %s webhook delivery(ies)",
            "sent" if inline else "queued",
            counts[Message],
            counts[WebhookDelivery],
        )
    return RelayResult(messages=counts[Message], webhooks=counts[WebhookDelivery], broker_down=broker_down)


def _needs_wiped_secret(*, body_or_otp: Any, secret: Any) -> bool:
    return not secret and body_or_otp is not None and CODE_MASK in str(body_or_otp)


def _failed_row_requeue(*, model: type[Message | WebhookDelivery], pk: Any, enqueue: Callable[[Any], Any]) -> bool:
    """Compare-and-set a ``failed`` row back to ``pending`` with fresh tries; queue it after commit if it changed."""
    with transaction.atomic():
        changed = model.objects.filter(pk=pk, status=DeliveryStatus.FAILED).update(
            status=DeliveryStatus.PENDING, attempts=0, last_error=""
        )
        if changed:
            transaction.on_commit(lambda: enqueue(pk))
    return bool(changed)


def message_retry(*, message: Message) -> bool:
    """Put a ``failed`` message back to ``pending`` with fresh tries and queue it (admin's retry).

    Refused (False) when the row is not failed, or when it carried a code that has been wiped: a new
    code must be sent with the package's Resend Pickup Code command instead.
    """
    if _needs_wiped_secret(body_or_otp=message.body, secret=message.secret_encrypted):
        return False
    return _failed_row_requeue(model=Message, pk=message.pk, enqueue=message_enqueue)


def webhook_delivery_retry(*, delivery: WebhookDelivery) -> bool:
    """Put a ``failed`` delivery back to ``pending`` and queue it; same ``webhook-id``. Refused when its
    code has been wiped (a Whisperer event: resend the code to emit a new one), and for any other status:
    a ``skipped`` one was not sent on purpose and stays so."""
    otp = (delivery.payload or {}).get("data", {}).get("otp")
    if _needs_wiped_secret(body_or_otp=otp, secret=delivery.secret_encrypted):
        return False
    return _failed_row_requeue(model=WebhookDelivery, pk=delivery.pk, enqueue=webhook_enqueue)
