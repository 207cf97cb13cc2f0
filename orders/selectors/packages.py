"""Package reads of the staff pages and the API: a store's list with its search, status filter, counts and pages,
the API's list, the packages of an order a caller sees, and the messages sent about a package."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.paginator import Page
from django.db.models import Case, Count, IntegerField, Q, QuerySet, Sum, Value, When
from django.utils import timezone

from core.appsettings import StoreSettings
from core.pagination import DeferredJoinPaginator
from core.text import text_nfc
from notifications.models import Message
from orders import commands as cmd
from orders.models import PACKAGE_LIST_ORDER, Order, Package, PackageItem, PackageStatus, Store
from orders.selectors.access import packages_visible_to, staff_role_for_store
from orders.selectors.search import order_number_q, package_search_q
from orders.selectors.stores import store_tomorrow_starts

# The staff list's filter "Expires today": not a status, but chosen like one. Packages ready for pickup whose
# hold ends before the store's day does (or has ended and the no-show sweep has not reached them yet): those to
# hand over, or to call the customer about.
EXPIRES_TODAY = "expires_today"
# The key of the "All" filter's count in package_counts_by_status; the others are the status values.
ALL_COUNT = "all"
# The staff list's first filter, what it opens on (SPEC 12): the packages that still need staff, those to hand
# over first, then those to make ready, then those to pack.
NEEDS_ACTION = "needs_action"
NEEDS_ACTION_STATUSES = (
    PackageStatus.READY_FOR_CUSTOMER_PICKUP,
    PackageStatus.PACKED_ALL_ITEMS,
    PackageStatus.WAITING,
)
_NEEDS_ACTION_RANK = Case(
    *[When(status=status, then=Value(rank)) for rank, status in enumerate(NEEDS_ACTION_STATUSES)],
    default=Value(len(NEEDS_ACTION_STATUSES)),
    output_field=IntegerField(),
)


def package_list_order(*, status: str = "", search: str = "") -> tuple:
    """The order of a staff list: ``NEEDS_ACTION``'s, and a search's results in every status, by what is to be
    done (ready, packed, waiting, then the rest), each newest first; else newest first (``PACKAGE_LIST_ORDER``).
    Total: it ends with the key, as the pager needs."""
    if status == NEEDS_ACTION or (search and not status):
        return (_NEEDS_ACTION_RANK.asc(), *PACKAGE_LIST_ORDER)
    return PACKAGE_LIST_ORDER


def packages_in_list_order() -> QuerySet[Package]:
    """Every package in the lists' order (``PACKAGE_LIST_ORDER``, newest first): what a list's page reads its
    rows from, by the keys of the page (``core.pagination``)."""
    return Package.objects.order_by(*PACKAGE_LIST_ORDER)


def package_list_for_store(*, store: Store, search: str = "", status: str = "") -> QuerySet[Package]:
    """The packages one store's staff list shows (SPEC 10): ``search`` (``package_search_q``) and ``status`` (a
    status value, ``NEEDS_ACTION`` or ``EXPIRES_TODAY``; empty for all) applied. Unordered."""
    packages = Package.objects.filter(store=store)
    if search:
        packages = packages.filter(package_search_q(search))
    if status == EXPIRES_TODAY:
        packages = packages.filter(
            status=PackageStatus.READY_FOR_CUSTOMER_PICKUP, ready_expires_at__lt=store_tomorrow_starts(store=store)
        )
    elif status == NEEDS_ACTION:
        packages = packages.filter(status__in=NEEDS_ACTION_STATUSES)
    elif status:
        packages = packages.filter(status=status)
    return packages


def package_counts_by_status(*, store: Store, search: str) -> dict[str, int]:
    """The filter bar's counts (SPEC 10) of one store's list, with the search applied: each status value,
    ``NEEDS_ACTION``, ``EXPIRES_TODAY`` and ``ALL_COUNT``. One query."""
    # Each status's count and, among the ready ones, those whose hold ends today (the "Expires today" count).
    rows = (
        package_list_for_store(store=store, search=search)
        .values_list("status")
        .annotate(n=Count("pk"), today=Count("pk", filter=Q(ready_expires_at__lt=store_tomorrow_starts(store=store))))
        .order_by()
    )
    counts, expiring = {}, 0
    for status, n, today in rows:
        counts[status] = n
        if status == PackageStatus.READY_FOR_CUSTOMER_PICKUP:
            expiring = today
    return {
        ALL_COUNT: sum(counts.values()),
        NEEDS_ACTION: sum(counts.get(value, 0) for value in NEEDS_ACTION_STATUSES),
        **{value: counts.get(value, 0) for value in PackageStatus.values},
        EXPIRES_TODAY: expiring,
    }


def package_list_page(
    *,
    packages: QuerySet[Package],
    page_number: Any,
    page_size: int,
    count: int | None,
    status: str = "",
    search: str = "",
) -> Page:
    """One page of a staff list (``packages``), in the list's order (``package_list_order`` of its ``status``
    and ``search``), each row with its order's customer and its store; an unusable or too high ``page_number``
    gives the last page.

    ``count``: the list's length when the caller knows it (``package_counts_by_status``), so that the search is
    not run once more to count it (docs/performance.md); None counts it."""
    order = package_list_order(status=status, search=search)
    rows = Package.objects.order_by(*order).select_related("order__customer", "store")
    paginator = DeferredJoinPaginator(packages.order_by(*order), page_size, rows=rows)
    if count is not None:
        paginator.count = count
    return paginator.get_page(page_number or 1)


def package_ids_by_order_number(
    *, user: AbstractBaseUser, roles: dict[Any, str], order_number: str, limit: int
) -> list[Any]:
    """The ids of at most ``limit`` packages of the user's stores (``roles``: the user's ``staff_roles``) whose
    order number is ``order_number`` (in NFC, any case; ``order_number_q``), in no particular order."""
    return list(
        packages_visible_to(user=user, roles=roles)
        .filter(order_number_q(text_nfc(order_number), prefix="order__", exact=True))
        .order_by()  # any of them: sorted, PostgreSQL may walk the store's packages newest first to find them
        .values_list("pk", flat=True)[:limit]
    )


def package_get_for_list_row(*, package_id: Any) -> Package:
    """The package with its order's customer and its store, as a list's row shows it (``Package.DoesNotExist``
    when there is none). No access check: for a package the caller has already read."""
    return Package.objects.select_related("order__customer", "store").get(pk=package_id)


def package_list_for_user(
    *,
    user: AbstractBaseUser,
    roles: dict[Any, str] | None,
    status: str = "",
    store_code: str = "",
    search: str = "",
) -> QuerySet[Package]:
    """The API's package list: the packages of the user's stores (``packages_visible_to``, with ``roles`` when the
    caller has read them), filtered by ``status``, by the store's code in any case and by ``search``
    (``package_search_q``) when given; in the lists' order (``PACKAGE_LIST_ORDER``)."""
    packages = packages_visible_to(user=user, roles=roles)
    if status:
        packages = packages.filter(status=status)
    if store_code:
        packages = packages.filter(store__code__iexact=store_code)
    if search:
        packages = packages.filter(package_search_q(search))
    return packages.order_by(*PACKAGE_LIST_ORDER)


def order_packages_for_user(*, order: Order, user: AbstractBaseUser, is_integration: bool) -> QuerySet[Package]:
    """The packages of ``order`` the caller may see, oldest first: all of them for the order system
    (``is_integration``), else those of the user's stores (``packages_visible_to``)."""
    visible = order.packages.all() if is_integration else packages_visible_to(user=user)
    return visible.filter(order=order).order_by("created_at", "pk")


def package_messages_sent(*, package: Package) -> list[Message]:
    """The customer messages of the package (every channel and status), oldest first."""
    return list(Message.objects.filter(package=package).order_by("created_at", "pk"))


def package_item_count(*, package: Package) -> int:
    """How many things the customer is handed: the quantities of the package's items added up."""
    return package.items.aggregate(total=Sum("quantity"))["total"] or 0


def package_items_matching(*, term: str) -> QuerySet[PackageItem]:
    """Package items whose SKU or name contains ``term``, in any case. No index: the items are read in full."""
    return PackageItem.objects.filter(Q(sku__icontains=term) | Q(name__icontains=term))


def package_available_commands(*, package: Package, actor: Any) -> list[str]:
    """The codes of the commands ``actor`` may run on ``package`` now (``orders.commands.available_commands``)."""
    role = staff_role_for_store(user=actor, store_id=package.store_id)
    return cmd.available_commands(
        status=package.status, role=role, otp_enabled=StoreSettings(package.store_id).IS_OTP_ENABLED
    )


def packages_due_for_expiry(*, now: datetime | None = None) -> QuerySet[Package]:
    """Packages still ready at or after their ``readyExpiresAt``, oldest deadline first."""
    now = now or timezone.now()
    return (
        Package.objects.filter(status=PackageStatus.READY_FOR_CUSTOMER_PICKUP, ready_expires_at__lte=now)
        .select_related("order__customer", "store")
        .order_by("ready_expires_at", "pk")
    )
