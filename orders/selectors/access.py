"""Reads that decide who sees what: store memberships and roles, the packages and orders a user reaches."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, Group
from django.core.exceptions import ValidationError
from django.db.models import Exists, Q, QuerySet

from core.authentication import INTEGRATION_GROUP, IS_INTEGRATION_ATTR
from core.errors import ApplicationError
from orders.models import Order, Package, StaffMembership, StaffRole, Store


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
