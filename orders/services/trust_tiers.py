"""Trust tiers (SPEC 6): a customer's tier from their no-shows, stored under the global settings and judged by a
store's own NO_SHOW_* settings where it overrides them.

The rules are pure (``trust_tier_compute``, ``trust_tier_from_history``); the writers lock the customer rows in
primary-key order, after any package and order locks of the caller's transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from core.appsettings import StoreSettings
from core.models import AppSetting
from orders.models import Customer, NoShowStrike, Store, TrustTier


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


def customers_refresh_tiers(
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
    tiers, _changed = customers_refresh_tiers(
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

    Each batch is recomputed by ``customers_refresh_tiers`` (the customer row locks, the strikes
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
            _after, tier_changed = customers_refresh_tiers(customer_ids=ids, now=now)
            changed += len(tier_changed)
    return changed
