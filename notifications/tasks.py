"""Sending tasks (SPEC 7, 8). They take row ids only, return nothing, and are idempotent.

The rules live in ``notifications.sending``; a task runs one attempt and, when the attempt asks for
it, schedules the next with exponential backoff. The number of tries is counted on the row, not by
Celery, so a task queued again by the relay or by admin's retry still stops at NOTIFY_MAX_TRIES.
"""

from celery import shared_task

from notifications import sending


@shared_task(bind=True, name="notifications.message_send", max_retries=None, ignore_result=True)
def message_send(self, message_id: str) -> None:
    """Send one pending customer message (SPEC 7)."""
    outcome = sending.message_send_attempt(message_id=message_id)
    if outcome is not None and outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)


@shared_task(bind=True, name="notifications.webhook_deliver", max_retries=None, ignore_result=True)
def webhook_deliver(self, delivery_id: str) -> None:
    """Deliver one pending webhook event (SPEC 8)."""
    outcome = sending.webhook_deliver_attempt(delivery_id=delivery_id)
    if outcome is not None and outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)


@shared_task(name="notifications.outbox_relay", ignore_result=True)
def outbox_relay() -> None:
    """Queue again what is still pending well after it should have gone out (beat, every minute)."""
    sending.outbox_relay()
