"""The customer's check-ins from the pickup pass (SPEC 13): "I'm here" and "On my way, about N minutes".

Each kind is taken once per package, only while the package is ready; each is audited (channel ``customer``, no
user) and sent to the webhooks as ``PackageCustomerCheckedInEvent``. The staff pages read them through
``orders.selectors.store_check_ins``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.errors import ApplicationError
from core.text import iso_utc
from notifications.models import WebhookEventType
from orders.models import AuditKind, Channel, Package, PackageStatus
from orders.services.audit import audit_records_write, audit_row
from orders.services.outbox import package_webhooks_write
from orders.services.transitions import package_lock

ARRIVED = "arrived"
ON_MY_WAY = "on_my_way"
CHECK_IN_KINDS = (ARRIVED, ON_MY_WAY)
# What "On my way, about N minutes" offers; any whole number in the range is taken.
ON_MY_WAY_MINUTES = (5, 10, 15, 20, 30, 45, 60)
ON_MY_WAY_MAX_MINUTES = 120

_FIELD = {ARRIVED: "checked_in_at", ON_MY_WAY: "on_my_way_at"}


@dataclass(frozen=True)
class CheckInOutcome:
    """``recorded``: this call recorded the check-in; False when the package had this kind already (nothing
    changed, nothing sent again)."""

    package: Package
    kind: str
    recorded: bool


def _check_input(*, kind: Any, minutes: Any) -> int | None:
    if kind not in CHECK_IN_KINDS:
        raise ApplicationError("validation_error", _("Choose “I'm here” or “On my way”."))
    if kind == ARRIVED:
        return None
    if isinstance(minutes, str) and minutes.isascii() and minutes.isdigit() and len(minutes) <= 3:
        minutes = int(minutes)
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= ON_MY_WAY_MAX_MINUTES:
        raise ApplicationError(
            "validation_error",
            _("Say in how many minutes you will arrive (1 to %(max)s).") % {"max": ON_MY_WAY_MAX_MINUTES},
        )
    return minutes


def package_check_in(*, package_id: Any, kind: str, minutes: Any = None, holder: str = "customer") -> CheckInOutcome:
    """Record the customer's check-in ``kind`` (``arrived`` or ``on_my_way`` with ``minutes``) on the package.

    The caller has authenticated the customer (a valid pickup pass of the package); ``holder`` says whose pass it
    was (``customer`` or ``pickup_person``), kept in the audit record. One transaction under the package lock:
    ``invalid_state`` once the package is no longer ready, ``validation_error`` for another kind or a number of
    minutes outside 1..ON_MY_WAY_MAX_MINUTES. A kind already recorded changes nothing (``recorded`` False).
    """
    minutes = _check_input(kind=kind, minutes=minutes)
    with transaction.atomic():
        try:
            package = package_lock(package_id)
        except (Package.DoesNotExist, ValueError, TypeError):
            raise ApplicationError("not_found") from None
        if package.status != PackageStatus.READY_FOR_CUSTOMER_PICKUP:
            raise ApplicationError(
                "invalid_state",
                _("This order is no longer waiting for pickup."),
                {"status": package.status},
            )
        field = _FIELD[kind]
        if getattr(package, field) is not None:
            return CheckInOutcome(package=package, kind=kind, recorded=False)
        now = timezone.now()
        fields = {field: now, "updated_at": now}
        if kind == ON_MY_WAY:
            fields["on_my_way_minutes"] = minutes
        for name, value in fields.items():
            setattr(package, name, value)
        package.save(update_fields=list(fields))
        reason = kind if minutes is None else f"{kind}:{minutes}"
        if holder != "customer":
            reason = f"{reason} ({holder})"
        audit_records_write(
            [
                audit_row(
                    package=package,
                    kind=AuditKind.CHECK_IN,
                    actor=None,
                    channel=Channel.CUSTOMER,
                    now=now,
                    reason=reason,
                )
            ]
        )
        package_webhooks_write(
            event_type=WebhookEventType.PACKAGE_CUSTOMER_CHECKED_IN,
            packages=[package],
            previous_status=package.status,
            extra={"checkIn": {"kind": kind, "minutes": minutes, "at": iso_utc(now), "by": holder}},
        )
    return CheckInOutcome(package=package, kind=kind, recorded=True)
