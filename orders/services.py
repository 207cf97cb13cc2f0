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
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import phonenumbers
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.appsettings import StoreSettings
from core.errors import ApplicationError
from notifications.models import MessageEvent, WebhookEventType
from notifications.services import messages_queue_for_package, webhooks_emit
from orders import commands as cmd
from orders.models import (
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
    Store,
    TrustTier,
)
from orders.selectors import staff_role_for_store
from otp import services as otp

logger = logging.getLogger(__name__)

User = AbstractBaseUser
NO_SHOW = "no_show"


# --- helpers shared by the commands -------------------------------------------------------------


def _lock_package(package_id: Any) -> Package:
    # of=("self",): lock only the package row, not the order/customer/store rows joined for reading.
    return (
        Package.objects.select_for_update(of=("self",))
        .select_related("order__customer", "store")
        .get(pk=package_id)
    )


def _authorize(*, package: Package, actor: User | None, command: cmd.Command) -> str:
    """Return the actor's role for the package's store, or raise (not_found / permission_denied)."""
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


def _audit(
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
    return AuditRecord.objects.create(
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
) -> str:
    """Write the new state (and ``fields``), its audit record, the status webhook and the order status."""
    previous = package.status
    package.status = command.target
    for name, value in (fields or {}).items():
        setattr(package, name, value)
    package.updated_at = now
    package.save(update_fields=["status", "updated_at", *(fields or {})])
    _audit(
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
    webhooks_emit(event_type=WebhookEventType.PACKAGE_STATUS_CHANGED, package=package, previous_status=previous)
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
        Order.objects.filter(pk=order.pk).update(status=status, updated_at=timezone.now())
        order.status = status
    return status


# --- the commands (SPEC 3.2) --------------------------------------------------------------------


def package_complete_packaging(*, package: Package, actor: User | None, channel: str) -> Package:
    """waiting -> packed_all_items."""
    command = cmd.COMMANDS[cmd.COMPLETE_PACKAGING]
    with transaction.atomic():
        package = _lock_package(package.pk)
        _authorize(package=package, actor=actor, command=command)
        _check_state(package=package, command=command)
        _move(package=package, command=command, actor=actor, channel=channel, now=timezone.now())
    return package


def package_mark_ready(*, package: Package, actor: User | None, channel: str) -> Package:
    """packed_all_items -> ready_for_customer_pickup: starts the hold period, issues the code (when on),
    and writes the customer's ready message and the Whisperer event, both carrying the code encrypted."""
    command = cmd.COMMANDS[cmd.READY_FOR_PICKUP]
    with transaction.atomic():
        package = _lock_package(package.pk)
        _authorize(package=package, actor=actor, command=command)
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
        code = None
        if conf.IS_OTP_ENABLED:
            _pickup_code, code = otp.pickup_code_issue(package=package, store_settings=conf, now=now)
            _audit(package=package, kind=AuditKind.CODE_ISSUED, actor=actor, channel=channel, now=now)
        messages_queue_for_package(package=package, event=MessageEvent.READY_FOR_PICKUP, code=code)
        webhooks_emit(event_type=WebhookEventType.PACKAGE_READY_WHISPERER, package=package, code=code)
    return package


def package_resend_code(*, package: Package, actor: User | None, channel: str) -> Package:
    """Replace the package's code with a new one and send it. The old code stops working at once.

    Raises ``throttled`` (with ``retryAfter``) inside the cooldown or past the 24-hour quota.
    """
    command = cmd.COMMANDS[cmd.RESEND_CODE]
    with transaction.atomic():
        package = _lock_package(package.pk)
        _authorize(package=package, actor=actor, command=command)
        _check_state(package=package, command=command)
        conf = StoreSettings(package.store_id)
        if not conf.IS_OTP_ENABLED:
            raise ApplicationError(
                "invalid_state", _("Pickup codes are not used at this store."), {"command": command.code}
            )
        now = timezone.now()
        otp.pickup_code_check_issue_allowed(package=package, store_settings=conf, now=now)
        _pickup_code, code = otp.pickup_code_issue(package=package, store_settings=conf, now=now)
        _audit(
            package=package, kind=AuditKind.CODE_RESENT, actor=actor, channel=channel, now=now, command=command.code
        )
        messages_queue_for_package(package=package, event=MessageEvent.CODE_RESENT, code=code)
        webhooks_emit(event_type=WebhookEventType.PACKAGE_READY_WHISPERER, package=package, code=code)
        package.updated_at = now
        package.save(update_fields=["updated_at"])
    return package


@dataclass
class DeliveryOutcome:
    """What a successful delivery did: the delivered packages, and whether a code was checked."""

    packages: list[Package]
    code_required: bool
    manual: bool

    @property
    def package(self) -> Package:
        return self.packages[0]


def _check_verification_input(*, otp_value: Any, manual: Any) -> None:
    """Malformed input is refused before anything is counted (SPEC 4)."""
    if manual not in (True, False):
        raise ApplicationError("validation_error", _("manualConfirm must be true or false."))
    if otp_value is not None:
        otp.code_check_format(otp_value)


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


def _audit_verification(
    *, package: Package, actor: User | None, channel: str, now: datetime, manual: bool, refusal: ApplicationError | None
) -> None:
    _audit(
        package=package,
        kind=AuditKind.VERIFICATION,
        actor=actor,
        channel=channel,
        now=now,
        outcome=AuditOutcome.FAILURE if refusal else AuditOutcome.SUCCESS,
        error_code=refusal.code if refusal else "",
        manual=manual,
        command=cmd.DELIVER,
    )


def _wrong_code_error(remaining: int) -> ApplicationError:
    if remaining:
        message = _("The pickup code is wrong. %(count)s attempts left.") % {"count": remaining}
    else:
        message = _("The pickup code is wrong. The code is now locked: send a new code.")
    return ApplicationError("otp_invalid", message, {"attemptsRemaining": remaining})


def _deliver_locked(*, package: Package, actor: User | None, channel: str, now: datetime, manual: bool) -> None:
    """The delivery itself, on a locked package whose code (if any) has been accepted."""
    otp.pickup_code_invalidate(package=package, reason="delivered", now=now)
    _move(
        package=package,
        command=cmd.COMMANDS[cmd.DELIVER],
        actor=actor,
        channel=channel,
        now=now,
        reason=_("manual confirmation") if manual else "",
        fields={"delivered_at": now, "ready_expires_at": None},
    )
    messages_queue_for_package(package=package, event=MessageEvent.PICKED_UP)
    webhooks_emit(event_type=WebhookEventType.PACKAGE_DELIVERED, package=package)


def _verify_and_deliver(
    *,
    packages: list[Package],
    actor: User | None,
    channel: str,
    otp_value: str | None,
    manual: bool,
    now: datetime,
) -> tuple[list[Package], ApplicationError | None]:
    """Check the code against ``packages`` (locked, ready, same order) and deliver what it opens.

    A value opens the one package whose live code it matches; when it matches none, a wrong entry
    is counted on each package with a live code. Manual confirmation opens every package whose
    code is live. Every attempt is audited. Returns (delivered packages, refusal).
    """
    codes = {package.pk: otp.pickup_code_current(package=package) for package in packages}
    refusals = {package.pk: otp.pickup_code_refusal(code=codes[package.pk], now=now) for package in packages}
    live = [package for package in packages if refusals[package.pk] is None]
    if manual:
        opened = live
    else:
        opened = [p for p in live if otp.pickup_code_matches(code=codes[p.pk], value=otp_value)][:1]
    if opened:
        for package in opened:
            otp.pickup_code_consume(code=codes[package.pk], now=now)
            _audit_verification(package=package, actor=actor, channel=channel, now=now, manual=manual, refusal=None)
            _deliver_locked(package=package, actor=actor, channel=channel, now=now, manual=manual)
        return opened, None
    if live:
        refusal = None
        for package in live:
            remaining = otp.pickup_code_register_wrong_entry(code=codes[package.pk])
            error = _wrong_code_error(remaining)
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
    package: Package,
    actor: User | None,
    channel: str,
    otp_value: str | None = None,
    manual: bool = False,
) -> DeliveryOutcome:
    """ready_for_customer_pickup -> delivered, after checking the pickup code when codes are on.

    ``otp_value`` must be six ASCII digits (else ``validation_error``, no attempt counted);
    ``manual=True`` needs ALLOW_MANUAL_CONFIRM and a live code, without comparing it. Refusals:
    ``otp_invalid`` (the wrong entry is committed first), ``otp_expired``, ``otp_locked``,
    ``otp_not_issued``, ``throttled`` (the actor's failure window), ``invalid_state``. Of many
    simultaneous calls for one package exactly one succeeds: the package row lock serialises them.
    """
    _check_verification_input(otp_value=otp_value, manual=manual)
    command = cmd.COMMANDS[cmd.DELIVER]
    refusal = None
    with transaction.atomic():
        package = _lock_package(package.pk)
        _authorize(package=package, actor=actor, command=command)
        _check_state(package=package, command=command)
        conf = StoreSettings(package.store_id)
        now = timezone.now()
        if not conf.IS_OTP_ENABLED:
            _deliver_locked(package=package, actor=actor, channel=channel, now=now, manual=False)
            return DeliveryOutcome(packages=[package], code_required=False, manual=False)
        _require_code_or_manual(otp_value=otp_value, manual=manual)
        if manual:
            _check_manual_allowed(conf=conf)
        otp.verification_check_spray_limit(actor=actor, now=now)
        delivered, refusal = _verify_and_deliver(
            packages=[package], actor=actor, channel=channel, otp_value=otp_value, manual=manual, now=now
        )
    if refusal is not None:
        raise refusal  # after the commit: the counted attempt and its audit record stay
    return DeliveryOutcome(packages=delivered, code_required=True, manual=manual)


def order_verify(
    *,
    order: Order,
    actor: User | None,
    channel: str,
    otp_value: str | None = None,
    manual: bool = False,
) -> DeliveryOutcome:
    """Order-level verification (CampusBite): the code is tried against the order's ready packages in
    the actor's stores and opens the one it matches; a wrong code counts on each. ``manual`` delivers
    every ready package whose code is live. Same refusals as ``package_deliver``."""
    _check_verification_input(otp_value=otp_value, manual=manual)
    command = cmd.COMMANDS[cmd.DELIVER]
    refusal = None
    with transaction.atomic():
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
            _authorize(package=package, actor=actor, command=command)
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
        _authorize(package=package, actor=actor, command=command)
        _check_state(package=package, command=command)
        _cancel_locked(package=package, actor=actor, channel=channel, now=timezone.now(), reason=reason)
        messages_queue_for_package(package=package, event=MessageEvent.CANCELLED)
    return package


def _cancel_locked(*, package: Package, actor: User | None, channel: str, now: datetime, reason: str) -> None:
    otp.pickup_code_invalidate(package=package, reason="no_show" if reason == NO_SHOW else "cancelled", now=now)
    _move(
        package=package,
        command=cmd.COMMANDS[cmd.CANCEL],
        actor=actor,
        channel=channel,
        now=now,
        reason=reason,
        fields={"cancelled_at": now, "cancellation_reason": reason, "ready_expires_at": None},
    )
    webhooks_emit(event_type=WebhookEventType.PACKAGE_CANCELLED, package=package)


_SERVICES = {
    cmd.COMPLETE_PACKAGING: lambda **kw: package_complete_packaging(
        package=kw["package"], actor=kw["actor"], channel=kw["channel"]
    ),
    cmd.READY_FOR_PICKUP: lambda **kw: package_mark_ready(package=kw["package"], actor=kw["actor"], channel=kw["channel"]),
    cmd.DELIVER: lambda **kw: package_deliver(
        package=kw["package"],
        actor=kw["actor"],
        channel=kw["channel"],
        otp_value=kw["otp_value"],
        manual=kw["manual"],
    ).package,
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


def customer_trust_tier_refresh(*, customer: Customer, now: datetime | None = None, new_strike: bool = False) -> str:
    """Recompute the tier from unforgiven strikes within NO_SHOW_STRIKE_DECAY_DAYS (global settings).

    A strike that reaches NO_SHOW_RESTRICT_THRESHOLD restricts for NO_SHOW_RESTRICT_DAYS; when that
    ends the tier is recomputed from the count, capped at ``watch`` until a new strike comes.
    """
    now = now or timezone.now()
    conf = StoreSettings(None)
    since = now - timedelta(days=conf.NO_SHOW_STRIKE_DECAY_DAYS)
    strikes = customer.no_show_strikes.filter(forgiven_at__isnull=True, created_at__gt=since).count()
    restricted_until = customer.restricted_until
    if new_strike and strikes >= conf.NO_SHOW_RESTRICT_THRESHOLD:
        restricted_until = now + timedelta(days=conf.NO_SHOW_RESTRICT_DAYS)
    if restricted_until and strikes < conf.NO_SHOW_RESTRICT_THRESHOLD and not new_strike:
        restricted_until = None  # a forgiven strike lifts a restriction it caused
    if restricted_until and restricted_until > now:
        tier = TrustTier.RESTRICTED
    elif strikes >= conf.NO_SHOW_WATCH_THRESHOLD:
        tier = TrustTier.WATCH
    else:
        tier = TrustTier.GOOD
    if restricted_until and restricted_until <= now:
        restricted_until = None
    if (tier, restricted_until) != (customer.trust_tier, customer.restricted_until):
        Customer.objects.filter(pk=customer.pk).update(
            trust_tier=tier, restricted_until=restricted_until, updated_at=now
        )
        customer.trust_tier, customer.restricted_until = tier, restricted_until
    return tier


def package_expire_no_show(*, package: Package, now: datetime | None = None) -> bool:
    """Cancel a package still ready after its ``readyExpiresAt`` (reason ``no_show``), once.

    Locks the row and re-checks it, so a package delivered first, or expired by a parallel run, is
    left alone: returns False. Otherwise: code invalidated, one strike, tier refreshed, the customer's
    ``cancelled_no_show`` message, PackageCancelledEvent; returns True.
    """
    now = now or timezone.now()
    with transaction.atomic():
        package = _lock_package(package.pk)
        if package.status != PackageStatus.READY_FOR_CUSTOMER_PICKUP or not (
            package.ready_expires_at and package.ready_expires_at <= now
        ):
            return False
        _expire_locked(package=package, now=now)
    return True


def _expire_locked(*, package: Package, now: datetime) -> None:
    _cancel_locked(package=package, actor=None, channel=Channel.SYSTEM, now=now, reason=NO_SHOW)
    customer = package.order.customer
    NoShowStrike.objects.create(customer=customer, package=package, created_at=now)
    customer_trust_tier_refresh(customer=customer, now=now, new_strike=True)
    messages_queue_for_package(package=package, event=MessageEvent.CANCELLED_NO_SHOW)


def packages_expire_unclaimed(*, now: datetime | None = None, batch_size: int = 200) -> int:
    """Expire every package still ready after its deadline, one transaction per batch.

    Safe to run twice or in parallel: rows are claimed with ``SKIP LOCKED`` and re-checked under the
    lock, so each package is cancelled and penalised once. Returns how many it expired.
    """
    now = now or timezone.now()
    expired = 0
    while True:
        with transaction.atomic():
            batch = list(
                Package.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("order__customer", "store")
                .filter(status=PackageStatus.READY_FOR_CUSTOMER_PICKUP, ready_expires_at__lte=now)
                .order_by("ready_expires_at", "pk")[:batch_size]
            )
            for package in batch:
                _expire_locked(package=package, now=now)
        expired += len(batch)
        if len(batch) < batch_size:
            return expired


def packages_due_for_expiry(*, now: datetime | None = None):
    now = now or timezone.now()
    return Package.objects.filter(
        status=PackageStatus.READY_FOR_CUSTOMER_PICKUP, ready_expires_at__lte=now
    ).select_related("order", "store")


def no_show_strike_forgive(*, strike: NoShowStrike, actor: User, reason: str, channel: str = Channel.ADMIN) -> None:
    """Forgive one strike (administrators), audited; the tier is recomputed."""
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("validation_error", _("Give a reason for forgiving the no-show."))
    with transaction.atomic():
        strike = NoShowStrike.objects.select_for_update().select_related("package", "customer").get(pk=strike.pk)
        if strike.forgiven_at:
            return
        now = timezone.now()
        strike.forgiven_at, strike.forgiven_by, strike.forgiven_reason = now, actor, reason[:255]
        strike.save(update_fields=["forgiven_at", "forgiven_by", "forgiven_reason"])
        _audit(
            package=strike.package,
            kind=AuditKind.STRIKE_FORGIVEN,
            actor=actor,
            channel=channel,
            now=now,
            reason=reason,
        )
        customer_trust_tier_refresh(customer=strike.customer, now=now)


# --- order intake (SPEC 9.2) ------------------------------------------------------------------------


def phone_normalize(raw: Any, *, region: str = "TR") -> str:
    """E.164 form of ``raw`` or ``validation_error``; numbers without a country code are Turkish."""
    try:
        number = phonenumbers.parse(str(raw), region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ApplicationError(
            "validation_error",
            _("Enter a valid phone number."),
            {"fields": {"customer": {"phone": [str(_("Enter a valid phone number, e.g. +905321234567."))]}}},
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


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
    language = customer.get("language") or "tr"
    normalized = {
        "orderNumber": order_number,
        "customer": {
            "name": customer.get("name", ""),
            "phone": phone,
            "email": (customer.get("email") or "").lower(),
            "language": language,
        },
        "store": store_code,
        "deliveryType": delivery_type,
        "packages": [
            {"items": [{"sku": i["sku"], "name": i["name"], "quantity": int(i["quantity"])} for i in p["items"]]}
            for p in packages
        ],
    }
    fingerprint = _fingerprint(normalized)
    existing = Order.objects.filter(order_number=order_number).first()
    if existing is not None:
        return _intake_replay(existing, fingerprint), False
    store = Store.objects.filter(code=store_code, is_active=True).first()
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
            if person.restricted_until and person.restricted_until > now:
                raise ApplicationError(
                    "customer_restricted", details={"restrictedUntil": person.restricted_until.isoformat()}
                )
            changed = {
                key: normalized["customer"][key]
                for key in ("name", "email", "language")
                if normalized["customer"][key] and getattr(person, key) != normalized["customer"][key]
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
        existing = Order.objects.filter(order_number=order_number).first()
        if existing is None:
            raise
        return _intake_replay(existing, fingerprint), False
    return order, True


def _intake_replay(order: Order, fingerprint: str) -> Order:
    if order.intake_fingerprint != fingerprint:
        raise ApplicationError("conflict", details={"orderNumber": order.order_number})
    return order
