"""Reads that decide who sees what: store memberships and roles."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, Group
from django.core.exceptions import ValidationError
from django.db.models import Exists, Q, QuerySet, Subquery
from django.utils import timezone

from core.appsettings import StoreSettings
from core.authentication import INTEGRATION_GROUP, IS_INTEGRATION_ATTR
from core.errors import ApplicationError
from core.text import search_fold, text_nfc
from orders import commands as cmd
from orders.models import (
    AuditKind,
    AuditOutcome,
    AuditRecord,
    Customer,
    Order,
    Package,
    PackageStatus,
    StaffMembership,
    StaffRole,
    Store,
)
from otp import conf as otp_conf
from otp import services as otp


def user_may_forgive_no_shows(*, user: Any) -> bool:
    """An active staff user who may change no-show strikes: who forgives (``services.no_show_strike_forgive``),
    whichever screen asks."""
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and user.is_staff
        and user.has_perm("orders.change_noshowstrike")
    )


def user_is_integration(*, user: Any) -> bool:
    """The user is an account of the order system (group ``INTEGRATION_GROUP``).

    Read with the user when the API authenticated it (``core.authentication``); otherwise queried.
    """
    if not (user and user.is_authenticated):
        return False
    flag = getattr(user, IS_INTEGRATION_ATTR, None)
    if flag is not None:
        return bool(flag)
    return user.groups.filter(name=INTEGRATION_GROUP).exists()


def membership_grants_access(*, user: Any) -> Q | Exists:
    """A filter condition, true unless ``user`` is an account of the order system.

    A membership gives an integration account nothing (SPEC 9.1: it creates and reads orders, it runs no
    package commands), whatever rows admin holds for it: every read of a membership below applies this, so
    the staff pages, the API and the services refuse it alike. Part of the same query (no round trip of
    its own); no query at all when the API read the flag with the user (``core.authentication``).
    """
    flag = getattr(user, IS_INTEGRATION_ATTR, None)
    if flag is not None:
        return Q(pk__in=[]) if flag else Q()
    return ~Exists(Group.objects.filter(user=user, name=INTEGRATION_GROUP))


def staff_roles(*, user: AbstractBaseUser | None) -> dict[Any, str]:
    """Store id -> role for an active user; administrators are managers everywhere."""
    if user is None or not user.is_authenticated or not user.is_active:
        return {}
    if user.is_superuser:
        return dict.fromkeys(Store.objects.values_list("pk", flat=True), StaffRole.MANAGER)
    memberships = StaffMembership.objects.filter(membership_grants_access(user=user), user=user)
    return dict(memberships.values_list("store_id", "role"))


def staff_role_for_store(*, user: AbstractBaseUser | None, store_id: Any) -> str | None:
    """The user's role in the store, or None. ``user=None`` is the system, which may do anything."""
    if user is None:
        return StaffRole.MANAGER
    if not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return StaffRole.MANAGER
    memberships = StaffMembership.objects.filter(membership_grants_access(user=user), user=user, store_id=store_id)
    return memberships.values_list("role", flat=True).first()


def staff_stores(*, user: AbstractBaseUser) -> QuerySet[Store]:
    if user.is_superuser:
        return Store.objects.all()
    return Store.objects.filter(membership_grants_access(user=user), memberships__user=user).distinct()


def packages_visible_to(*, user: AbstractBaseUser, roles: dict[Any, str] | None = None) -> QuerySet[Package]:
    """Packages of the user's stores; employees never see other stores' packages (SPEC 9.1).

    ``roles``: the user's ``staff_roles`` when the caller has read them already. The stores are then named
    by id in the query, which lets PostgreSQL walk one store's packages newest first by an index and stop
    after a page; joined through the memberships, it read and sorted every package of the stores.
    """
    packages = Package.objects.all()
    if user.is_superuser:
        return packages
    if roles is not None:
        return packages.filter(store_id__in=list(roles))
    return packages.filter(membership_grants_access(user=user), store__memberships__user=user)


def package_get_for_user(*, user: AbstractBaseUser, package_id: Any) -> Package:
    """The package if it is in one of the user's stores; otherwise ``not_found`` (never 403: no leak)."""
    try:
        return packages_visible_to(user=user).select_related("order__customer", "store").get(pk=package_id)
    except (Package.DoesNotExist, ValueError, TypeError, ValidationError):
        # ValidationError: a malformed UUID. Any miss answers the same.
        raise ApplicationError("not_found") from None


def order_get_for_user(*, user: AbstractBaseUser, order_id: Any) -> Order:
    """The order if the user may read it, else ``not_found`` (never 403: no leak).

    The order system (group ``integration``) and administrators read every order; staff read the
    orders that have a package in, or are picked up at, one of their stores.
    """
    orders = Order.objects.select_related("customer", "store")
    if not (user.is_superuser or user_is_integration(user=user)):
        store_ids = list(staff_roles(user=user))
        orders = orders.filter(Q(store_id__in=store_ids) | Q(packages__store_id__in=store_ids)).distinct()
    try:
        return orders.get(pk=order_id)
    except (Order.DoesNotExist, ValueError, TypeError, ValidationError):
        raise ApplicationError("not_found") from None


# The most words of a term a name search compares (customer_search_q).
SEARCH_WORDS = 10


def customer_search_q(term: str, *, prefix: str = "") -> Q | None:
    """Customers (at ``prefix``, e.g. ``order__customer__``) whose name has every word of ``term``, or whose
    phone has its digits when ``term`` has no letters; None when ``term`` has neither.

    The name matches without case, accents or apostrophes, Turkish letters included (``sahin`` and ``ŞAHİN``
    find ``Şahin``, ``isil`` finds ``IŞIL``, ``çiçek ışıl`` finds ``Işıl Çiçek``): the folded words against the
    folded name stored with the customer (``core.text.search_fold``), so SQLite and PostgreSQL agree. Phone
    digits match with or without the national leading zero (``0532...`` finds ``+90532...``), from a term
    without letters, as phone numbers are written (digits, spaces, ``+``, ``-``, brackets): the digits of an
    order number (``SIP-1001``) or of a name with a number are no phone, and found every customer whose
    phone has them somewhere.
    """
    query = Q()
    # Each word is a LIKE condition: a term of thousands (admin's box takes any length) was a statement SQLite
    # refuses (expression too deep) and PostgreSQL plans over the trigram index word by word. Each word once, and
    # past SEARCH_WORDS the longest (the most selective): a name has every kept word when it has every word.
    words = sorted(dict.fromkeys(search_fold(term).split()), key=len, reverse=True)[:SEARCH_WORDS]
    if words:
        query = Q(*(Q(**{f"{prefix}name_folded__contains": word}) for word in words))
    digits = "".join(ch for ch in term if ch in "0123456789").lstrip("0")
    if len(digits) >= 3 and not any(ch.isalpha() for ch in term):
        query |= Q(**{f"{prefix}phone__contains": digits})
    return query or None


def order_number_q(term: str, *, prefix: str = "", exact: bool = False) -> Q:
    """Orders (at ``prefix``) whose number contains ``term`` (or is it, ``exact``), ignoring case.

    Also the term folded (``search_fold``), for numbers written in Latin letters, which is what order systems
    send: ``SİP-1001`` and ``sıp-1001`` (a Turkish keyboard with Caps Lock or a phone that capitalises ``i``
    as ``İ``) find ``SIP-1001`` on both databases, where the database's own case folding keeps ``İ`` apart
    from ``I`` (PostgreSQL) or folds ASCII letters only (SQLite).
    """
    lookup = f"{prefix}order_number__{'iexact' if exact else 'icontains'}"
    query = Q(**{lookup: term})
    folded = search_fold(term)
    if folded and folded != term:
        query |= Q(**{lookup: folded})
    return query


@dataclass(frozen=True)
class RowSearch:
    """What a search term finds among one model's rows, as PostgreSQL answers it from indexes.

    ``direct``: conditions on the model's own table, which PostgreSQL combines from that table's indexes (a bitmap
    OR); ``parts``: querysets of the model that reach it through another table (the orders by number, the
    customers by name, phone or e-mail, anything a caller adds), each answered by that table's index. One
    condition over the joined tables made PostgreSQL read them whole; a union of each part's keys does not.
    Built by ``row_search``; the staff pages and the API (``orders_matching``) and admin's lists
    (``orders.admin.StaffSearchMixin``) all search through it.
    """

    model: type
    direct: Q | None
    parts: tuple[QuerySet, ...]

    def keys(self) -> QuerySet:
        """The found rows' ids (``values("pk")``), for ``pk__in=`` or ``<foreign key>__in=``: one query when every
        condition is on the model's own table, else the union of one query per table."""
        branches = [self.model._default_manager.filter(self.direct)] if self.direct is not None else []
        keys = [branch.order_by().values("pk") for branch in [*branches, *self.parts]]
        if not keys:
            return self.model._default_manager.none().values("pk")
        return keys[0].union(*keys[1:]) if len(keys) > 1 else keys[0]

    def condition(self) -> Q:
        """A filter on the model keeping the found rows: the direct conditions themselves when there are no other
        parts (no subquery of the table on itself), else ``pk__in`` the union (``keys``)."""
        if not self.parts:
            return self.direct if self.direct is not None else Q(pk__in=[])
        return Q(pk__in=self.keys())


def row_search(
    model: type,
    term: str,
    *,
    order_path: str | None = None,
    customer_path: str | None = None,
    customer_email: bool = False,
    direct: Q | None = None,
    parts: Iterable[QuerySet] = (),
) -> RowSearch:
    """The rows of ``model`` whose order's number contains ``term`` (``order_number_q``) or whose customer's name
    has its words or phone its digits (``customer_search_q``), or its e-mail contains it (``customer_email``);
    ``term`` is taken in NFC without the spaces around it.

    ``order_path``/``customer_path``: the lookups from ``model`` to the order and to the customer (``""`` for
    the model itself, None for none). ``direct`` and ``parts``: the caller's own conditions on the model's table
    and querysets of the model through other tables (see ``RowSearch``).
    """
    term = text_nfc(term).strip()
    manager = model._default_manager
    found_parts = list(parts)

    def add_direct(condition: Q) -> None:
        nonlocal direct
        direct = condition if direct is None else direct | condition

    if order_path == "":
        add_direct(order_number_q(term))
    elif order_path is not None:
        orders = Order.objects.filter(order_number_q(term)).order_by().values("pk")
        found_parts.append(manager.filter(**{f"{order_path}pk__in": orders}))
    customers = customer_search_q(term)
    if customer_email:
        by_email = Q(email__icontains=term)
        customers = by_email if customers is None else customers | by_email
    if customers is not None and customer_path == "":
        add_direct(customers)
    elif customers is not None and customer_path is not None:
        found = Customer.objects.filter(customers).order_by().values("pk")
        found_parts.append(manager.filter(**{f"{customer_path}pk__in": found}))
    return RowSearch(model=model, direct=direct, parts=tuple(found_parts))


def orders_matching(term: str) -> QuerySet[Order]:
    """The ids of the orders whose number contains ``term`` or whose customer's name has its words, or phone its
    digits (``order_number_q``, ``customer_search_q``). ``term`` is taken in NFC without the spaces around it.

    For the lists to filter by (``order__in=``): the orders by number, united with the orders of the customers
    found by name or phone (``row_search``), each part answered by an index on PostgreSQL (trigram indexes on the
    order number, the folded name and the phone, then the orders of those customers), whereas one condition over
    the joined tables made PostgreSQL join every order and customer to the packages it searched.
    """
    return row_search(Order, term, order_path="", customer_path="customer__").keys()


def package_search_q(term: str) -> Q:
    """Packages whose order number contains ``term``, whose customer's name has its words, or whose phone has
    its digits (``orders_matching``)."""
    return Q(order__in=orders_matching(term))


# --- reads of the services (orders.services) --------------------------------------------------------------------


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


def _failed_verifications(*, actor: Any, now: datetime) -> QuerySet[AuditRecord]:
    """The actor's failed verifications within the guess-spraying window (``otp.spray_window_start``), newest
    first; read on the audit table's ``audit_actor_failures_idx``."""
    return AuditRecord.objects.filter(
        actor=actor,
        kind=AuditKind.VERIFICATION,
        outcome=AuditOutcome.FAILURE,
        created_at__gt=otp.spray_window_start(now=now),
    ).order_by("-created_at")


def failed_verification_limit_edge(*, actor: Any, now: datetime) -> Subquery:
    """A subquery: the time of the actor's SPRAY_MAX_FAILURES-th most recent failed verification within the window,
    NULL when there are fewer (the limit is not reached). For a query the caller makes anyway (the pickup code's),
    instead of one more round trip; its value is ``otp.verification_check_spray_limit``'s ``oldest_counted``."""
    edge = otp_conf.SPRAY_MAX_FAILURES - 1
    return Subquery(_failed_verifications(actor=actor, now=now).values("created_at")[edge : edge + 1])


def failed_verification_limit_reached_at(*, actor: Any, now: datetime) -> datetime | None:
    """``failed_verification_limit_edge`` read on its own (one query)."""
    failures = list(
        _failed_verifications(actor=actor, now=now).values_list("created_at", flat=True)[: otp_conf.SPRAY_MAX_FAILURES]
    )
    return failures[-1] if len(failures) >= otp_conf.SPRAY_MAX_FAILURES else None
