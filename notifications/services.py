"""Writing the outbox (SPEC 7, 8): customer messages and webhook deliveries.

Called by the package services inside their transaction, so a message exists exactly when the change
that causes it commits. Sending happens in Celery tasks queued on commit (``notifications.tasks``);
the periodic relay picks up whatever a lost task left ``pending``.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from core.appsettings import CHANNELS, get_setting
from core.bulk import insert_rows
from core.text import clock_text, iso_utc, local_time_text
from notifications.crypto import encrypt
from notifications.models import (
    CODE_MASK,
    Message,
    MessageChannel,
    MessageEvent,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEventType,
)

if TYPE_CHECKING:
    from orders.models import Customer, Package
    from otp.models import PickupCode

logger = logging.getLogger(__name__)

CODE_EVENTS = {MessageEvent.READY_FOR_PICKUP, MessageEvent.CODE_RESENT}


def message_recipient(*, customer: Customer, channel: str) -> str:
    return {
        MessageChannel.SMS: customer.phone,
        MessageChannel.EMAIL: customer.email,
        MessageChannel.PUSH: customer.push_token,
    }[channel]


def message_deadline(*, at: datetime, zone: Any, language: str) -> str:
    """The hold deadline as the customer reads it: the store's local time, the month by name in the customer's
    language ("3 November 09:05", "3 Kasım 09:05"). A numeric 03.11 is 11 March to a reader used to
    month-first dates (a store in America/New_York). No year: the hold is 30 days at most (PICKUP_HOLD_HOURS)."""
    with translation.override(language):
        return local_time_text(at, zone)


def message_context(*, package: Package, language: str) -> dict[str, Any]:
    """What the templates may use, JSON-serialisable and without the code; ``language``: the customer's."""
    store = package.store
    deadline = ""
    if package.ready_expires_at:
        deadline = message_deadline(at=package.ready_expires_at, zone=store.zone, language=language)
    return {
        "customer_name": package.order.customer.name,
        "order_number": package.order.order_number,
        "store_name": store.name,
        "store_code": store.code,
        "deadline": deadline,
        "package_id": str(package.pk),
    }


def message_render(
    *, event: str, channel: str, language: str, context: dict[str, Any], code: str | None
) -> tuple[str, str]:
    """(subject, body) from ``notifications/<language>/<event>.<channel>.txt``; subject only for e-mail."""
    data = {**context, "code": code or ""}
    body = render_to_string(f"notifications/{language}/{event}.{channel}.txt", data).strip()
    subject = ""
    if channel == MessageChannel.EMAIL:
        subject = render_to_string(f"notifications/{language}/{event}.subject.txt", data).strip()
    return subject, body


def _check_code_row(*, code: str | None, pickup_code: PickupCode | None) -> None:
    if code and pickup_code is None:
        # Without the row the worker could only check the code by its hash, i.e. with OTP_HASH_KEY.
        raise ValueError("a code is written to the outbox with the PickupCode row it belongs to")


def message_enqueue(message_id: Any) -> None:
    """Queue the send task; when the broker is unreachable the row stays pending for the relay."""
    from notifications import tasks

    try:
        tasks.message_send.delay(str(message_id))
    except Exception:
        logger.warning("could not queue message %s; the relay will send it", message_id, exc_info=True)


def messages_queue_for_package(
    *,
    package: Package,
    event: str,
    code: str | None = None,
    pickup_code: PickupCode | None = None,
    enqueue: bool = True,
) -> list[Message]:
    """Write one pending message per channel for ``event`` to the package's customer.

    Code-carrying events go to the store's CODE_CHANNELS; the others to every channel the customer
    can be reached on. The code is stored only encrypted, and the stored body shows it masked.
    ``pickup_code``, required with ``code``: the issued row the code belongs to, recorded on the
    messages so the worker checks it is still current by id, without OTP_HASH_KEY.
    Sending is queued on commit, one task per message, unless ``enqueue=False``: then the caller
    queues the rows itself (with the other rows of its command, in one publish).
    """
    _check_code_row(code=code, pickup_code=pickup_code)
    customer = package.order.customer
    channels = get_setting("CODE_CHANNELS", package.store_id) if event in CODE_EVENTS else list(CHANNELS)
    language = customer.language if customer.language in ("en", "tr") else "en"
    context = message_context(package=package, language=language)
    if code:
        # With the default OTP_TTL_SECONDS the code lasts minutes, the hold days: the customer must know that a
        # code past this time is no use, and that the counter sends a new one, instead of learning it there.
        with translation.override(language), timezone.override(package.store.zone):
            context["code_valid_until"] = clock_text(pickup_code.expires_at)
    secret = encrypt(code) if code else None
    created = []
    for channel in channels:
        recipient = message_recipient(customer=customer, channel=channel)
        if not recipient:
            continue
        subject, body = message_render(
            event=event, channel=channel, language=language, context=context, code=CODE_MASK if code else None
        )
        created.append(
            Message(
                package=package,
                customer=customer,
                channel=channel,
                recipient=recipient,
                event=event,
                language=language,
                subject=subject,
                body=body,
                context=context,
                secret_encrypted=secret,
                pickup_code=pickup_code if code else None,
            )
        )
    Message.objects.bulk_create(created)
    if event in CODE_EVENTS and not created:
        logger.warning("no channel reaches the customer of package %s for %s", package.pk, event)
    if enqueue:
        for message in created:
            transaction.on_commit(lambda message_id=message.pk: message_enqueue(message_id))
    return created


def messages_queue_for_packages(*, packages: list[Package], event: str, enqueue: bool = True) -> list[uuid.UUID]:
    """``messages_queue_for_package`` for many packages at once (no-show sweep, reminders); returns the ids.

    Only for events that carry no code, so every reachable channel gets the message; the bodies are
    rendered from the same templates. The rows go in with one bulk insert. Sending is queued on
    commit, one task per row; with ``enqueue=False`` the caller queues the returned ids itself
    (the sweep publishes one fan-out task per batch: see ``orders.tasks.outbox_fan_out``).
    """
    if event in CODE_EVENTS:
        raise ValueError("code-carrying messages are written one package at a time")
    now = timezone.now()
    rows = []
    for package in packages:
        customer = package.order.customer
        language = customer.language if customer.language in ("en", "tr") else "en"
        context = message_context(package=package, language=language)
        for channel in CHANNELS:
            recipient = message_recipient(customer=customer, channel=channel)
            if not recipient:
                continue
            subject, body = message_render(event=event, channel=channel, language=language, context=context, code=None)
            rows.append(
                {
                    "id": uuid.uuid4(),
                    "package_id": package.pk,
                    "customer_id": customer.pk,
                    "channel": channel,
                    "recipient": recipient,
                    "event": event,
                    "language": language,
                    "subject": subject,
                    "body": body,
                    "context": context,
                    "secret_encrypted": None,
                    "created_at": now,
                }
            )
    insert_rows(Message, rows)
    message_ids = [row["id"] for row in rows]
    if message_ids and enqueue:
        transaction.on_commit(lambda: [message_enqueue(message_id) for message_id in message_ids])
    return message_ids


def webhook_payload(*, event_type: str, package: Package, previous_status: str, code: str | None = None) -> dict:
    """The event body (SPEC 8): camelCase, times in ISO 8601 as the API writes them (UTC, ``Z``);
    ``previousStatus`` is the state before the event (the same as ``status`` for a resent code)."""
    order = package.order
    data: dict[str, Any] = {
        "packageId": str(package.pk),
        "orderId": str(order.pk),
        "orderNumber": order.order_number,
        "store": {"code": package.store.code, "name": package.store.name},
        "status": package.status,
        "previousStatus": previous_status,
        "deliveryType": package.delivery_type,
        "deliveryFromStore": package.delivery_from_store,
        "readyAt": iso_utc(package.ready_at),
        "readyExpiresAt": iso_utc(package.ready_expires_at),
        "deliveredAt": iso_utc(package.delivered_at),
        "cancelledAt": iso_utc(package.cancelled_at),
        "cancellationReason": package.cancellation_reason,
    }
    if event_type == WebhookEventType.PACKAGE_READY_WHISPERER:
        customer = order.customer
        data["customer"] = {
            "name": customer.name,
            "phone": customer.phone,
            "email": customer.email,
            "language": customer.language,
        }
        # The one place the code travels (SPEC 4); stored masked, filled in at send time.
        data["otp"] = CODE_MASK if code else None
    return {"type": event_type, "timestamp": iso_utc(timezone.now()), "data": data}


def webhook_enqueue(delivery_id: Any) -> None:
    from notifications import tasks

    try:
        tasks.webhook_deliver.delay(str(delivery_id))
    except Exception:
        logger.warning("could not queue webhook delivery %s; the relay will send it", delivery_id, exc_info=True)


def webhook_endpoints_active() -> list[WebhookEndpoint]:
    """The active endpoints, read once by a command that emits several events (pass as ``endpoints``)."""
    return list(WebhookEndpoint.objects.filter(is_active=True))


def webhooks_emit(
    *,
    event_type: str,
    package: Package,
    previous_status: str,
    code: str | None = None,
    pickup_code: PickupCode | None = None,
    endpoints: list[WebhookEndpoint] | None = None,
    enqueue: bool = True,
) -> list[WebhookDelivery]:
    """Write one pending delivery per active endpoint that subscribes to ``event_type``.

    ``code`` and ``pickup_code`` (its issued row, required with it): as for ``messages_queue_for_package``.
    ``endpoints``: the active endpoints as already read in this transaction (``webhook_endpoints_active``).
    ``enqueue=False``: the caller queues the deliveries itself, as for messages.
    """
    _check_code_row(code=code, pickup_code=pickup_code)
    if endpoints is None:
        endpoints = webhook_endpoints_active()
    endpoints = [endpoint for endpoint in endpoints if endpoint.is_active and endpoint.wants(event_type)]
    if event_type == WebhookEventType.PACKAGE_READY_WHISPERER:
        # An endpoint saved before https was required (or past admin): the code is not sent to it in clear.
        skipped = [endpoint for endpoint in endpoints if endpoint.sends_code_in_clear()]
        for endpoint in skipped:
            logger.warning("webhook endpoint %s is plain http: the Whisperer event is not sent to it", endpoint.pk)
        endpoints = [endpoint for endpoint in endpoints if endpoint not in skipped]
    if not endpoints:
        return []
    payload = webhook_payload(event_type=event_type, package=package, previous_status=previous_status, code=code)
    carries_code = bool(code) and event_type == WebhookEventType.PACKAGE_READY_WHISPERER
    secret = encrypt(code) if carries_code else None
    deliveries = [
        WebhookDelivery(
            endpoint=endpoint,
            webhook_id=f"msg_{uuid.uuid4().hex}",
            event_type=event_type,
            package=package,
            payload=payload,
            secret_encrypted=secret,
            pickup_code=pickup_code if carries_code else None,
        )
        for endpoint in endpoints
    ]
    WebhookDelivery.objects.bulk_create(deliveries)
    if enqueue:
        for delivery in deliveries:
            transaction.on_commit(lambda delivery_id=delivery.pk: webhook_enqueue(delivery_id))
    return deliveries


def webhooks_emit_for_packages(
    *, event_type: str, packages: list[Package], previous_status: str, enqueue: bool = True
) -> list[uuid.UUID]:
    """``webhooks_emit`` for many packages at once (no-show sweep): endpoints read once, one bulk
    insert; returns the delivery ids (queued on commit unless ``enqueue=False``, as for messages).
    Not for the Whisperer event, which carries a code."""
    if event_type == WebhookEventType.PACKAGE_READY_WHISPERER:
        raise ValueError("code-carrying events are emitted one package at a time")
    endpoints = [endpoint for endpoint in WebhookEndpoint.objects.filter(is_active=True) if endpoint.wants(event_type)]
    if not endpoints or not packages:
        return []
    now = timezone.now()
    rows = []
    for package in packages:
        payload = webhook_payload(event_type=event_type, package=package, previous_status=previous_status)
        rows.extend(
            {
                "id": uuid.uuid4(),
                "endpoint_id": endpoint.pk,
                "webhook_id": f"msg_{uuid.uuid4().hex}",
                "event_type": event_type,
                "package_id": package.pk,
                "payload": payload,
                "secret_encrypted": None,
                "created_at": now,
            }
            for endpoint in endpoints
        )
    insert_rows(WebhookDelivery, rows)
    delivery_ids = [row["id"] for row in rows]
    if enqueue:
        transaction.on_commit(lambda: [webhook_enqueue(delivery_id) for delivery_id in delivery_ids])
    return delivery_ids
