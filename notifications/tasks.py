"""Sending tasks. They take row ids only and are idempotent (SPEC 7, 8)."""

from celery import shared_task


@shared_task(name="notifications.message_send")
def message_send(message_id: str) -> None:
    """Send one pending message (filled in by the sending work, issue #3)."""


@shared_task(name="notifications.webhook_deliver")
def webhook_deliver(delivery_id: str) -> None:
    """Deliver one pending webhook (filled in by the sending work, issue #3)."""
