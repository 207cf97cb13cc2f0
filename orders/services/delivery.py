"""The delivery (SPEC 3.2, 4): the pickup code checked, the package handed over; one package or an order's.

The counter's hot path, so it reads as little as it can (docs/performance.md). A refused verification changes
nothing, with one deliberate exception: a wrong pickup code is counted (and audited) before ``otp_invalid`` is
raised, so do not call ``package_deliver``/``order_verify`` inside an outer transaction that would roll the count
back. A refusal before any code is compared (``invalid_state``, ``permission_denied``, ``throttled``) is audited
after the rollback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, F, OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from core.appsettings import StoreSettings
from core.errors import ApplicationError
from notifications.models import MessageEvent, WebhookEventType
from notifications.services import webhook_endpoints_active
from orders import commands as cmd
from orders.models import AuditKind, AuditOutcome, CollectedBy, Order, Package, PackageStatus
from orders.selectors import (
    failed_verification_limit_edge,
    failed_verification_limit_reached_at,
    membership_grants_access,
    staff_role_for_store,
)
from orders.services.actors import Actor
from orders.services.audit import AuditRow, audit_records_write, audit_row
from orders.services.outbox import Outbox, customer_messages_write, package_webhooks_write
from orders.services.transitions import (
    command_authorize,
    command_check_source,
    is_member_actor,
    order_refresh_status,
    package_lock,
    package_move,
)
from otp import services as otp
from otp.models import PickupCode


def package_lock_for_delivery(package_id: Any, *, actor: Actor | None) -> Package:
    """``package_lock`` for the verification path (the counter's hot path), reading in that one query
    what the delivery needs next instead of one round trip each: the actor's membership role in the
    store and how many packages the order has (a one-package order needs no order lock to derive its
    status). The same statement first takes the actor's verification lock
    (``otp.verifications_lock_condition``), which orders the actor's verifications of different packages.

    Not the pickup code nor the actor's failure window: a statement that waited for a lock sees the other
    rows as they were when it started (READ COMMITTED re-reads only the locked row), so both are read in
    the next statement (``_pickup_code_for_verification``).
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
    member = is_member_actor(actor)
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


def _pickup_code_for_verification(*, package: Package, actor: Actor | None, now: datetime) -> PickupCode | None:
    """The package's current code, after the actor's guess-spraying limit (``throttled``), both read in one statement.

    Call it after the actor's verification lock (``otp.verifications_lock_condition``): the window is then read
    with what the actor's earlier verifications committed.
    """
    if actor is None:
        return otp.pickup_code_current(package=package)
    code = otp.pickup_code_current(
        package=package, with_values={"spray_edge": failed_verification_limit_edge(actor=actor, now=now)}
    )
    if code is None:  # no row to carry the edge: read it on its own
        oldest_counted = failed_verification_limit_reached_at(actor=actor, now=now)
    else:
        oldest_counted = code.spray_edge
    otp.verification_check_spray_limit(oldest_counted=oldest_counted, now=now)
    return code


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
    and is refused, a right one is an ordinary verified delivery. One rule for the pages and the API."""
    return manual is True and otp_value is None


def _collected_by(*, order: Order, value: Any) -> str:
    """Who collects (SPEC 13), as the staff chose it: ``customer`` or ``pickup_person`` (only for an order that names
    one); not given, ``customer`` for an order without a pickup person and unsaid ("") for one with. Checked before
    anything is counted: an unknown value is a ``validation_error``, ``pickup_person`` for an order that names
    none ``invalid_state``; neither counts an attempt."""
    if value in (None, ""):
        return "" if order.pickup_person_phone else CollectedBy.CUSTOMER
    if value not in CollectedBy.values:
        raise ApplicationError(
            "validation_error",
            _("Say who collects: the customer, or the pickup person the order names."),
            {"fields": {"collectedBy": [str(_("Choose customer or pickup_person."))]}},
        )
    if value == CollectedBy.PICKUP_PERSON and not order.pickup_person_phone:
        # Well-formed, but this order's state does not allow it (as a command from another state): invalid_state.
        raise ApplicationError("invalid_state", _("This order names no pickup person."))
    return value


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


def _verification_audit_row(
    *,
    package: Package,
    actor: Actor | None,
    channel: str,
    now: datetime,
    manual: bool,
    refusal: ApplicationError | None,
    collected_by: str = "",
) -> AuditRow:
    """One verification attempt: ``success``, ``failure`` (the code was wrong, expired, locked or missing) or
    ``refused`` (the rules refused it before any code was compared, ``_REFUSALS_AUDITED``)."""
    if refusal is None:
        outcome = AuditOutcome.SUCCESS
    elif refusal.code in _REFUSALS_AUDITED:
        outcome = AuditOutcome.REFUSED
    else:
        outcome = AuditOutcome.FAILURE
    return audit_row(
        package=package,
        kind=AuditKind.VERIFICATION,
        actor=actor,
        channel=channel,
        now=now,
        outcome=outcome,
        error_code=refusal.code if refusal else "",
        manual=manual,
        command=cmd.DELIVER,
        collected_by=collected_by if refusal is None else "",
    )


@contextmanager
def _audited_refusals(*, actor: Actor | None, channel: str, manual: bool) -> Iterator[list[Package]]:
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
            audit_records_write(
                [
                    _verification_audit_row(
                        package=package, actor=actor, channel=channel, now=now, manual=manual, refusal=error
                    )
                    for package in attempted
                ]
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
    actor: Actor | None,
    channel: str,
    now: datetime,
    manual: bool,
    code_consumed: bool = False,
    earlier_audit: list[AuditRow] | None = None,
    collected_by: str = "",
) -> None:
    """The delivery itself, on a locked package whose code (if any) has been accepted.

    ``code_consumed``: the package's current code was just marked used, so no current code is left to
    invalidate (at most one exists, a database constraint).
    """
    if not code_consumed:
        otp.pickup_code_invalidate(package=package, reason=otp.DELIVERED, now=now)
    endpoints = webhook_endpoints_active()  # once for both events of the delivery
    outbox = Outbox()  # its messages and webhook deliveries go out with one publish
    package_move(
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
        collected_by=collected_by,
    )
    message_ids = customer_messages_write(packages=[package], event=MessageEvent.PICKED_UP, enqueue=False)
    delivery_ids = package_webhooks_write(
        event_type=WebhookEventType.PACKAGE_DELIVERED,
        packages=[package],
        previous_status=PackageStatus.READY_FOR_CUSTOMER_PICKUP,
        endpoints=endpoints,
        enqueue=False,
    )
    outbox.message_ids.extend(message_ids)
    outbox.delivery_ids.extend(delivery_ids)
    outbox.queue_on_commit()


def _verify_and_deliver(
    *,
    packages: list[Package],
    actor: Actor | None,
    channel: str,
    otp_value: str | None,
    manual: bool,
    now: datetime,
    codes: dict[Any, PickupCode | None] | None = None,
    collected_by: str = "",
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
            audit_records_write(
                [
                    _verification_audit_row(
                        package=matched, actor=actor, channel=channel, now=now, manual=False, refusal=refusal
                    )
                ]
            )
            return [], refusal
        opened = [] if matched is None else [matched]
    if opened:
        for package in opened:
            consumed = otp.pickup_code_consume(code=codes[package.pk], now=now)
            verification = _verification_audit_row(
                package=package,
                actor=actor,
                channel=channel,
                now=now,
                manual=manual,
                refusal=None,
                collected_by=collected_by,
            )
            _deliver_locked(
                package=package,
                actor=actor,
                channel=channel,
                now=now,
                manual=manual,
                code_consumed=consumed,
                earlier_audit=[verification],
                collected_by=collected_by,
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
            audit_records_write(
                [
                    _verification_audit_row(
                        package=package, actor=actor, channel=channel, now=now, manual=False, refusal=error
                    )
                ]
            )
            refusal = refusal or error
        return [], refusal
    # No live code at all: say why for the first package, and audit the refused attempt.
    for package in packages:
        audit_records_write(
            [
                _verification_audit_row(
                    package=package, actor=actor, channel=channel, now=now, manual=manual, refusal=refusals[package.pk]
                )
            ]
        )
    return [], refusals[packages[0].pk]


def package_deliver(
    *,
    package: Package | Any,
    actor: Actor | None,
    channel: str,
    otp_value: str | None = None,
    manual: bool = False,
    collected_by: Any = None,
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

    ``collected_by``: ``customer`` or ``pickup_person`` (SPEC 13), kept in the delivery's audit records
    (``validation_error`` for another value, or a pickup person the order does not name).
    """
    command = cmd.COMMANDS[cmd.DELIVER]
    refusal = None
    package_id = package.pk if isinstance(package, Package) else package
    confirms_manually = _confirms_manually(otp_value=otp_value, manual=manual)
    with _audited_refusals(actor=actor, channel=channel, manual=confirms_manually) as attempted, transaction.atomic():
        package = package_lock_for_delivery(package_id, actor=actor)
        role = command_authorize(package=package, actor=actor, command=command, channel=channel)
        attempted.append(package)
        # After not_found (a package outside the caller's stores answers the same whatever the body),
        # before anything is counted; raising here rolls back and leaves the package as it was.
        _check_verification_input(otp_value=otp_value, manual=manual)
        collected_by = _collected_by(order=package.order, value=collected_by)
        manual = confirms_manually
        command_check_source(package=package, command=command)
        conf = StoreSettings(package.store_id)
        now = timezone.now()
        if not conf.IS_OTP_ENABLED:
            _deliver_locked(
                package=package, actor=actor, channel=channel, now=now, manual=False, collected_by=collected_by
            )
            return DeliveryOutcome(packages=[package], code_required=False, manual=False, role=role)
        _require_code_or_manual(otp_value=otp_value, manual=manual)
        if manual:
            _check_manual_allowed(conf=conf)
        code = _pickup_code_for_verification(package=package, actor=actor, now=now)  # throttled first
        delivered, refusal = _verify_and_deliver(
            packages=[package],
            actor=actor,
            channel=channel,
            otp_value=otp_value,
            manual=manual,
            now=now,
            codes={package.pk: code},
            collected_by=collected_by,
        )
    if refusal is not None:
        raise refusal  # after the commit: the counted attempt and its audit record stay
    return DeliveryOutcome(packages=delivered, code_required=True, manual=manual, role=role)


def order_verify(
    *,
    order: Order,
    actor: Actor | None,
    channel: str,
    otp_value: str | None = None,
    manual: bool = False,
    collected_by: Any = None,
) -> DeliveryOutcome:
    """Order-level verification (CampusBite): the code is tried against the order's ready packages in
    the actor's stores and opens the one it matches; a wrong code counts on each. ``manual`` without a
    code delivers every ready package whose code is live (a given code is compared, as in
    ``package_deliver``). Same refusals as ``package_deliver``."""
    _check_verification_input(otp_value=otp_value, manual=manual)
    collected_by = _collected_by(order=order, value=collected_by)
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
        packages = [package_lock(pk) for pk in allowed_ids]
        packages = [p for p in packages if p.status == PackageStatus.READY_FOR_CUSTOMER_PICKUP]
        if not packages:
            raise ApplicationError("invalid_state", _("No package of this order is ready for pickup."))
        now = timezone.now()
        with_codes = [p for p in packages if StoreSettings(p.store_id).IS_OTP_ENABLED]
        without_codes = [p for p in packages if p not in with_codes]
        for package in packages:
            command_authorize(package=package, actor=actor, command=command, channel=channel)
        attempted.extend(packages)
        if not with_codes:
            for package in without_codes:
                _deliver_locked(
                    package=package, actor=actor, channel=channel, now=now, manual=False, collected_by=collected_by
                )
            order_refresh_status(order=order)
            return DeliveryOutcome(packages=without_codes, code_required=False, manual=False)
        _require_code_or_manual(otp_value=otp_value, manual=manual)
        if manual:
            for package in with_codes:
                _check_manual_allowed(conf=StoreSettings(package.store_id))
        if actor is not None:
            otp.verification_check_spray_limit(
                oldest_counted=failed_verification_limit_reached_at(actor=actor, now=now), now=now
            )
        delivered, refusal = _verify_and_deliver(
            packages=with_codes,
            actor=actor,
            channel=channel,
            otp_value=otp_value,
            manual=manual,
            now=now,
            collected_by=collected_by,
        )
    order.refresh_from_db()
    if refusal is not None:
        raise refusal
    return DeliveryOutcome(packages=delivered, code_required=True, manual=manual)
