"""The package state machine (SPEC 3.2, 3.3): locks, role and state checks, the move itself, the order's status,
and the commands other than the delivery (``delivery``) and the no-show expiry (``no_shows``).

Each command runs in ``transaction.atomic()`` with the package row locked (``SELECT ... FOR UPDATE``), checks the
caller's role and the source state (``not_found``, ``permission_denied``, ``invalid_state``: nothing changed),
writes the change, its audit record and its outbox rows in that transaction, and queues sending on commit. Lock
order, everywhere: packages, then orders (primary-key order), then customers (primary-key order).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.appsettings import StoreSettings
from core.errors import ApplicationError
from notifications.models import MessageEvent, WebhookEventType
from orders import commands as cmd
from orders.models import AuditKind, Channel, Order, OrderStatus, Package, PackageStatus, StaffRole
from orders.selectors import staff_role_for_store
from orders.services.actors import Actor
from orders.services.audit import AuditRow, audit_records_write, audit_row
from orders.services.outbox import Outbox, customer_messages_write, package_webhooks_write
from otp import services as otp


def package_lock(package_id: Any) -> Package:
    """The package, its row locked for the caller's transaction, with its order, customer and store read (not
    locked: ``of=("self",)``). Raises ``Package.DoesNotExist``."""
    return Package.objects.select_for_update(of=("self",)).select_related("order__customer", "store").get(pk=package_id)


def is_member_actor(actor: Actor | None) -> bool:
    """A signed-in, active, non-superuser user: the one kind whose role comes from a membership row."""
    return bool(actor is not None and actor.is_authenticated and actor.is_active and not actor.is_superuser)


def _is_admin_site_administrator(actor: Actor | None, channel: str) -> bool:
    """An administrator (SPEC 2: superusers and staff) acting in Django admin who may change packages there (the
    admin's actions ask the same permission). Staff users without a membership are
    administrators there only: the staff pages and the API give them no store."""
    return bool(
        channel == Channel.ADMIN
        and actor is not None
        and actor.is_authenticated
        and actor.is_active
        and getattr(actor, "is_staff", False)
        and actor.has_perm("orders.change_package")
    )


def command_authorize(*, package: Package, actor: Actor | None, command: cmd.Command, channel: str) -> str:
    """Return the actor's role for the package's store, or raise (not_found / permission_denied)."""
    if _is_admin_site_administrator(actor, channel):
        role = StaffRole.MANAGER
    elif getattr(package, "actor_role_loaded", False) and is_member_actor(actor):
        role = package.actor_role  # read with the lock (delivery.package_lock_for_delivery)
    else:
        role = staff_role_for_store(user=actor, store_id=package.store_id)
    if role is None:
        raise ApplicationError("not_found")
    if not command.role_allows(role):
        raise ApplicationError("permission_denied", _("Only a store manager may do this."))
    return role


def command_check_source(*, package: Package, command: cmd.Command) -> None:
    if package.status not in command.sources:
        raise ApplicationError(
            "invalid_state",
            _("“%(command)s” does not apply to a package that is %(status)s.")
            % {"command": command.name, "status": package.get_status_display()},
            {"status": package.status, "command": command.code},
        )


def package_move(
    *,
    package: Package,
    command: cmd.Command,
    actor: Actor | None,
    channel: str,
    now: datetime,
    reason: str = "",
    fields: dict[str, Any] | None = None,
    earlier_audit: list[AuditRow] | None = None,
    webhook_endpoints: list | None = None,
    outbox: Outbox | None = None,
    collected_by: str = "",
) -> str:
    """Write the new state (and ``fields``), its audit record, the status webhook and the order status.

    ``earlier_audit``: unsaved records that belong before the transition (the verification that
    opened the package); they are inserted with it in one statement. ``webhook_endpoints``: the
    active endpoints when the caller has read them already (it emits another event too).
    ``outbox``: collect the webhook deliveries there for the caller to queue, instead of queuing them.
    ``collected_by``: a delivery's, kept in its transition record.
    """
    previous = package.status
    package.status = command.target
    for name, value in (fields or {}).items():
        setattr(package, name, value)
    package.updated_at = now
    package.save(update_fields=["status", "updated_at", *(fields or {})])
    transition = audit_row(
        package=package,
        kind=AuditKind.TRANSITION,
        actor=actor,
        channel=channel,
        now=now,
        command=command.code,
        from_status=previous,
        to_status=package.status,
        reason=reason,
        collected_by=collected_by,
    )
    audit_records_write([*(earlier_audit or []), transition])
    delivery_ids = package_webhooks_write(
        event_type=WebhookEventType.PACKAGE_STATUS_CHANGED,
        packages=[package],
        previous_status=previous,
        endpoints=webhook_endpoints,
        enqueue=outbox is None,
    )
    if outbox is not None:
        outbox.delivery_ids.extend(delivery_ids)
    if getattr(package, "order_package_count", None) == 1:
        # The order's only package is this one, locked by us: its status decides the order's, so
        # there is nothing to lock or read (order intake never adds packages to an existing order).
        _order_set_status(order=package.order, status=order_status_from([package.status]), now=now)
    else:
        order_refresh_status(order=package.order)
    return previous


# --- order status (SPEC 3.3) --------------------------------------------------------------------


def order_status_from(statuses: Iterable[str]) -> str:
    statuses = list(statuses)
    if PackageStatus.READY_FOR_CUSTOMER_PICKUP in statuses:
        return OrderStatus.READY
    live = [status for status in statuses if status != PackageStatus.CANCELLED]
    if live and all(status == PackageStatus.DELIVERED for status in live):
        return OrderStatus.PICKED_UP
    if statuses and not live:
        return OrderStatus.CANCELLED
    return OrderStatus.PROCESSING


def order_refresh_status(*, order: Order) -> str:
    """Recompute and store the order's status from its packages; returns it.

    Locks the order row first: two packages of one order changing at once would otherwise each
    read the other's old state and leave a stale status behind. Package locks are always taken
    before the order lock, so this cannot deadlock with another command.
    """
    Order.objects.select_for_update().filter(pk=order.pk).values_list("pk", flat=True).first()
    status = order_status_from(order.packages.values_list("status", flat=True))
    if status != order.status:
        now = timezone.now()
        Order.objects.filter(pk=order.pk).update(status=status, updated_at=now)
        order.status, order.updated_at = status, now
    return status


def _order_set_status(*, order: Order, status: str, now: datetime) -> None:
    """Store ``status`` on the order unless it has it already (one statement, no read)."""
    if Order.objects.filter(pk=order.pk).exclude(status=status).update(status=status, updated_at=now):
        order.updated_at = now
    order.status = status


def orders_refresh_statuses(*, order_ids: Iterable[Any], now: datetime) -> None:
    """``order_refresh_status`` for many orders: lock them (primary-key order), one read, grouped updates."""
    ids = sorted(set(order_ids), key=str)
    if not ids:
        return
    current = dict(Order.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", "status"))
    statuses = defaultdict(list)
    for order_id, status in Package.objects.filter(order_id__in=ids).order_by().values_list("order_id", "status"):
        statuses[order_id].append(status)
    changes = defaultdict(list)
    for order_id in ids:
        status = order_status_from(statuses[order_id])
        if status != current.get(order_id):
            changes[status].append(order_id)
    for status, pks in changes.items():
        Order.objects.filter(pk__in=pks).update(status=status, updated_at=now)


# --- the commands (SPEC 3.2) --------------------------------------------------------------------


def package_complete_packaging(*, package: Package, actor: Actor | None, channel: str) -> Package:
    """waiting -> packed_all_items, in one transaction under the package lock (see the module docstring for the
    refusals: ``not_found``, ``permission_denied``, ``invalid_state``)."""
    command = cmd.COMMANDS[cmd.COMPLETE_PACKAGING]
    with transaction.atomic():
        package = package_lock(package.pk)
        command_authorize(package=package, actor=actor, command=command, channel=channel)
        command_check_source(package=package, command=command)
        package_move(package=package, command=command, actor=actor, channel=channel, now=timezone.now())
    return package


def package_mark_ready(*, package: Package, actor: Actor | None, channel: str) -> Package:
    """packed_all_items -> ready_for_customer_pickup: starts the hold period, issues the code (when on),
    and writes the customer's ready message and the Whisperer event, both carrying the code encrypted.
    One transaction under the package lock; refusals as for every command (module docstring)."""
    command = cmd.COMMANDS[cmd.READY_FOR_PICKUP]
    with transaction.atomic():
        package = package_lock(package.pk)
        command_authorize(package=package, actor=actor, command=command, channel=channel)
        command_check_source(package=package, command=command)
        now = timezone.now()
        conf = StoreSettings(package.store_id)
        package_move(
            package=package,
            command=command,
            actor=actor,
            channel=channel,
            now=now,
            fields={
                "ready_at": now,
                "ready_expires_at": now + timedelta(hours=conf.PICKUP_HOLD_HOURS),
                "reminder_sent_at": None,
            },
        )
        code, pickup_code = None, None
        if conf.IS_OTP_ENABLED:
            pickup_code, code = otp.pickup_code_issue(package=package, store_settings=conf, now=now)
            audit_records_write(
                [audit_row(package=package, kind=AuditKind.CODE_ISSUED, actor=actor, channel=channel, now=now)]
            )
        customer_messages_write(
            packages=[package], event=MessageEvent.READY_FOR_PICKUP, code=code, pickup_code=pickup_code
        )
        package_webhooks_write(
            event_type=WebhookEventType.PACKAGE_READY_WHISPERER,
            packages=[package],
            previous_status=PackageStatus.PACKED_ALL_ITEMS,
            code=code,
            pickup_code=pickup_code,
        )
    return package


def package_resend_code(*, package: Package, actor: Actor | None, channel: str) -> Package:
    """Replace the package's code with a new one and send it. The old code stops working at once.

    One transaction under the package lock. Raises ``throttled`` (with ``retryAfter``) inside the cooldown or
    past the 24-hour quota, ``invalid_state`` where codes are off, and the refusals of every command.
    """
    command = cmd.COMMANDS[cmd.RESEND_CODE]
    with transaction.atomic():
        package = package_lock(package.pk)
        command_authorize(package=package, actor=actor, command=command, channel=channel)
        command_check_source(package=package, command=command)
        conf = StoreSettings(package.store_id)
        if not conf.IS_OTP_ENABLED:
            raise ApplicationError(
                "invalid_state", _("Pickup codes are not used at this store."), {"command": command.code}
            )
        now = timezone.now()
        otp.pickup_code_check_issue_allowed(package=package, store_settings=conf, zone=package.store.zone, now=now)
        pickup_code, code = otp.pickup_code_issue(package=package, store_settings=conf, now=now)
        audit_records_write(
            [
                audit_row(
                    package=package,
                    kind=AuditKind.CODE_RESENT,
                    actor=actor,
                    channel=channel,
                    now=now,
                    command=command.code,
                )
            ]
        )
        customer_messages_write(packages=[package], event=MessageEvent.CODE_RESENT, code=code, pickup_code=pickup_code)
        package_webhooks_write(
            event_type=WebhookEventType.PACKAGE_READY_WHISPERER,
            packages=[package],
            previous_status=package.status,  # a new code, no change of state
            code=code,
            pickup_code=pickup_code,
        )
        package.updated_at = now
        package.save(update_fields=["updated_at"])
    return package


def package_cancel(*, package: Package, actor: Actor | None, channel: str, reason: str) -> Package:
    """waiting / packed_all_items / ready_for_customer_pickup -> cancelled (managers only).

    Needs a reason (``validation_error``, checked before any lock); then one transaction under the package lock
    that invalidates the code, notifies the customer and emits PackageCancelledEvent.
    """
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if not reason:
        raise ApplicationError(
            "validation_error",
            _("Give a reason for the cancellation."),
            {"fields": {"reason": [str(_("This field is required."))]}},
        )
    if len(reason) > 255:
        raise ApplicationError("validation_error", _("The reason is longer than 255 characters."))
    command = cmd.COMMANDS[cmd.CANCEL]
    with transaction.atomic():
        package = package_lock(package.pk)
        command_authorize(package=package, actor=actor, command=command, channel=channel)
        command_check_source(package=package, command=command)
        _cancel_locked(package=package, actor=actor, channel=channel, now=timezone.now(), reason=reason)
        customer_messages_write(packages=[package], event=MessageEvent.CANCELLED)
    return package


def _cancel_locked(*, package: Package, actor: Actor | None, channel: str, now: datetime, reason: str) -> None:
    previous = package.status
    otp.pickup_code_invalidate(package=package, reason=otp.NO_SHOW if reason == cmd.NO_SHOW else otp.CANCELLED, now=now)
    package_move(
        package=package,
        command=cmd.COMMANDS[cmd.CANCEL],
        actor=actor,
        channel=channel,
        now=now,
        reason=reason,
        fields={"cancelled_at": now, "cancellation_reason": reason, "ready_expires_at": None},
    )
    package_webhooks_write(event_type=WebhookEventType.PACKAGE_CANCELLED, packages=[package], previous_status=previous)
