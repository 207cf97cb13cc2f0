"""No-shows (SPEC 6): packages not collected in time are cancelled with a strike, reminders before that, and an
administrator's forgiveness of a strike.

The sweep (``packages_expire_unclaimed``) and the single expiry (``package_expire_no_show``) share one
implementation, ``_expire_claimed``, which works on packages already locked by the caller: one compare-and-set
UPDATE, then bulk inserts of audit records, strikes, messages and webhook deliveries, then the order statuses and
customer tiers of the batch. Lock order, everywhere: packages, then orders (primary-key order), then customers
(primary-key order).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.appsettings import StoreSettings
from core.bulk import insert_rows
from core.errors import ApplicationError
from notifications.models import MessageEvent, WebhookEventType
from orders import commands as cmd
from orders.models import AuditKind, Channel, NoShowStrike, Package, PackageStatus
from orders.selectors import packages_due_for_expiry, user_may_forgive_no_shows
from orders.services.actors import Actor
from orders.services.audit import audit_records_write, audit_row
from orders.services.outbox import customer_messages_write, outbox_queue_on_commit, package_webhooks_write
from orders.services.transitions import orders_refresh_statuses, package_lock
from orders.services.trust_tiers import (
    TierRules,
    customer_trust_tier_refresh,
    customers_refresh_tiers,
    trust_tier_compute,
)
from otp import services as otp

logger = logging.getLogger(__name__)


class _LostRace(Exception):
    """A compare-and-set matched fewer rows than were claimed: roll the batch back and claim again."""


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
    otp.pickup_codes_invalidate_for_packages(package_ids=ids, reason=otp.NO_SHOW, now=now)
    audit_records_write(
        [
            audit_row(
                package=package,
                kind=AuditKind.TRANSITION,
                actor=None,
                channel=Channel.SYSTEM,
                now=now,
                command=cmd.CANCEL,
                from_status=previous,
                to_status=PackageStatus.CANCELLED,
                reason=cmd.NO_SHOW,
            )
            for package in packages
        ],
        batch=True,
    )
    delivery_ids = package_webhooks_write(
        event_type=WebhookEventType.PACKAGE_STATUS_CHANGED, packages=packages, previous_status=previous, enqueue=False
    )
    orders_refresh_statuses(order_ids=[package.order_id for package in packages], now=now)
    delivery_ids += package_webhooks_write(
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
    tiers, _changed = customers_refresh_tiers(customer_ids=customer_ids, now=now, new_strike_ids=customer_ids)
    for package in packages:
        customer = package.order.customer
        customer.trust_tier, customer.restricted_until = tiers[customer.pk]
    message_ids = customer_messages_write(packages=packages, event=MessageEvent.CANCELLED_NO_SHOW, enqueue=False)
    outbox_queue_on_commit(message_ids=message_ids, delivery_ids=delivery_ids)


def package_expire_no_show(*, package: Package, now: datetime | None = None) -> bool:
    """Cancel a package still ready after its ``readyExpiresAt`` (reason ``no_show``), once.

    Locks the row and re-checks it, so a package delivered first, or expired by a parallel run, is
    left alone: returns False. Otherwise, in one transaction: code invalidated, transition audited,
    one strike, tier refreshed, order status updated, the customer's ``cancelled_no_show`` message,
    PackageStatusChangedEvent and PackageCancelledEvent; returns True.
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked = package_lock(package.pk)
        if locked.status != PackageStatus.READY_FOR_CUSTOMER_PICKUP or not (
            locked.ready_expires_at and locked.ready_expires_at <= now
        ):
            return False
        _expire_claimed(packages=[locked], now=now)
    return True


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
                    message_ids = customer_messages_write(
                        packages=batch, event=MessageEvent.PICKUP_REMINDER, enqueue=False
                    )
                    outbox_queue_on_commit(message_ids=message_ids)
            except _LostRace:
                lost_races += 1
                if lost_races > 10:
                    break
                continue
            reminded += len(batch)
            if len(batch) < batch_size:
                break
    return reminded


def no_show_strike_forgive(*, strike: NoShowStrike, actor: Actor, reason: str, channel: str = Channel.ADMIN) -> bool:
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
        audit_records_write(
            [
                audit_row(
                    package=strike.package,
                    kind=AuditKind.STRIKE_FORGIVEN,
                    actor=actor,
                    channel=channel,
                    now=now,
                    reason=reason,
                )
            ]
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
    ``customers_refresh_tiers``, with the restriction lifted), without changing anything; read only."""
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
