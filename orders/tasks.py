"""Periodic no-show work on Celery beat (SPEC 6). Thin: each task calls one service.

The tasks take no arguments and are idempotent: a second run, or two runs at once (a slow sweep
overlapping the next minute's), changes nothing twice, because the services claim rows with
``SELECT ... FOR UPDATE SKIP LOCKED`` and compare-and-set. Schedules: ``core.schedules``.
"""

from celery import shared_task

from orders import services


@shared_task(name="orders.expire_unclaimed_packages", ignore_result=True)
def expire_unclaimed_packages() -> int:
    """Cancel every package still ready after its ``readyExpiresAt`` as a no-show."""
    return services.packages_expire_unclaimed()


@shared_task(name="orders.send_pickup_reminders", ignore_result=True)
def send_pickup_reminders() -> int:
    """Write the one ``pickup_reminder`` of each package that has reached its reminder time."""
    return services.packages_send_reminders()


@shared_task(name="orders.refresh_trust_tiers", ignore_result=True)
def refresh_trust_tiers() -> int:
    """Store the recomputed tier of customers whose restriction ended or whose strikes decayed."""
    return services.customers_refresh_ended_tiers()
