"""Test helpers for no-shows: travel past a package's deadline, the reminders sent, a strike recorded directly."""

from datetime import timedelta

import time_machine

from notifications.models import Message
from orders.models import NoShowStrike
from orders.tests.factories import PackageFactory

DAY = timedelta(days=1)


def after_deadline(package, extra=timedelta(minutes=1)):
    return time_machine.travel(package.ready_expires_at + extra, tick=False)


def reminders(package=None):
    qs = Message.objects.filter(event="pickup_reminder")
    return qs.filter(package=package) if package else qs


def strike(customer, at, forgiven=False):
    """A strike recorded at ``at`` without walking a package through the sweep (for many customers)."""
    return NoShowStrike.objects.create(
        customer=customer,
        package=PackageFactory(order__customer=customer),
        created_at=at,
        forgiven_at=at + DAY if forgiven else None,
    )
