"""Periodic no-show work on Celery beat (SPEC 6). Thin: each task calls one service.

The tasks take no arguments and are idempotent: a second run, or two runs at once (a slow sweep
overlapping the next minute's), changes nothing twice, because the services claim rows with
``SELECT ... FOR UPDATE SKIP LOCKED`` and compare-and-set. Schedules: ``core.schedules``.
"""

from celery import shared_task

from core.services import task_heartbeat_record
from notifications.services import message_enqueue, webhook_enqueue
from orders import selectors, services


@shared_task(name="orders.expire_unclaimed_packages", ignore_result=True)
def expire_unclaimed_packages(helpers: int = 1, batch_size: int = 500) -> int:
    """Cancel every package still ready after its ``readyExpiresAt`` as a no-show.

    When more than one batch is due (a backlog: beat was down, or many holds ended at once), it
    first queues ``helpers`` more sweeps, without helpers of their own, so that other workers share
    the backlog (the claims use SKIP LOCKED); one sweep process is bound by its own CPU. A finished run is
    recorded (``task_heartbeat_record``): ``/readyz`` reports beat ``stale`` after 5 minutes without one.
    """
    if helpers > 0 and selectors.packages_due_for_expiry().values("pk")[: batch_size + 1].count() > batch_size:
        for _ in range(helpers):
            expire_unclaimed_packages.apply_async(kwargs={"helpers": 0, "batch_size": batch_size})
    expired = services.packages_expire_unclaimed(batch_size=batch_size)
    task_heartbeat_record(task=expire_unclaimed_packages.name)
    return expired


@shared_task(name="orders.send_pickup_reminders", ignore_result=True)
def send_pickup_reminders() -> int:
    """Write the one ``pickup_reminder`` of each package that has reached its reminder time."""
    return services.packages_send_reminders()


@shared_task(name="orders.refresh_trust_tiers", ignore_result=True)
def refresh_trust_tiers() -> int:
    """Store the recomputed tier of customers whose restriction ended, whose strikes decayed, or whom changed
    tier settings move (``customers_refresh_ended_tiers``)."""
    return services.customers_refresh_ended_tiers()


@shared_task(name="orders.outbox_fan_out", ignore_result=True)
def outbox_fan_out(message_ids: list[str], delivery_ids: list[str]) -> None:
    """Queue the send task of each message and webhook delivery of one delivery, or of one no-show or
    reminder batch.

    A delivery, and the sweep per batch, publish this one task after commit, so their cost does not
    grow with the number of rows; the per-row publishes happen here, on a worker. Running it twice is harmless: a send
    task for a row that is no longer pending does nothing. Rows whose publish fails stay pending
    for the outbox relay.
    """
    for message_id in message_ids:
        message_enqueue(message_id)
    for delivery_id in delivery_ids:
        webhook_enqueue(delivery_id)
