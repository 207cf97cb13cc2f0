"""Store reads: the staff list's store switcher, the store's day, admin's counts and memberships."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time, timedelta
from typing import Any

from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from orders.models import Package, PackageStatus, StaffMembership, Store


def stores_by_code(*, store_ids: Iterable[Any]) -> list[Store]:
    """The stores with these ids, by code: the staff list's store switcher."""
    return list(Store.objects.filter(pk__in=list(store_ids)).order_by("code"))


def store_tomorrow_starts(*, store: Store) -> datetime:
    """The start of the store's next day (its own time zone): a hold ending before it ends today."""
    today = timezone.localdate(timezone=store.zone)
    return datetime.combine(today + timedelta(days=1), time.min, tzinfo=store.zone)


def store_ready_package_count() -> Coalesce:
    """An expression to annotate stores with: how many of the store's packages are ready for pickup (0 for none).
    A subquery per listed store (an index-only read of its ready packages), not a join of every package."""
    ready = (
        Package.objects.filter(store=OuterRef("pk"), status=PackageStatus.READY_FOR_CUSTOMER_PICKUP)
        .order_by()
        .values("store")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(ready), 0)


def store_member_user_ids(*, store: Store, exclude_membership_ids: Iterable[Any]) -> set[Any]:
    """The ids of the users with a membership in ``store``, leaving out the memberships ``exclude_membership_ids``."""
    memberships = StaffMembership.objects.filter(store=store).exclude(pk__in=list(exclude_membership_ids))
    return set(memberships.values_list("user_id", flat=True))
