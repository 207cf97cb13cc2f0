"""Writing the outbox (SPEC 7, 8): customer messages and webhook deliveries, one writer for each.

The writers take drafts that the caller builds (``orders`` builds them from its packages): who receives what, in
which language, with which template context or event payload. They are called inside the caller's transaction, so
a row exists exactly when the change that causes it commits, and they read nothing of the caller's models. Sending
happens in Celery tasks queued on commit (``notifications.tasks``); the periodic relay picks up whatever a lost task
left ``pending``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from core.appsettings import CHANNELS, get_setting
from core.bulk import insert_rows
from core.queueing import task_publish
from notifications.crypto import encrypt
from notifications.models import CODE_MASK, Message, MessageEvent, WebhookDelivery, WebhookEndpoint, WebhookEventType
from notifications.rendering import message_pass_url, message_render

logger = logging.getLogger(__name__)

# The events whose message carries the pickup code: sent only on the store's CODE_CHANNELS.
CODE_EVENTS = {MessageEvent.READY_FOR_PICKUP, MessageEvent.CODE_RESENT}


@dataclass(frozen=True)
class MessageDraft:
    """One customer message for ``event``, to be written once per channel that reaches the customer.

    ``recipients``: the customer's address on each channel ("" where they have none). ``store_id``: the store whose
    CODE_CHANNELS a code-carrying message follows. ``context``: the template context, JSON-serialisable and without
    the code. ``code`` and ``pickup_code_id`` (the issued row the code belongs to, required with it): the plaintext,
    stored only encrypted, and the row the worker checks is still current before sending.
    """

    event: str
    package_id: Any
    customer_id: Any
    store_id: Any
    language: str
    recipients: dict[str, str]
    context: dict[str, Any]
    code: str | None = None
    pickup_code_id: Any = None


@dataclass(frozen=True)
class WebhookDraft:
    """One webhook event, to be written once per active endpoint that subscribes to ``event_type``.

    ``payload``: the event body as sent, with any code masked (``CODE_MASK``). ``code`` and ``pickup_code_id``:
    as for ``MessageDraft``; only the Whisperer event carries a code.
    """

    event_type: str
    package_id: Any
    payload: dict[str, Any]
    code: str | None = None
    pickup_code_id: Any = None


def _check_code_row(*, code: str | None, pickup_code_id: Any) -> None:
    if code and pickup_code_id is None:
        # Without the row the worker could only check the code by its hash, i.e. with OTP_HASH_KEY.
        raise ValueError("a code is written to the outbox with the PickupCode row it belongs to")


def _insert(model: type[Message | WebhookDelivery], rows: list[dict[str, Any]], *, batch: bool) -> None:
    """One command's rows in one INSERT; a batch's (the no-show sweep, reminders: drafts of many packages) by
    ``core.bulk.insert_rows``, COPY on PostgreSQL, which builds no model instance per row."""
    if batch:
        insert_rows(model, rows)
    else:
        model.objects.bulk_create(model(**row) for row in rows)


def message_enqueue(message_id: Any) -> None:
    """Queue the send task; when the broker is unreachable the row stays pending for the relay."""
    try:
        task_publish("notifications.message_send", str(message_id))
    except Exception:
        logger.warning("could not queue message %s; the relay will send it", message_id, exc_info=True)


def webhook_enqueue(delivery_id: Any) -> None:
    """Queue the delivery task; when the broker is unreachable the row stays pending for the relay."""
    try:
        task_publish("notifications.webhook_deliver", str(delivery_id))
    except Exception:
        logger.warning("could not queue webhook delivery %s; the relay will send it", delivery_id, exc_info=True)


def messages_write(*, drafts: Iterable[MessageDraft], enqueue: bool = True) -> list[uuid.UUID]:
    """Write the pending messages of ``drafts``; returns their ids.

    A code-carrying event goes to the store's CODE_CHANNELS, any other to every channel; a channel without a
    recipient is skipped. The body is rendered with the code masked; the code waits encrypted. Sending is queued
    on commit, one task per message, unless ``enqueue=False``: then the caller queues the returned ids itself
    (with the other rows of its command, in one publish). Raises ``ValueError`` for a code without its row.
    """
    drafts = list(drafts)
    rows = []
    for draft in drafts:
        _check_code_row(code=draft.code, pickup_code_id=draft.pickup_code_id)
        carries_code = draft.event in CODE_EVENTS
        channels = get_setting("CODE_CHANNELS", draft.store_id) if carries_code else list(CHANNELS)
        secret = encrypt(draft.code) if draft.code else None
        written = 0
        for channel in channels:
            recipient = draft.recipients.get(channel, "")
            if not recipient:
                continue
            subject, body = message_render(
                event=draft.event,
                channel=channel,
                language=draft.language,
                context=draft.context,
                code=CODE_MASK if draft.code else None,
                pass_url=message_pass_url(
                    package_id=draft.package_id, context=draft.context, code=draft.code, masked=True
                ),
            )
            rows.append(
                {
                    "id": uuid.uuid4(),
                    "package_id": draft.package_id,
                    "customer_id": draft.customer_id,
                    "channel": channel,
                    "recipient": recipient,
                    "event": draft.event,
                    "language": draft.language,
                    "subject": subject,
                    "body": body,
                    "context": draft.context,
                    "secret_encrypted": secret,
                    "pickup_code_id": draft.pickup_code_id if draft.code else None,
                }
            )
            written += 1
        if carries_code and not written:
            logger.warning("no channel reaches the customer of package %s for %s", draft.package_id, draft.event)
    _insert(Message, rows, batch=len(drafts) > 1)
    message_ids = [row["id"] for row in rows]
    if message_ids and enqueue:
        transaction.on_commit(lambda: [message_enqueue(message_id) for message_id in message_ids])
    return message_ids


def webhook_endpoints_active() -> list[WebhookEndpoint]:
    """The active endpoints, read once by a command that emits several events (pass as ``endpoints``)."""
    return list(WebhookEndpoint.objects.filter(is_active=True))


def webhooks_wanted(*, event_type: str, endpoints: Iterable[WebhookEndpoint]) -> bool:
    """Whether any of ``endpoints`` would get ``event_type``: the caller builds no payload otherwise."""
    return any(endpoint.is_active and endpoint.wants(event_type) for endpoint in endpoints)


def webhook_deliveries_write(
    *, drafts: Iterable[WebhookDraft], endpoints: list[WebhookEndpoint] | None = None, enqueue: bool = True
) -> list[uuid.UUID]:
    """Write one pending delivery of each draft per active endpoint that subscribes to its event; returns the ids.

    A Whisperer event (it carries the code) is not written for a plain-http endpoint (saved before https was
    required, or past admin). ``endpoints``: the active endpoints as already read in this transaction
    (``webhook_endpoints_active``). ``enqueue=False``: the caller queues the deliveries itself, as for messages.
    Raises ``ValueError`` for a code without its row.
    """
    drafts = list(drafts)
    if endpoints is None:
        endpoints = webhook_endpoints_active()
    rows = []
    for draft in drafts:
        _check_code_row(code=draft.code, pickup_code_id=draft.pickup_code_id)
        wanted = [endpoint for endpoint in endpoints if endpoint.is_active and endpoint.wants(draft.event_type)]
        carries_code = bool(draft.code) and draft.event_type == WebhookEventType.PACKAGE_READY_WHISPERER
        if draft.event_type == WebhookEventType.PACKAGE_READY_WHISPERER:
            for endpoint in wanted:
                if endpoint.sends_code_in_clear():
                    logger.warning(
                        "webhook endpoint %s is plain http: the Whisperer event is not sent to it", endpoint.pk
                    )
            wanted = [endpoint for endpoint in wanted if not endpoint.sends_code_in_clear()]
        secret = encrypt(draft.code) if carries_code and wanted else None
        rows.extend(
            {
                "id": uuid.uuid4(),
                "endpoint_id": endpoint.pk,
                "webhook_id": f"msg_{uuid.uuid4().hex}",
                "event_type": draft.event_type,
                "package_id": draft.package_id,
                "payload": draft.payload,
                "secret_encrypted": secret,
                "pickup_code_id": draft.pickup_code_id if carries_code else None,
            }
            for endpoint in wanted
        )
    _insert(WebhookDelivery, rows, batch=len(drafts) > 1)
    delivery_ids = [row["id"] for row in rows]
    if delivery_ids and enqueue:
        transaction.on_commit(lambda: [webhook_enqueue(delivery_id) for delivery_id in delivery_ids])
    return delivery_ids
