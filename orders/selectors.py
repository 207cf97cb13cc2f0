"""Reads that decide who sees what: store memberships and roles."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from core.errors import ApplicationError
from orders.models import Package, StaffMembership, StaffRole, Store

INTEGRATION_GROUP = "integration"


def user_is_integration(*, user: Any) -> bool:
    return bool(user and user.is_authenticated and user.groups.filter(name=INTEGRATION_GROUP).exists())


def staff_roles(*, user: AbstractBaseUser | None) -> dict[Any, str]:
    """Store id -> role for an active user; administrators are managers everywhere."""
    if user is None or not user.is_authenticated or not user.is_active:
        return {}
    if user.is_superuser:
        return dict.fromkeys(Store.objects.values_list("pk", flat=True), StaffRole.MANAGER)
    return dict(StaffMembership.objects.filter(user=user).values_list("store_id", "role"))


def staff_role_for_store(*, user: AbstractBaseUser | None, store_id: Any) -> str | None:
    """The user's role in the store, or None. ``user=None`` is the system, which may do anything."""
    if user is None:
        return StaffRole.MANAGER
    if not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return StaffRole.MANAGER
    return StaffMembership.objects.filter(user=user, store_id=store_id).values_list("role", flat=True).first()


def staff_stores(*, user: AbstractBaseUser) -> QuerySet[Store]:
    if user.is_superuser:
        return Store.objects.all()
    return Store.objects.filter(memberships__user=user).distinct()


def packages_visible_to(*, user: AbstractBaseUser) -> QuerySet[Package]:
    """Packages of the user's stores; employees never see other stores' packages (SPEC 9.1)."""
    packages = Package.objects.all()
    if user.is_superuser:
        return packages
    return packages.filter(store__memberships__user=user)


def package_get_for_user(*, user: AbstractBaseUser, package_id: Any) -> Package:
    """The package if it is in one of the user's stores; otherwise ``not_found`` (never 403: no leak)."""
    try:
        return (
            packages_visible_to(user=user)
            .select_related("order__customer", "store")
            .get(pk=package_id)
        )
    except (Package.DoesNotExist, ValueError, TypeError, ValidationError):
        # ValidationError: a malformed UUID. Any miss answers the same.
        raise ApplicationError("not_found") from None
