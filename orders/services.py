"""Package commands, no-show expiry, trust tiers and order intake: every rule that writes (SPEC 3-6).

Each command runs in ``transaction.atomic()`` with the package row locked (``SELECT ... FOR UPDATE``),
checks the source state and the caller's role, writes the change, its audit record and its outbox
rows (customer messages, webhook deliveries) in that same transaction; sending is queued on commit.
A refused command raises ``ApplicationError`` and changes nothing, with one deliberate exception:
a wrong pickup code is counted (and audited) before ``otp_invalid`` is raised, so do not call
``package_deliver``/``order_verify`` inside an outer transaction that would roll the count back.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import phonenumbers
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, F, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from core.appsettings import StoreSettings
from core.bulk import insert_rows
from core.errors import ApplicationError
from core.models import AppSetting
from core.text import iso_utc, text_nfc
from notifications.models import MessageEvent, WebhookEventType
from notifications.services import (
    message_enqueue,
    messages_queue_for_package,
    messages_queue_for_packages,
    webhook_endpoints_active,
    webhook_enqueue,
    webhooks_emit,
    webhooks_emit_for_packages,
)
from orders import commands as cmd
from orders.models import (
    STORE_CODE_PATTERN,
    AuditKind,
    AuditOutcome,
    AuditRecord,
    Channel,
    Customer,
    NoShowStrike,
    Order,
    OrderStatus,
    Package,
    PackageItem,
    PackageStatus,
    StaffRole,
    Store,
    TrustTier,
)
from orders.selectors import membership_grants_access, staff_role_for_store, user_may_forgive_no_shows
from otp import services as otp
from otp.models import PickupCode

logger = logging.getLogger(__name__)

User = AbstractBaseUser


# --- helpers shared by the commands -------------------------------------------------------------


@dataclass
class _Outbox:
    """The outbox rows a command wrote, queued after commit in one publish (``queue_on_commit``)."""

    message_ids: list[Any] = field(default_factory=list)
    delivery_ids: list[Any] = field(default_factory=list)

    def queue_on_commit(self) -> None:
        _queue_outbox_on_commit(message_ids=self.message_ids, delivery_ids=self.delivery_ids)


def _lock_package(package_id: Any) -> Package:
    # of=("self",): lock only the package row, not the order/customer/store rows joined for reading.
    return Package.objects.select_for_update(of=("self",)).select_related("order__customer", "store").get(pk=package_id)


def _lock_package_for_delivery(package_id: Any, *, actor: User | None) -> Package:
    """``_lock_package`` for the verification path (the counter's hot path), reading in that one query
    what the delivery needs next instead of one round trip each: the actor's membership role in the
    store and how many packages the order has (a one-package order needs no order lock to derive its
    status). The same statement first takes the actor's verification lock
    (``otp.verifications_lock_condition``), which orders the actor's verifications of different packages.

    Not the pickup code nor the actor's failure window: a statement that waited for a lock sees the other
    rows as they were when it started (READ COMMITTED re-reads only the locked row), so both are read in
    the next statement (``otp.pickup_code_for_verification``).
    """
    order_size = (
        Package.objects.filter(order_id=OuterRef("order_id")).order_by().values("order_id").annotate(n=Count("pk"))
    )
    queryset = (
        Package.objects.select_for_update(of=("self",))
        .annotate(order_package_count=Subquery(order_size.values("n")[:1]))
        .select_related("order__customer", "order__store", "store")
    )
    actor_lock = otp.verifications_lock_condition(actor=actor)
    if actor_lock is not None:
        queryset = queryset.filter(actor_lock)
    member = _is_member_actor(actor)
    if member:
        # Only a package of the actor's stores matches (and is locked): another store's package is not
        # even waited for. The join finds the one membership row (unique per user and store).
        queryset = queryset.filter(membership_grants_access(user=actor), store__memberships__user=actor).annotate(
            actor_role=F("store__memberships__role")
        )
    try:
        package = queryset.get(pk=package_id)
    except (Package.DoesNotExist, ValueError, TypeError, ValidationError):
        # ValidationError: a malformed UUID. Any miss answers as a package of another store does.
        raise ApplicationError("not_found") from None
    package.actor_role_loaded = member
    return package


def _is_member_actor(actor: User | None) -> bool:
    """A signed-in, active, non-superuser user: the one kind whose role comes from a membership row."""
    return bool(actor is not None and actor.is_authenticated and actor.is_active and not actor.is_superuser)


def _is_admin_site_administrator(actor: User | None, channel: str) -> bool:
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


def _authorize(*, package: Package, actor: User | None, command: cmd.Command, channel: str) -> str:
    """Return the actor's role for the package's store, or raise (not_found / permission_denied)."""
    if _is_admin_site_administrator(actor, channel):
        role = StaffRole.MANAGER
    elif getattr(package, "actor_role_loaded", False) and _is_member_actor(actor):
        role = package.actor_role  # read with the lock (_lock_package_for_delivery)
    else:
        role = staff_role_for_store(user=actor, store_id=package.store_id)
    if role is None:
        raise ApplicationError("not_found")
    if not command.role_allows(role):
        raise ApplicationError("permission_denied", _("Only a store manager may do this."))
    return role


def _check_state(*, package: Package, command: cmd.Command) -> None:
    if package.status not in command.sources:
        raise ApplicationError(
            "invalid_state",
            _("“%(command)s” does not apply to a package that is %(status)s.")
            % {"command": command.name, "status": package.get_status_display()},
            {"status": package.status, "command": command.code},
        )


def _audit(**fields: Any) -> AuditRecord:
    """Save and return one audit record; the arguments are ``_audit_record``'s."""
    record = _audit_record(**fields)
    record.save(force_insert=True)
    return record


def _audit_record(
    *,
    package: Package,
    kind: str,
    actor: User | None,
    channel: str,
    now: datetime,
    outcome: str = AuditOutcome.SUCCESS,
    command: str = "",
    from_status: str = "",
    to_status: str = "",
    error_code: str = "",
    manual: bool = False,
    reason: str = "",
) -> AuditRecord:
    """An unsaved audit record (``_audit`` saves one; ``_move`` inserts several at once)."""
    return AuditRecord(
        created_at=now,
        kind=kind,
        outcome=outcome,
        error_code=error_code,
        command=command,
        from_status=from_status,
        to_status=to_status,
        manual=manual,
        actor=actor,
        channel=channel,
        store_id=package.store_id,
        package=package,
        reason=reason[:255],
    )


def _move(
    *,
    package: Package,
    command: cmd.Command,
    actor: User | None,
    channel: str,
    now: datetime,
    reason: str = "",
    fields: dict[str, Any] | None = None,
    earlier_audit: list[AuditRecord] | None = None,
    webhook_endpoints: list | None = None,
    outbox: _Outbox | None = None,
) -> str:
    """Write the new state (and ``fields``), its audit record, the status webhook and the order status.

    ``earlier_audit``: unsaved records that belong before the transition (the verification that
    opened the package); they are inserted with it in one statement. ``webhook_endpoints``: the
    active endpoints when the caller has read them already (it emits another event too).
    ``outbox``: collect the webhook deliveries there for the caller to queue, instead of queuing them.
    """
    previous = package.status
    package.status = command.target
    for name, value in (fields or {}).items():
        setattr(package, name, value)
    package.updated_at = now
    package.save(update_fields=["status", "updated_at", *(fields or {})])
    transition = _audit_record(
        package=package,
        kind=AuditKind.TRANSITION,
        actor=actor,
        channel=channel,
        now=now,
        command=command.code,
        from_status=previous,
        to_status=package.status,
        reason=reason,
    )
    AuditRecord.objects.bulk_create([*(earlier_audit or []), transition])
    deliveries = webhooks_emit(
        event_type=WebhookEventType.PACKAGE_STATUS_CHANGED,
        package=package,
        previous_status=previous,
        endpoints=webhook_endpoints,
        enqueue=outbox is None,
    )
    if outbox is not None:
        outbox.delivery_ids.extend(delivery.pk for delivery in deliveries)
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


# --- the commands (SPEC 3.2) --------------------------------------------------------------------


def package_complete_packaging(*, package: Package, actor: User | None, channel: str) -> Package:
    """waiting -> packed_all_items."""
    command = cmd.COMMANDS[cmd.COMPLETE_PACKAGING]
    with transaction.atomic():
        package = _lock_package(package.pk)
        _authorize(package=package, actor=actor, command=command, channel=channel)
        _check_state(package=package, command=command)
        _move(package=package, command=command, actor=actor, channel=channel, now=timezone.now())
    return package


def package_mark_ready(*, package: Package, actor: User | None, channel: str) -> Package:
    """packed_all_items -> ready_for_customer_pickup: starts the hold period, issues the code (when on),
    and writes the customer's ready message and the Whisperer event, both carrying the code encrypted."""
    command = cmd.COMMANDS[cmd.READY_FOR_PICKUP]
    with transaction.atomic():
        package = _lock_package(package.pk)
        _authorize(package=package, actor=actor, command=command, channel=channel)
        _check_state(package=package, command=command)
        now = timezone.now()
        conf = StoreSettings(package.store_id)
        _move(
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
            _audit(package=package, kind=AuditKind.CODE_ISSUED, actor=actor, channel=channel, now=now)
        messages_queue_for_package(
            package=package, event=MessageEvent.READY_FOR_PICKUP, code=code, pickup_code=pickup_code
        )
        webhooks_emit(
            event_type=WebhookEventType.PACKAGE_READY_WHISPERER,
            package=package,
            previous_status=PackageStatus.PACKED_ALL_ITEMS,
            code=code,
            pickup_code=pickup_code,
        )
    return package


def package_resend_code(*, package: Package, actor: User | None, channel: str) -> Package:
    """Replace the package's code with a new one and send it. The old code stops working at once.

    Raises ``throttled`` (with ``retryAfter``) inside the cooldown or past the 24-hour quota.
    """
    command = cmd.COMMANDS[cmd.RESEND_CODE]
    with transaction.atomic():
        package = _lock_package(package.pk)
        _authorize(package=package, actor=actor, command=command, channel=channel)
        _check_state(package=package, command=command)
        conf = StoreSettings(package.store_id)
        if not conf.IS_OTP_ENABLED:
            raise ApplicationError(
                "invalid_state", _("Pickup codes are not used at this store."), {"command": command.code}
            )
        now = timezone.now()
        otp.pickup_code_check_issue_allowed(package=package, store_settings=conf, now=now)
        pickup_code, code = otp.pickup_code_issue(package=package, store_settings=conf, now=now)
        _audit(package=package, kind=AuditKind.CODE_RESENT, actor=actor, channel=channel, now=now, command=command.code)
        messages_queue_for_package(package=package, event=MessageEvent.CODE_RESENT, code=code, pickup_code=pickup_code)
        webhooks_emit(
            event_type=WebhookEventType.PACKAGE_READY_WHISPERER,
            package=package,
            previous_status=package.status,  # a new code, no change of state
            code=code,
            pickup_code=pickup_code,
        )
        package.updated_at = now
        package.save(update_fields=["updated_at"])
    return package


@dataclass
class DeliveryOutcome:
    """What a successful delivery did: the delivered packages, and whether a code was checked.

    ``role``: the actor's role in the (first) package's store, as authorised; the caller's answer
    needs it for the package's next commands.
    """

    packages: list[Package]
    code_required: bool
    manual: bool
    role: str | None = None

    @property
    def package(self) -> Package:
        return self.packages[0]


def _check_verification_input(*, otp_value: Any, manual: Any) -> None:
    """Malformed input is refused before anything is counted (SPEC 4)."""
    if manual not in (True, False):
        raise ApplicationError("validation_error", _("manualConfirm must be true or false."))
    if otp_value is not None:
        otp.code_check_format(otp_value)


def _confirms_manually(*, otp_value: Any, manual: Any) -> bool:
    """Whether a verification is a manual confirmation: only when no code was typed. A typed code is always
    compared, whatever the "customer showed the code" box or ``manualConfirm`` says: a wrong one counts an attempt
    and is refused, a right one is an ordinary verified delivery (issue 15). One rule for the pages and the API."""
    return manual is True and otp_value is None


def _require_code_or_manual(*, otp_value: str | None, manual: bool) -> None:
    if otp_value is None and not manual:
        raise ApplicationError(
            "validation_error",
            _("Enter the pickup code, or confirm that the customer showed it."),
            {"fields": {"otp": [str(_("This field is required."))]}},
        )


def _check_manual_allowed(*, conf: StoreSettings) -> None:
    if not conf.ALLOW_MANUAL_CONFIRM:
        raise ApplicationError("permission_denied", _("Manual confirmation is not allowed at this store."))


# Refusals of a verification attempt made before any code is compared; each is still an attempt (SPEC 3.4).
_REFUSALS_AUDITED = frozenset({"invalid_state", "permission_denied", "throttled"})


def _audit_verification(
    *,
    package: Package,
    actor: User | None,
    channel: str,
    now: datetime,
    manual: bool,
    refusal: ApplicationError | None,
    save: bool = True,
) -> AuditRecord:
    """One verification attempt: ``success``, ``failure`` (the code was wrong, expired, locked or missing) or
    ``refused`` (the rules refused it before any code was compared, ``_REFUSALS_AUDITED``)."""
    if refusal is None:
        outcome = AuditOutcome.SUCCESS
    elif refusal.code in _REFUSALS_AUDITED:
        outcome = AuditOutcome.REFUSED
    else:
        outcome = AuditOutcome.FAILURE
    return (_audit if save else _audit_record)(
        package=package,
        kind=AuditKind.VERIFICATION,
        actor=actor,
        channel=channel,
        now=now,
        outcome=outcome,
        error_code=refusal.code if refusal else "",
        manual=manual,
        command=cmd.DELIVER,
    )


@contextmanager
def _audited_refusals(*, actor: User | None, channel: str, manual: bool) -> Iterator[list[Package]]:
    """Record, after the rollback, an attempt on the packages the caller appended (those it locked and the actor
    may see) that the rules refused before any code was compared: not ready, manual confirmation not allowed,
    too many failures. Outcome ``refused``, with the error code; it does not count towards the failure window
    (only wrong codes do). Malformed input (``validation_error``) is not an attempt and is not recorded."""
    attempted: list[Package] = []
    try:
        yield attempted
    except ApplicationError as error:
        if error.code in _REFUSALS_AUDITED and attempted:
            now = timezone.now()
            AuditRecord.objects.bulk_create(
                _audit_verification(
                    package=package, actor=actor, channel=channel, now=now, manual=manual, refusal=error, save=False
                )
                for package in attempted
            )
        raise


def _wrong_code_error(remaining: int, *, replaced: bool = False) -> ApplicationError:
    """``otp_invalid`` after a counted wrong entry. ``replaced``: the value is an earlier code of the package that a
    resend replaced (``otp.pickup_code_matches_replaced``), so the message says to ask for the latest message; it is
    a wrong entry all the same (SPEC 4), and ``details.replacedCode`` says so to an API client."""
    if replaced and remaining:
        message = ngettext_lazy(
            "This is an earlier code, replaced by a newer one. Ask the customer for the latest message. "
            "%(count)s attempt left.",
            "This is an earlier code, replaced by a newer one. Ask the customer for the latest message. "
            "%(count)s attempts left.",
            "count",
        ) % {"count": remaining}
    elif replaced:
        message = _(
            "This is an earlier code, replaced by a newer one. The current code is now locked: send a new code."
        )
    elif remaining:
        message = ngettext_lazy(
            "The pickup code is wrong. %(count)s attempt left.",
            "The pickup code is wrong. %(count)s attempts left.",
            "count",
        ) % {"count": remaining}
    else:
        message = _("The pickup code is wrong. The code is now locked: send a new code.")
    details: dict[str, Any] = {"attemptsRemaining": remaining}
    if replaced:
        details["replacedCode"] = True
    return ApplicationError("otp_invalid", message, details)


def _deliver_locked(
    *,
    package: Package,
    actor: User | None,
    channel: str,
    now: datetime,
    manual: bool,
    code_consumed: bool = False,
    earlier_audit: list[AuditRecord] | None = None,
) -> None:
    """The delivery itself, on a locked package whose code (if any) has been accepted.

    ``code_consumed``: the package's current code was just marked used, so no current code is left to
    invalidate (at most one exists, a database constraint).
    """
    if not code_consumed:
        otp.pickup_code_invalidate(package=package, reason=otp.DELIVERED, now=now)
    endpoints = webhook_endpoints_active()  # once for both events of the delivery
    outbox = _Outbox()  # its messages and webhook deliveries go out with one publish
    _move(
        package=package,
        command=cmd.COMMANDS[cmd.DELIVER],
        actor=actor,
        channel=channel,
        now=now,
        reason=cmd.MANUAL_CONFIRMATION if manual else "",
        fields={"delivered_at": now, "ready_expires_at": None},
        earlier_audit=earlier_audit,
        webhook_endpoints=endpoints,
        outbox=outbox,
    )
    messages = messages_queue_for_package(package=package, event=MessageEvent.PICKED_UP, enqueue=False)
    deliveries = webhooks_emit(
        event_type=WebhookEventType.PACKAGE_DELIVERED,
        package=package,
        previous_status=PackageStatus.READY_FOR_CUSTOMER_PICKUP,
        endpoints=endpoints,
        enqueue=False,
    )
    outbox.message_ids.extend(message.pk for message in messages)
    outbox.delivery_ids.extend(delivery.pk for delivery in deliveries)
    outbox.queue_on_commit()


def _verify_and_deliver(
    *,
    packages: list[Package],
    actor: User | None,
    channel: str,
    otp_value: str | None,
    manual: bool,
    now: datetime,
    codes: dict[Any, PickupCode | None] | None = None,
) -> tuple[list[Package], ApplicationError | None]:
    """Check the code against ``packages`` (locked, ready, same order) and deliver what it opens.

    A value opens the one package whose live code it matches; the right code of a locked or expired
    package is refused as such; when it matches none, a wrong entry is counted on each package with
    a live code (the message says when the value is an earlier code that a resend replaced). Manual
    confirmation opens every package whose code is live. Every attempt is audited. Returns (delivered
    packages, refusal). ``codes``: each package's current code by package id, when the caller has read
    them after the lock.
    """
    if codes is None:
        codes = {package.pk: otp.pickup_code_current(package=package) for package in packages}
    refusals = {package.pk: otp.pickup_code_refusal(code=codes[package.pk], now=now) for package in packages}
    live = [package for package in packages if refusals[package.pk] is None]
    if manual:
        opened = live
    else:
        # Compared with every current code, live or not: the right code of a locked or expired package is refused
        # as such (SPEC 4), not counted as a wrong entry on the order's other packages. That a value is a dead
        # code's tells nothing worth having: a locked or expired code never opens anything again.
        matched = next(
            (p for p in packages if codes[p.pk] and otp.pickup_code_matches(code=codes[p.pk], value=otp_value)), None
        )
        if matched is not None and refusals[matched.pk] is not None:
            refusal = refusals[matched.pk]
            _audit_verification(package=matched, actor=actor, channel=channel, now=now, manual=False, refusal=refusal)
            return [], refusal
        opened = [] if matched is None else [matched]
    if opened:
        for package in opened:
            consumed = otp.pickup_code_consume(code=codes[package.pk], now=now)
            verification = _audit_verification(
                package=package, actor=actor, channel=channel, now=now, manual=manual, refusal=None, save=False
            )
            _deliver_locked(
                package=package,
                actor=actor,
                channel=channel,
                now=now,
                manual=manual,
                code_consumed=consumed,
                earlier_audit=[verification],
            )
        return opened, None
    if live:
        # An earlier code of any package checked (one of an order's packages may be locked while the customer shows
        # its first message): the message says so. Read only here, on the wrong-code path.
        replaced = otp.pickup_code_matches_replaced(package_ids=[p.pk for p in packages], value=otp_value, now=now)
        refusal = None
        for package in live:
            remaining = otp.pickup_code_register_wrong_entry(code=codes[package.pk])
            error = _wrong_code_error(remaining, replaced=replaced)
            _audit_verification(package=package, actor=actor, channel=channel, now=now, manual=False, refusal=error)
            refusal = refusal or error
        return [], refusal
    # No live code at all: say why for the first package, and audit the refused attempt.
    for package in packages:
        _audit_verification(
            package=package, actor=actor, channel=channel, now=now, manual=manual, refusal=refusals[package.pk]
        )
    return [], refusals[packages[0].pk]


def package_deliver(
    *,
    package: Package | Any,
    actor: User | None,
    channel: str,
    otp_value: str | None = None,
    manual: bool = False,
) -> DeliveryOutcome:
    """ready_for_customer_pickup -> delivered, after checking the pickup code when codes are on.

    ``otp_value`` must be six ASCII digits (else ``validation_error``, no attempt counted) and is
    always compared when given, ``manual`` or not; ``manual=True`` without a code needs
    ALLOW_MANUAL_CONFIRM and a live code, without comparing it. Refusals:
    ``otp_invalid`` (the wrong entry is committed first), ``otp_expired``, ``otp_locked``,
    ``otp_not_issued``, ``throttled`` (the actor's failure window), ``invalid_state``. Of many
    simultaneous calls for one package exactly one succeeds: the package row lock serialises them.

    ``package``: the package or its id. The package is read (locked) here whatever was passed, so a
    caller need not read it first: an id that names no package in the actor's stores is ``not_found``.
    The delivered package comes back with its order, customer and stores loaded, for the answer.
    """
    command = cmd.COMMANDS[cmd.DELIVER]
    refusal = None
    package_id = package.pk if isinstance(package, Package) else package
    confirms_manually = _confirms_manually(otp_value=otp_value, manual=manual)
    with _audited_refusals(actor=actor, channel=channel, manual=confirms_manually) as attempted, transaction.atomic():
        package = _lock_package_for_delivery(package_id, actor=actor)
        role = _authorize(package=package, actor=actor, command=command, channel=channel)
        attempted.append(package)
        # After not_found (a package outside the caller's stores answers the same whatever the body),
        # before anything is counted; raising here rolls back and leaves the package as it was.
        _check_verification_input(otp_value=otp_value, manual=manual)
        manual = confirms_manually
        _check_state(package=package, command=command)
        conf = StoreSettings(package.store_id)
        now = timezone.now()
        if not conf.IS_OTP_ENABLED:
            _deliver_locked(package=package, actor=actor, channel=channel, now=now, manual=False)
            return DeliveryOutcome(packages=[package], code_required=False, manual=False, role=role)
        _require_code_or_manual(otp_value=otp_value, manual=manual)
        if manual:
            _check_manual_allowed(conf=conf)
        code = otp.pickup_code_for_verification(package=package, actor=actor, now=now)  # throttled first
        delivered, refusal = _verify_and_deliver(
            packages=[package],
            actor=actor,
            channel=channel,
            otp_value=otp_value,
            manual=manual,
            now=now,
            codes={package.pk: code},
        )
    if refusal is not None:
        raise refusal  # after the commit: the counted attempt and its audit record stay
    return DeliveryOutcome(packages=delivered, code_required=True, manual=manual, role=role)


def order_verify(
    *,
    order: Order,
    actor: User | None,
    channel: str,
    otp_value: str | None = None,
    manual: bool = False,
) -> DeliveryOutcome:
    """Order-level verification (CampusBite): the code is tried against the order's ready packages in
    the actor's stores and opens the one it matches; a wrong code counts on each. ``manual`` without a
    code delivers every ready package whose code is live (a given code is compared, as in
    ``package_deliver``). Same refusals as ``package_deliver``."""
    _check_verification_input(otp_value=otp_value, manual=manual)
    manual = _confirms_manually(otp_value=otp_value, manual=manual)
    command = cmd.COMMANDS[cmd.DELIVER]
    refusal = None
    with _audited_refusals(actor=actor, channel=channel, manual=manual) as attempted, transaction.atomic():
        otp.verifications_lock(actor=actor)  # before any row lock; the failure window below is read after it
        visible_stores = {
            store_id
            for store_id in set(order.packages.values_list("store_id", flat=True))
            if staff_role_for_store(user=actor, store_id=store_id) is not None
        }
        if not visible_stores:
            raise ApplicationError("not_found")
        allowed_ids = list(
            order.packages.filter(status=PackageStatus.READY_FOR_CUSTOMER_PICKUP, store_id__in=visible_stores)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        # Lock in primary-key order so two order-level verifications cannot deadlock.
        packages = [_lock_package(pk) for pk in allowed_ids]
        packages = [p for p in packages if p.status == PackageStatus.READY_FOR_CUSTOMER_PICKUP]
        if not packages:
            raise ApplicationError("invalid_state", _("No package of this order is ready for pickup."))
        now = timezone.now()
        with_codes = [p for p in packages if StoreSettings(p.store_id).IS_OTP_ENABLED]
        without_codes = [p for p in packages if p not in with_codes]
        for package in packages:
            _authorize(package=package, actor=actor, command=command, channel=channel)
        attempted.extend(packages)
        if not with_codes:
            for package in without_codes:
                _deliver_locked(package=package, actor=actor, channel=channel, now=now, manual=False)
            order_refresh_status(order=order)
            return DeliveryOutcome(packages=without_codes, code_required=False, manual=False)
        _require_code_or_manual(otp_value=otp_value, manual=manual)
        if manual:
            for package in with_codes:
                _check_manual_allowed(conf=StoreSettings(package.store_id))
        otp.verification_check_spray_limit(actor=actor, now=now)
        delivered, refusal = _verify_and_deliver(
            packages=with_codes, actor=actor, channel=channel, otp_value=otp_value, manual=manual, now=now
        )
    order.refresh_from_db()
    if refusal is not None:
        raise refusal
    return DeliveryOutcome(packages=delivered, code_required=True, manual=manual)


def package_cancel(*, package: Package, actor: User | None, channel: str, reason: str) -> Package:
    """waiting / packed_all_items / ready_for_customer_pickup -> cancelled (managers only).

    Needs a reason; invalidates the code; notifies the customer; emits PackageCancelledEvent.
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
        package = _lock_package(package.pk)
        _authorize(package=package, actor=actor, command=command, channel=channel)
        _check_state(package=package, command=command)
        _cancel_locked(package=package, actor=actor, channel=channel, now=timezone.now(), reason=reason)
        messages_queue_for_package(package=package, event=MessageEvent.CANCELLED)
    return package


def _cancel_locked(*, package: Package, actor: User | None, channel: str, now: datetime, reason: str) -> None:
    previous = package.status
    otp.pickup_code_invalidate(package=package, reason=cmd.NO_SHOW if reason == cmd.NO_SHOW else otp.CANCELLED, now=now)
    _move(
        package=package,
        command=cmd.COMMANDS[cmd.CANCEL],
        actor=actor,
        channel=channel,
        now=now,
        reason=reason,
        fields={"cancelled_at": now, "cancellation_reason": reason, "ready_expires_at": None},
    )
    webhooks_emit(event_type=WebhookEventType.PACKAGE_CANCELLED, package=package, previous_status=previous)


_SERVICES = {
    cmd.COMPLETE_PACKAGING: lambda **kw: package_complete_packaging(
        package=kw["package"], actor=kw["actor"], channel=kw["channel"]
    ),
    cmd.READY_FOR_PICKUP: lambda **kw: package_mark_ready(
        package=kw["package"], actor=kw["actor"], channel=kw["channel"]
    ),
    cmd.DELIVER: lambda **kw: (
        package_deliver(
            package=kw["package"],
            actor=kw["actor"],
            channel=kw["channel"],
            otp_value=kw["otp_value"],
            manual=kw["manual"],
        ).package
    ),
    cmd.RESEND_CODE: lambda **kw: package_resend_code(package=kw["package"], actor=kw["actor"], channel=kw["channel"]),
    cmd.CANCEL: lambda **kw: package_cancel(
        package=kw["package"], actor=kw["actor"], channel=kw["channel"], reason=kw["reason"]
    ),
}


def package_run_command(
    *,
    package: Package,
    command: Any,
    actor: User | None,
    channel: str,
    otp_value: str | None = None,
    manual: bool = False,
    reason: str = "",
) -> Package:
    """Run the command named by its code (SPEC 3.2); an unknown code is a ``validation_error``."""
    if not isinstance(command, str) or command not in cmd.COMMANDS:
        raise ApplicationError(
            "validation_error",
            _("Unknown command."),
            {"fields": {"command": [str(_("Choose one of: %s.") % ", ".join(cmd.COMMANDS))]}},
        )
    return _SERVICES[command](
        package=package, actor=actor, channel=channel, otp_value=otp_value, manual=manual, reason=reason
    )


def package_available_commands(*, package: Package, actor: User | None) -> list[str]:
    role = staff_role_for_store(user=actor, store_id=package.store_id)
    return cmd.available_commands(
        status=package.status, role=role, otp_enabled=StoreSettings(package.store_id).IS_OTP_ENABLED
    )


# --- no-shows and trust tiers (SPEC 6) ------------------------------------------------------------
#
# The sweep (packages_expire_unclaimed) and the single expiry (package_expire_no_show) share one
# implementation, _expire_claimed, which works on a list of packages already locked by the caller:
# one compare-and-set UPDATE, then bulk inserts of audit records, strikes, messages and webhook
# deliveries, then the order statuses and customer tiers of the batch. Lock order, everywhere:
# packages, then orders (primary-key order), then customers (primary-key order).


class _LostRace(Exception):
    """A compare-and-set matched fewer rows than were claimed: roll the batch back and claim again."""


@dataclass(frozen=True)
class TierRules:
    """The trust-tier settings in force: the global ones (``current()``), which decide the stored tier,
    or a store's (``current(store)``), which decide that store's view of a customer (SPEC 5: a store may
    override any setting)."""

    watch_threshold: int
    restrict_threshold: int
    restrict_days: int
    decay_days: int

    @classmethod
    def current(cls, store: Any = None) -> TierRules:
        conf = StoreSettings(store)
        return cls(
            watch_threshold=conf.NO_SHOW_WATCH_THRESHOLD,
            restrict_threshold=conf.NO_SHOW_RESTRICT_THRESHOLD,
            restrict_days=conf.NO_SHOW_RESTRICT_DAYS,
            decay_days=conf.NO_SHOW_STRIKE_DECAY_DAYS,
        )

    def counting_since(self, now: datetime) -> datetime:
        return now - timedelta(days=self.decay_days)

    def history_since(self, now: datetime) -> datetime:
        """No-shows older than this can no longer matter: not counting now, nor a restriction running now."""
        return now - timedelta(days=self.decay_days + self.restrict_days)


def trust_tier_compute(
    *,
    strikes: int,
    restricted_until: datetime | None,
    now: datetime,
    rules: TierRules,
    new_strike: bool = False,
    lift_restriction: bool = False,
) -> tuple[str, datetime | None]:
    """(tier, restricted_until) from the number of counting strikes (SPEC 6). Pure: no queries.

    - A new strike that brings the count to NO_SHOW_RESTRICT_THRESHOLD or more restricts for
      NO_SHOW_RESTRICT_DAYS from now (a further strike while restricted starts the period again).
    - A restriction lasts its days even if strikes decay meanwhile; only ``lift_restriction``
      (a forgiven strike) ends it early, and only when the count fell below the restrict threshold.
    - Once it has ended the tier comes from the count, capped at ``watch`` until a new strike.
    """
    if new_strike and strikes >= rules.restrict_threshold:
        restricted_until = now + timedelta(days=rules.restrict_days)
    if lift_restriction and restricted_until and strikes < rules.restrict_threshold:
        restricted_until = None
    if restricted_until and restricted_until > now:
        return TrustTier.RESTRICTED, restricted_until
    if strikes >= rules.watch_threshold:
        return TrustTier.WATCH, None
    return TrustTier.GOOD, None


def trust_tier_from_history(
    *, strike_times: Iterable[datetime], now: datetime, rules: TierRules
) -> tuple[str, datetime | None]:
    """(tier, restricted_until) from the customer's unforgiven no-shows alone. Pure: no queries.

    The same rule as the stored tier (``trust_tier_compute``, applied at each no-show) replayed over the
    history: a no-show that brought the strikes counting at that moment to the restrict threshold
    restricts for ``restrict_days`` from it; once the last such restriction has ended, the strikes
    counting now give ``watch`` or ``good``. Used for a store whose NO_SHOW_* settings differ from the
    global ones, where nothing is stored: such a view follows a change of the store's settings at once.
    ``strike_times`` needs only the strikes newer than ``rules.history_since(now)``.
    """
    times = sorted(strike_times)
    decay = timedelta(days=rules.decay_days)
    restricted_until, first = None, 0
    for index, at in enumerate(times):
        while times[first] <= at - decay:
            first += 1
        if index - first + 1 >= rules.restrict_threshold:
            restricted_until = at + timedelta(days=rules.restrict_days)
    if restricted_until and restricted_until > now:
        return TrustTier.RESTRICTED, restricted_until
    counting = sum(1 for at in times if at > rules.counting_since(now))
    return (TrustTier.WATCH if counting >= rules.watch_threshold else TrustTier.GOOD), None


def customers_trust_at_store(
    *, customers: Iterable[Customer], store: Any, now: datetime | None = None
) -> dict[Any, tuple[str, datetime | None]]:
    """{customer id: (tier, restricted_until)} as ``store`` sees them (a Store or its id).

    Under the global NO_SHOW_* settings that is the stored tier (no query). A store that overrides any
    of them judges by its own: the customers' no-shows in every store, replayed with the store's
    settings (``trust_tier_from_history``; one query for all the customers given).
    """
    customers = list(customers)
    rules = TierRules.current(store)
    if rules == TierRules.current():
        return {customer.pk: (customer.trust_tier, customer.restricted_until) for customer in customers}
    now = now or timezone.now()
    times = defaultdict(list)
    if customers:
        for customer_id, at in NoShowStrike.objects.filter(
            customer_id__in=[customer.pk for customer in customers],
            forgiven_at__isnull=True,
            created_at__gt=rules.history_since(now),
        ).values_list("customer_id", "created_at"):
            times[customer_id].append(at)
    return {
        customer.pk: trust_tier_from_history(strike_times=times[customer.pk], now=now, rules=rules)
        for customer in customers
    }


TIER_SETTING_KEYS = (
    "NO_SHOW_WATCH_THRESHOLD",
    "NO_SHOW_RESTRICT_THRESHOLD",
    "NO_SHOW_RESTRICT_DAYS",
    "NO_SHOW_STRIKE_DECAY_DAYS",
)


def stores_with_own_tier_rules() -> list[Store]:
    """The stores whose NO_SHOW_* settings differ from the global ones (they judge customers by their own)."""
    overriding = AppSetting.objects.filter(store__isnull=False, key__in=TIER_SETTING_KEYS).values("store_id")
    chain = TierRules.current()
    return [
        store for store in Store.objects.filter(pk__in=overriding).order_by("code") if TierRules.current(store) != chain
    ]


def _customers_refresh_tiers(
    *,
    customer_ids: Iterable[Any],
    now: datetime,
    new_strike_ids: Iterable[Any] = (),
    lift_restriction: bool = False,
) -> tuple[dict[Any, tuple[str, datetime | None]], set[Any]]:
    """Lock the customers (primary-key order), count their strikes and store changed tiers.

    Returns {customer id: (tier, restricted_until)} for every customer given, and the ids of those
    whose tier changed (as read under the lock, so it is what this call replaced). The row lock makes
    two sweeps penalising one customer at once count each other's strikes (READ COMMITTED reads
    the other's committed strike after the lock is granted).
    """
    ids = sorted(set(customer_ids), key=str)
    if not ids:
        return {}, set()
    new_strike_ids = set(new_strike_ids)
    rules = TierRules.current()
    with transaction.atomic(savepoint=False):
        customers = list(
            Customer.objects.select_for_update()
            .filter(pk__in=ids)
            .order_by("pk")
            .values_list("pk", "trust_tier", "restricted_until")
        )
        counts = dict(
            NoShowStrike.objects.filter(
                customer_id__in=ids, forgiven_at__isnull=True, created_at__gt=rules.counting_since(now)
            )
            .order_by()
            .values("customer_id")
            .annotate(count=Count("pk"))
            .values_list("customer_id", "count")
        )
        result, changes, tier_changed = {}, defaultdict(list), set()
        for pk, tier, restricted_until in customers:
            new = trust_tier_compute(
                strikes=counts.get(pk, 0),
                restricted_until=restricted_until,
                now=now,
                rules=rules,
                new_strike=pk in new_strike_ids,
                lift_restriction=lift_restriction,
            )
            result[pk] = new
            if new != (tier, restricted_until):
                changes[new].append(pk)
            if new[0] != tier:
                tier_changed.add(pk)
        for (tier, restricted_until), pks in changes.items():
            Customer.objects.filter(pk__in=pks).update(
                trust_tier=tier, restricted_until=restricted_until, updated_at=now
            )
    return result, tier_changed


def customer_trust_tier_refresh(
    *, customer: Customer, now: datetime | None = None, new_strike: bool = False, lift_restriction: bool = False
) -> str:
    """Recompute and store the customer's tier (see ``trust_tier_compute``); returns it.

    Locks the customer row (opens a transaction when called outside one). ``new_strike`` says a
    strike was just recorded (it may start a restriction); ``lift_restriction`` that one was forgiven.
    """
    now = now or timezone.now()
    tiers, _changed = _customers_refresh_tiers(
        customer_ids=[customer.pk],
        now=now,
        new_strike_ids=[customer.pk] if new_strike else (),
        lift_restriction=lift_restriction,
    )
    tier, restricted_until = tiers[customer.pk]
    customer.trust_tier, customer.restricted_until = tier, restricted_until
    return tier


def customers_refresh_ended_tiers(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Bring every stored tier in line with ``trust_tier_compute`` under the settings in force (beat).

    Candidates, two queries each walked in primary-key order a batch at a time (keyset: memory stays
    flat, nobody is visited twice, a changed customer does not shift the next batch):

    - customers not in the default state (``watch``, ``restricted`` or a ``restricted_until``): a
      restriction that ended, a restricted customer without an end (or the reverse), a ``watch``
      customer whose counting strikes fell below the watch threshold (decay, a raised threshold,
      a shorter decay window);
    - ``good`` customers with NO_SHOW_WATCH_THRESHOLD or more counting strikes (a lowered threshold,
      a longer decay window), found from the strikes: the ``created_at`` index bounds that scan
      to the decay window, so it does not grow with the number of customers or old strikes.

    Each batch is recomputed by ``_customers_refresh_tiers`` (the customer row locks, the strikes
    counted under them, the sweep's rule), so a candidate that a no-show or a forgiveness changed
    meanwhile still ends with the right tier; the queries only choose whom to look at.

    Changed settings and restrictions: a restriction is the penalty of one no-show and runs its
    stored ``restricted_until``. A running one keeps that end when NO_SHOW_RESTRICT_DAYS or the
    thresholds change (only forgiving a strike lifts it early), and a lowered restrict threshold
    restricts nobody without a new no-show (those customers show ``watch``; their next no-show
    restricts), as when a restriction ends while enough strikes still count. ``good`` and ``watch``
    follow the thresholds and the decay window both ways on the next run. Order intake reads
    ``restricted_until`` itself, so a restriction also ends on time between runs.

    Returns how many customers' tier changed.
    """
    now = now or timezone.now()
    rules = TierRules.current()
    # Customers with NO_SHOW_WATCH_THRESHOLD or more counting strikes: the strikes' created_at index
    # bounds this to the decay window; customers are then looked up by primary key.
    at_watch = (
        NoShowStrike.objects.filter(forgiven_at__isnull=True, created_at__gt=rules.counting_since(now))
        .values("customer_id")
        .annotate(counting=Count("*"))
        .filter(counting__gte=rules.watch_threshold)
        .values("customer_id")
    )
    not_default = Customer.objects.filter(~Q(trust_tier=TrustTier.GOOD) | Q(restricted_until__isnull=False)).filter(
        Q(restricted_until__lte=now)
        | Q(restricted_until__gt=now) & ~Q(trust_tier=TrustTier.RESTRICTED)
        | Q(trust_tier=TrustTier.RESTRICTED, restricted_until__isnull=True)
        | Q(trust_tier=TrustTier.WATCH) & ~Q(pk__in=at_watch)
    )
    good_at_watch = Customer.objects.filter(trust_tier=TrustTier.GOOD, restricted_until__isnull=True, pk__in=at_watch)
    changed = 0
    for due in (not_default, good_at_watch):
        due = due.order_by("pk").values_list("pk", flat=True)
        last = None
        while True:
            ids = list((due if last is None else due.filter(pk__gt=last))[:batch_size])
            if not ids:
                break
            last = ids[-1]
            _after, tier_changed = _customers_refresh_tiers(customer_ids=ids, now=now)
            changed += len(tier_changed)
    return changed


def _orders_refresh_statuses(*, order_ids: Iterable[Any], now: datetime) -> None:
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


def _expire_claimed(*, packages: list[Package], now: datetime) -> None:
    """Cancel ``packages`` as no-shows. They are locked by the caller's transaction and were ready
    with ``ready_expires_at <= now`` when locked (loaded with ``order__customer`` and ``store``).

    Raises ``_LostRace`` (so the caller rolls back) if the compare-and-set does not match every one.
    """
    if not packages:
        return
    ids = [package.pk for package in packages]
    changed = Package.objects.filter(
        pk__in=ids, status=PackageStatus.READY_FOR_CUSTOMER_PICKUP, ready_expires_at__lte=now
    ).update(
        status=PackageStatus.CANCELLED,
        cancelled_at=now,
        cancellation_reason=cmd.NO_SHOW,
        ready_expires_at=None,
        updated_at=now,
    )
    if changed != len(ids):
        raise _LostRace
    previous = PackageStatus.READY_FOR_CUSTOMER_PICKUP
    for package in packages:
        package.status, package.cancelled_at, package.cancellation_reason = PackageStatus.CANCELLED, now, cmd.NO_SHOW
        package.ready_expires_at, package.updated_at = None, now
    otp.pickup_codes_invalidate_for_packages(package_ids=ids, reason=cmd.NO_SHOW, now=now)
    insert_rows(
        AuditRecord,
        [
            {
                "created_at": now,
                "kind": AuditKind.TRANSITION,
                "outcome": AuditOutcome.SUCCESS,
                "command": cmd.CANCEL,
                "from_status": previous,
                "to_status": PackageStatus.CANCELLED,
                "actor_id": None,
                "channel": Channel.SYSTEM,
                "store_id": package.store_id,
                "package_id": package.pk,
                "reason": cmd.NO_SHOW,
            }
            for package in packages
        ],
    )
    delivery_ids = webhooks_emit_for_packages(
        event_type=WebhookEventType.PACKAGE_STATUS_CHANGED, packages=packages, previous_status=previous, enqueue=False
    )
    _orders_refresh_statuses(order_ids=[package.order_id for package in packages], now=now)
    delivery_ids += webhooks_emit_for_packages(
        event_type=WebhookEventType.PACKAGE_CANCELLED, packages=packages, previous_status=previous, enqueue=False
    )
    insert_rows(
        NoShowStrike,
        [
            {"customer_id": package.order.customer_id, "package_id": package.pk, "created_at": now}
            for package in packages
        ],
    )
    customer_ids = [package.order.customer_id for package in packages]
    tiers, _changed = _customers_refresh_tiers(customer_ids=customer_ids, now=now, new_strike_ids=customer_ids)
    for package in packages:
        customer = package.order.customer
        customer.trust_tier, customer.restricted_until = tiers[customer.pk]
    message_ids = messages_queue_for_packages(packages=packages, event=MessageEvent.CANCELLED_NO_SHOW, enqueue=False)
    _queue_outbox_on_commit(message_ids=message_ids, delivery_ids=delivery_ids)


def _queue_outbox_on_commit(*, message_ids: list[Any], delivery_ids: list[Any] = ()) -> None:
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
        from orders import tasks

        try:
            tasks.outbox_fan_out.delay([str(pk) for pk in message_ids], [str(pk) for pk in delivery_ids])
        except Exception:  # any broker failure: the relay sends the pending rows later
            logger.warning(
                "could not queue %s outbox rows; the relay will send them",
                len(message_ids) + len(delivery_ids),
                exc_info=True,
            )

    transaction.on_commit(publish)


def package_expire_no_show(*, package: Package, now: datetime | None = None) -> bool:
    """Cancel a package still ready after its ``readyExpiresAt`` (reason ``no_show``), once.

    Locks the row and re-checks it, so a package delivered first, or expired by a parallel run, is
    left alone: returns False. Otherwise, in one transaction: code invalidated, transition audited,
    one strike, tier refreshed, order status updated, the customer's ``cancelled_no_show`` message,
    PackageStatusChangedEvent and PackageCancelledEvent; returns True.
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock_package(package.pk)
        if locked.status != PackageStatus.READY_FOR_CUSTOMER_PICKUP or not (
            locked.ready_expires_at and locked.ready_expires_at <= now
        ):
            return False
        _expire_claimed(packages=[locked], now=now)
    return True


def packages_due_for_expiry(*, now: datetime | None = None):
    """Packages still ready at or after their ``readyExpiresAt``, oldest deadline first (read only)."""
    now = now or timezone.now()
    return (
        Package.objects.filter(status=PackageStatus.READY_FOR_CUSTOMER_PICKUP, ready_expires_at__lte=now)
        .select_related("order__customer", "store")
        .order_by("ready_expires_at", "pk")
    )


def packages_expire_unclaimed(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Expire every package still ready at or after its deadline, one transaction per batch (beat, cron).

    Each batch is claimed with ``SELECT ... FOR UPDATE SKIP LOCKED`` (packages being delivered, or
    claimed by a parallel sweep, are skipped) and cancelled by ``_expire_claimed``. Safe to run twice
    or in parallel: each package is cancelled, penalised and messaged once; memory is one batch.
    Returns how many packages this call expired.
    """
    now = now or timezone.now()
    expired, lost_races = 0, 0
    while True:
        try:
            with transaction.atomic():
                batch = list(
                    packages_due_for_expiry(now=now).select_for_update(skip_locked=True, of=("self",))[:batch_size]
                )
                _expire_claimed(packages=batch, now=now)
        except _LostRace:
            # Only where rows cannot be locked (SQLite): another sweep changed them first; claim afresh.
            lost_races += 1
            if lost_races > 10:
                logger.warning("no-show sweep gave up after repeated lost races; the next run continues")
                return expired
            continue
        expired += len(batch)
        if len(batch) < batch_size:
            return expired


def packages_send_reminders(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Write one ``pickup_reminder`` per ready package ``PICKUP_REMINDER_HOURS`` (per store; 0 = none)
    before its ``readyExpiresAt`` (beat). Returns how many packages were reminded.

    Never twice: the claim locks rows with ``SKIP LOCKED`` and ``reminder_sent_at`` is set by
    compare-and-set in the transaction that writes the messages. Packages delivered or cancelled,
    already past their deadline, or whose reminder time would fall before they became ready (a
    reminder window as long as the hold) get none.
    """
    now = now or timezone.now()
    candidates = Package.objects.filter(
        status=PackageStatus.READY_FOR_CUSTOMER_PICKUP, reminder_sent_at__isnull=True, ready_expires_at__gt=now
    )
    stores_by_hours = defaultdict(list)
    for store_id in candidates.order_by().values_list("store_id", flat=True).distinct():
        hours = StoreSettings(store_id).PICKUP_REMINDER_HOURS
        if hours:
            stores_by_hours[hours].append(store_id)
    reminded = 0
    for hours, store_ids in stores_by_hours.items():
        window = timedelta(hours=hours)
        due = (
            candidates.filter(
                store_id__in=store_ids,
                ready_expires_at__lte=now + window,
                ready_at__lt=F("ready_expires_at") - window,
            )
            .select_related("order__customer", "store")
            .order_by("ready_expires_at", "pk")
        )
        lost_races = 0
        while True:
            try:
                with transaction.atomic():
                    batch = list(due.select_for_update(skip_locked=True, of=("self",))[:batch_size])
                    ids = [package.pk for package in batch]
                    marked = Package.objects.filter(
                        pk__in=ids, status=PackageStatus.READY_FOR_CUSTOMER_PICKUP, reminder_sent_at__isnull=True
                    ).update(reminder_sent_at=now)
                    if marked != len(ids):
                        raise _LostRace
                    for package in batch:
                        package.reminder_sent_at = now
                    message_ids = messages_queue_for_packages(
                        packages=batch, event=MessageEvent.PICKUP_REMINDER, enqueue=False
                    )
                    _queue_outbox_on_commit(message_ids=message_ids)
            except _LostRace:
                lost_races += 1
                if lost_races > 10:
                    break
                continue
            reminded += len(batch)
            if len(batch) < batch_size:
                break
    return reminded


def no_show_strike_forgive(*, strike: NoShowStrike, actor: User, reason: str, channel: str = Channel.ADMIN) -> bool:
    """Forgive one strike (administrators), audited on its package; the tier is recomputed, and a
    restriction ends when the count falls below the restrict threshold. Returns False (and changes
    nothing) when the strike was already forgiven. Needs a reason (``validation_error``) and an active staff
    user who may change no-show strikes (``permission_denied``), whichever screen asked."""
    if not user_may_forgive_no_shows(user=actor):
        raise ApplicationError("permission_denied", _("Only an administrator may forgive a no-show."))
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if not reason:
        raise ApplicationError(
            "validation_error",
            _("Give a reason for forgiving the no-show."),
            {"fields": {"reason": [str(_("This field is required."))]}},
        )
    with transaction.atomic():
        strike = NoShowStrike.objects.select_for_update().select_related("package", "customer").get(pk=strike.pk)
        if strike.forgiven_at:
            return False
        now = timezone.now()
        # Compare-and-set, so a second administrator forgiving the same strike at once changes nothing.
        NoShowStrike.objects.filter(pk=strike.pk, forgiven_at__isnull=True).update(
            forgiven_at=now, forgiven_by=actor, forgiven_reason=reason[:255]
        )
        _audit(
            package=strike.package,
            kind=AuditKind.STRIKE_FORGIVEN,
            actor=actor,
            channel=channel,
            now=now,
            reason=reason,
        )
        customer_trust_tier_refresh(customer=strike.customer, now=now, lift_restriction=True)
    return True


@dataclass(frozen=True)
class ForgivePreview:
    """What ``no_show_strike_forgive`` would do to the customer's tier, read before it is done."""

    rules: TierRules
    counting: int  # the customer's strikes counting now (forgiven ones and those past the decay window do not)
    tier: str  # the tier after forgiving
    restricted_until: datetime | None


def no_show_strike_forgive_preview(*, strike: NoShowStrike, now: datetime | None = None) -> ForgivePreview:
    """The tier ``no_show_strike_forgive`` would store (the same count and ``trust_tier_compute`` as
    ``_customers_refresh_tiers``, with the restriction lifted), without changing anything; read only."""
    now = now or timezone.now()
    customer = strike.customer
    rules = TierRules.current()
    since = rules.counting_since(now)
    counting = NoShowStrike.objects.filter(customer=customer, forgiven_at__isnull=True, created_at__gt=since).count()
    after = counting - (1 if not strike.forgiven_at and strike.created_at > since else 0)
    tier, until = trust_tier_compute(
        strikes=after, restricted_until=customer.restricted_until, now=now, rules=rules, lift_restriction=True
    )
    return ForgivePreview(rules=rules, counting=counting, tier=tier, restricted_until=until)


# --- order intake (SPEC 9.2) ------------------------------------------------------------------------


# Numbers no SMS reaches, by libphonenumber's type: the pickup code goes out by SMS (SPEC 4), so a customer with one of
# these (a Turkish fixed line such as +90 212 ..., 0800, 0900) could never receive it. MOBILE, FIXED_LINE_OR_MOBILE
# (North America does not tell them apart) and the types that may take an SMS (VOIP, PERSONAL_NUMBER) pass.
_NO_SMS_NUMBER_TYPES = frozenset(
    {
        phonenumbers.PhoneNumberType.FIXED_LINE,
        phonenumbers.PhoneNumberType.TOLL_FREE,
        phonenumbers.PhoneNumberType.PREMIUM_RATE,
        phonenumbers.PhoneNumberType.SHARED_COST,
        phonenumbers.PhoneNumberType.UAN,
        phonenumbers.PhoneNumberType.VOICEMAIL,
        phonenumbers.PhoneNumberType.PAGER,
    }
)


def phone_normalize(raw: Any, *, region: str = "TR", sms: bool = True) -> str:
    """E.164 form of ``raw`` or ``validation_error``; numbers without a country code are Turkish.

    A number with letters is refused: libphonenumber reads them as a keypad's (``0532 XXX XX XX`` becomes
    +905329999999, a stranger's valid number that would get the pickup code) or drops them as an extension,
    which no SMS reaches. So is, unless ``sms`` is false (finding what was sent to a number, not storing a
    customer's), a number of a type that cannot receive an SMS (``_NO_SMS_NUMBER_TYPES``).
    """
    raw = str(raw)
    try:
        number = None if any(char.isalpha() for char in raw) else phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ApplicationError(
            "validation_error",
            _("Enter a valid phone number."),
            {"fields": {"customer": {"phone": [str(_("Enter a valid phone number, e.g. +905321234567."))]}}},
        )
    if sms and phonenumbers.number_type(number) in _NO_SMS_NUMBER_TYPES:
        field = _("Enter a mobile number that can receive SMS: the pickup code is sent by text message.")
        raise ApplicationError(
            "validation_error",
            _("Enter a mobile number that can receive SMS."),
            {"fields": {"customer": {"phone": [str(field)]}}},
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_PLAIN_STORE_CODE = re.compile(STORE_CODE_PATTERN)


def _fingerprint(data: dict) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=True).encode()).hexdigest()


def order_intake(
    *,
    order_number: str,
    customer: dict[str, Any],
    store_code: str,
    packages: list[dict[str, Any]],
    delivery_type: str = "in_store",
) -> tuple[Order, bool]:
    """Create a Click & Collect order with its packages (all ``waiting``); returns (order, created).

    Idempotent on ``order_number``: the same body again returns the existing order; another body
    raises ``conflict``. A restricted customer raises ``customer_restricted``.
    """
    phone = phone_normalize(customer.get("phone"))
    # Store codes are Latin letters, digits, "-" and "_", unique ignoring case (Store.code): "ist01" is IST01, found
    # and fingerprinted as one code. Anything else (İST01, ıST01, full-width letters) names no store; it is not folded,
    # since str.upper() would read "ıst01" as IST01.
    plain_code = _PLAIN_STORE_CODE.fullmatch(store_code) is not None
    store_key = store_code.upper() if plain_code else store_code
    # A new customer without a language gets Turkish; an existing one keeps theirs unless the body gives one.
    given_language = customer.get("language") or ""
    language = given_language or "tr"
    # Names in NFC: an order system that sends "Çiçek" decomposed (NFD) gets the same customer, the same
    # fingerprint on a replay and the same SMS length as one that sends it composed.
    normalized = {
        "orderNumber": order_number,
        "customer": {
            "name": text_nfc(customer.get("name", "")),
            "phone": phone,
            "email": (customer.get("email") or "").lower(),
            "language": language,
        },
        "store": store_key,
        "deliveryType": delivery_type,
        "packages": [
            {
                "items": [
                    {"sku": i["sku"], "name": text_nfc(i["name"]), "quantity": int(i["quantity"])} for i in p["items"]
                ]
            }
            for p in packages
        ],
    }
    fingerprint = _fingerprint(normalized)
    # An order taken before names were stored in NFC has the fingerprint of its names as sent: its replay as
    # sent is still a replay.
    replays = {fingerprint, _fingerprint(_names_as_sent(normalized, customer, packages))}

    def replay(existing: Order) -> Order:
        return _intake_replay(
            existing, replays | _replays_as_sent(existing, normalized, customer, packages, store_code)
        )

    existing = Order.objects.filter(order_number=order_number).select_related("store").first()
    if existing is not None:
        return replay(existing), False
    store = Store.objects.filter(code__iexact=store_code, is_active=True).first() if plain_code else None
    if store is None:
        raise ApplicationError(
            "validation_error",
            _("Unknown store."),
            {"fields": {"store": [str(_("No active store has the code %s.") % store_code)]}},
        )
    now = timezone.now()
    try:
        with transaction.atomic():
            person, _created = Customer.objects.select_for_update().get_or_create(
                phone=phone,
                defaults={
                    "name": normalized["customer"]["name"],
                    "email": normalized["customer"]["email"],
                    "language": language,
                },
            )
            _tier, restricted_until = customers_trust_at_store(customers=[person], store=store, now=now)[person.pk]
            if restricted_until and restricted_until > now:
                raise ApplicationError("customer_restricted", details={"restrictedUntil": iso_utc(restricted_until)})
            given = {**normalized["customer"], "language": given_language}
            changed = {
                key: given[key]
                for key in ("name", "email", "language")
                if given[key] and getattr(person, key) != given[key]
            }
            if changed:
                for key, value in changed.items():
                    setattr(person, key, value)
                person.save(update_fields=[*changed, "updated_at"])
            order = Order.objects.create(
                order_number=order_number,
                customer=person,
                store=store,
                delivery_type=delivery_type,
                intake_fingerprint=fingerprint,
            )
            for package_data in normalized["packages"]:
                package = Package.objects.create(order=order, store=store)
                PackageItem.objects.bulk_create(PackageItem(package=package, **item) for item in package_data["items"])
    except IntegrityError:
        # Two intakes of one order number at once: the loser answers as a replay.
        existing = Order.objects.filter(order_number=order_number).select_related("store").first()
        if existing is None:
            raise
        return replay(existing), False
    return order, True


def _replays_as_sent(
    order: Order, normalized: dict, customer: dict[str, Any], packages: list[dict[str, Any]], store_code: str
) -> set[str]:
    """The fingerprints an order taken before store codes were matched ignoring case may have: the code as sent
    then, which was the store's code exactly (so also the store's code now, when the body names it in any case)."""
    codes = {store_code}
    if _PLAIN_STORE_CODE.fullmatch(store_code) and store_code.upper() == order.store.code.upper():
        codes.add(order.store.code)
    fingerprints = set()
    for code in codes - {normalized["store"]}:
        legacy = {**normalized, "store": code}
        fingerprints |= {_fingerprint(legacy), _fingerprint(_names_as_sent(legacy, customer, packages))}
    return fingerprints


def _names_as_sent(normalized: dict, customer: dict[str, Any], packages: list[dict[str, Any]]) -> dict:
    """``normalized`` with the customer's and the items' names as the body gave them (not in NFC)."""
    return {
        **normalized,
        "customer": {**normalized["customer"], "name": customer.get("name", "")},
        "packages": [
            {
                "items": [
                    {**item, "name": sent["name"]} for item, sent in zip(package["items"], given["items"], strict=True)
                ]
            }
            for package, given in zip(normalized["packages"], packages, strict=True)
        ],
    }


def _intake_replay(order: Order, fingerprints: set[str]) -> Order:
    if order.intake_fingerprint not in fingerprints:
        raise ApplicationError("conflict", details={"orderNumber": order.order_number})
    return order
