"""Store reads: the staff list's store switcher, the store's day, admin's counts and memberships, and the API keys
bound to stores."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time, timedelta
from typing import Any

from django.db.models import Count, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Coalesce, Upper
from django.utils import timezone

from orders.models import ApiKey, Package, PackageStatus, StaffMembership, Store


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


def stores_active() -> QuerySet[Store]:
    """The active stores by code: what a new API key may be bound to."""
    return Store.objects.filter(is_active=True).order_by("code")


def stores_with_codes(*, codes: Iterable[str]) -> tuple[list[Store], list[str]]:
    """The stores with these codes (in any case), and the codes that name none."""
    wanted = {code.upper(): code for code in codes}
    found = list(Store.objects.annotate(code_upper=Upper("code")).filter(code_upper__in=list(wanted)))
    known = {store.code.upper() for store in found}
    return found, [code for upper, code in wanted.items() if upper not in known]


def api_keys_with_stores() -> QuerySet[ApiKey]:
    """API keys with their user's memberships (the stores a key is bound to) read in one more query."""
    memberships = StaffMembership.objects.select_related("store").order_by("store__code")
    return ApiKey.objects.select_related("user").prefetch_related(Prefetch("user__memberships", queryset=memberships))


def api_key_by_prefix(*, prefix: str) -> ApiKey | None:
    return api_keys_with_stores().filter(prefix=prefix).first()
