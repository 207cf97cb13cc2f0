"""The outbox rows of the package commands (SPEC 7, 8): the drafts of customer messages and webhook events built
from packages, written by ``notifications``' writers in the caller's transaction, and their publish after commit.

``notifications`` never reads a package: everything it needs (recipients, language, template context, event
payload) is in the drafts built here. The packages passed in are loaded with ``order__customer`` and ``store``,
as the commands' locks and the sweep's claims load them, so building a draft reads nothing.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone, translation

from core.queueing import task_publish
from core.text import clock_text, iso_utc, local_time_text
from notifications.models import CODE_MASK, MessageChannel, MessageEvent, WebhookEndpoint, WebhookEventType
from notifications.rendering import message_language
from notifications.services import (
    MessageDraft,
    WebhookDraft,
    message_enqueue,
    messages_write,
    webhook_deliveries_write,
    webhook_endpoints_active,
    webhook_enqueue,
    webhooks_wanted,
)
from orders.models import Customer, Package
from otp import passes
from otp.models import PickupCode

logger = logging.getLogger(__name__)


# --- customer messages ---------------------------------------------------------------------------------------


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


def _recipients(customer: Customer) -> dict[str, str]:
    return {
        MessageChannel.SMS: customer.phone,
        MessageChannel.EMAIL: customer.email,
        MessageChannel.PUSH: customer.push_token,
    }


# The messages that also go to the pickup person the customer named (SPEC 13): the ready message and a new code,
# each with a pickup pass of their own (the same code).
PICKUP_PERSON_EVENTS = frozenset({MessageEvent.READY_FOR_PICKUP, MessageEvent.CODE_RESENT})


def message_draft(
    *,
    package: Package,
    event: str,
    code: str | None = None,
    pickup_code: PickupCode | None = None,
    holder: str = passes.CUSTOMER,
) -> MessageDraft:
    """The message ``event`` to the package's customer, in their language; with ``code``, its ``pickup_code`` row
    and the time the code stops working (with the default OTP_TTL_SECONDS the code lasts minutes, the hold days:
    the customer must know that a code past this time is no use, and that the counter sends a new one).
    ``holder`` ``pickup_person``: the same message to the order's pickup person instead, by SMS, greeting them,
    in the customer's language, with a pass of their own."""
    order = package.order
    customer = order.customer
    language = message_language(customer.language)
    context = message_context(package=package, language=language)
    recipients = _recipients(customer)
    if holder == passes.PICKUP_PERSON:
        context["customer_name"] = order.pickup_person_name
        recipients = {MessageChannel.SMS: order.pickup_person_phone}
    if code:
        with translation.override(language), timezone.override(package.store.zone):
            context["code_valid_until"] = clock_text(pickup_code.expires_at)
        # What the worker seals with the code into the pickup pass link (otp.passes); not secret by itself.
        context["pass"] = {"expires_at": iso_utc(pickup_code.expires_at), "holder": holder}
    return MessageDraft(
        event=event,
        package_id=package.pk,
        customer_id=customer.pk,
        store_id=package.store_id,
        language=language,
        recipients=recipients,
        context=context,
        code=code,
        pickup_code_id=pickup_code.pk if pickup_code is not None else None,
    )


def customer_messages_write(
    *,
    packages: list[Package],
    event: str,
    code: str | None = None,
    pickup_code: PickupCode | None = None,
    enqueue: bool = True,
) -> list[uuid.UUID]:
    """Write ``event``'s message to the customer of each package (``notifications.services.messages_write``), and
    the ready message or a new code to the order's pickup person too (``PICKUP_PERSON_EVENTS``); returns the ids.
    ``code`` (with its ``pickup_code`` row) only for one package."""
    drafts = [message_draft(package=package, event=event, code=code, pickup_code=pickup_code) for package in packages]
    if event in PICKUP_PERSON_EVENTS:
        drafts += [
            message_draft(package=package, event=event, code=code, pickup_code=pickup_code, holder=passes.PICKUP_PERSON)
            for package in packages
            if package.order.pickup_person_phone and package.order.pickup_person_phone != package.order.customer.phone
        ]
    return messages_write(drafts=drafts, enqueue=enqueue)


# --- webhook events ------------------------------------------------------------------------------------------


def webhook_payload(
    *,
    event_type: str,
    package: Package,
    previous_status: str,
    code: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict:
    """The event body (SPEC 8): camelCase, times in ISO 8601 as the API writes them (UTC, ``Z``);
    ``previousStatus`` is the state before the event (the same as ``status`` for a resent code). ``extra``: the
    event's own fields (a check-in's ``checkIn``), added to ``data``."""
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
    data.update(extra or {})
    return {"type": event_type, "timestamp": iso_utc(timezone.now()), "data": data}


def package_webhooks_write(
    *,
    event_type: str,
    packages: list[Package],
    previous_status: str,
    code: str | None = None,
    pickup_code: PickupCode | None = None,
    endpoints: list[WebhookEndpoint] | None = None,
    enqueue: bool = True,
    extra: dict[str, Any] | None = None,
) -> list[uuid.UUID]:
    """Write ``event_type`` for each package to the endpoints that want it
    (``notifications.services.webhook_deliveries_write``); returns the delivery ids. No payload is built when no
    endpoint wants the event. ``endpoints``: the active endpoints when the caller has read them already (it emits
    another event too). ``code`` (with its ``pickup_code`` row): the Whisperer event of one package."""
    if endpoints is None:
        endpoints = webhook_endpoints_active()
    if not webhooks_wanted(event_type=event_type, endpoints=endpoints):
        return []
    drafts = [
        WebhookDraft(
            event_type=event_type,
            package_id=package.pk,
            payload=webhook_payload(
                event_type=event_type, package=package, previous_status=previous_status, code=code, extra=extra
            ),
            code=code,
            pickup_code_id=pickup_code.pk if pickup_code is not None else None,
        )
        for package in packages
    ]
    return webhook_deliveries_write(drafts=drafts, endpoints=endpoints, enqueue=enqueue)


# --- publishing after commit ---------------------------------------------------------------------------------


@dataclass
class Outbox:
    """The outbox rows a command wrote, queued after commit in one publish (``queue_on_commit``)."""

    message_ids: list[Any] = field(default_factory=list)
    delivery_ids: list[Any] = field(default_factory=list)

    def queue_on_commit(self) -> None:
        outbox_queue_on_commit(message_ids=self.message_ids, delivery_ids=self.delivery_ids)


def outbox_queue_on_commit(*, message_ids: list[Any], delivery_ids: list[Any] = ()) -> None:
    """After commit, publish ONE task for the outbox rows of a command or a batch instead of one send
    task per row: a publish costs about a millisecond, as much as the rest of a delivery's writes.
    One row gets its own send task; more get ``orders.outbox_fan_out``, which queues the per-row
    sends on a worker. If the broker is unreachable the rows stay ``pending`` for the outbox relay."""
    if not message_ids and not delivery_ids:
        return
    if len(message_ids) + len(delivery_ids) == 1:
        if message_ids:
            transaction.on_commit(lambda: message_enqueue(message_ids[0]))
        else:
            transaction.on_commit(lambda: webhook_enqueue(delivery_ids[0]))
        return

    def publish() -> None:
        try:
            task_publish("orders.outbox_fan_out", [str(pk) for pk in message_ids], [str(pk) for pk in delivery_ids])
        except Exception:  # any broker failure: the relay sends the pending rows later
            logger.warning(
                "could not queue %s outbox rows; the relay will send them",
                len(message_ids) + len(delivery_ids),
                exc_info=True,
            )

    transaction.on_commit(publish)
