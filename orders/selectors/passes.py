"""Reads of the pickup pass (SPEC 13): what a pass page shows, which package a pass's QR text opens at the
counter (SPEC 12), and the customers who checked in, for the top of the staff list."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext, ngettext

from core.appsettings import StoreSettings
from orders.models import Package, PackageStatus, Store
from otp import passes
from otp import services as otp

# What a pass page says about its code: only ``PASS_LIVE`` shows it.
PASS_LIVE = otp.CODE_LIVE
PASS_EXPIRED = otp.CODE_EXPIRED
PASS_LOCKED = otp.CODE_LOCKED
PASS_USED = otp.CODE_USED
PASS_REPLACED = otp.CODE_REPLACED
PASS_DELIVERED = "delivered"
PASS_CANCELLED = "cancelled"


@dataclass(frozen=True)
class PassView:
    """A pass as its page shows it. ``code`` is set only while the code is live (``state == PASS_LIVE``)."""

    package: Package
    state: str
    holder: str
    code: str | None
    code_expires_at: datetime
    pickup_pass: passes.PickupPass

    @property
    def qr_text(self) -> str | None:
        return passes.pass_qr_text(package_id=self.package.pk, code=self.code) if self.code else None

    @property
    def is_ready(self) -> bool:
        return self.package.status == PackageStatus.READY_FOR_CUSTOMER_PICKUP


def package_pass_view(*, pickup_pass: passes.PickupPass, now: datetime) -> PassView | None:
    """The pass ``pickup_pass`` (read from a valid token) as its page shows it, or None when its package is gone or
    was never ready (no code of it matches: a token sealed for another database). Delivered and cancelled packages
    say so whatever their code; a ready package's code is shown only while it is the current, unexpired, unlocked
    code. Two queries: the package with its order, customer and store, and its codes."""
    package = (
        Package.objects.select_related("order__customer", "store")
        .filter(pk=pickup_pass.package_id)
        .prefetch_related("items")
        .first()
    )
    if package is None:
        return None
    state = otp.pickup_code_state(package_id=package.pk, value=pickup_pass.code, now=now)
    if state == otp.CODE_UNKNOWN:
        return None
    if package.status == PackageStatus.DELIVERED:
        state = PASS_DELIVERED
    elif package.status == PackageStatus.CANCELLED:
        state = PASS_CANCELLED
    elif state == PASS_LIVE and now >= pickup_pass.expires_at:
        state = PASS_EXPIRED
    return PassView(
        package=package,
        state=state,
        holder=pickup_pass.holder,
        code=pickup_pass.code if state == PASS_LIVE else None,
        code_expires_at=pickup_pass.expires_at,
        pickup_pass=pickup_pass,
    )


def package_find_by_pass_text(*, text: Any, stores: Iterable[Store | Any]) -> tuple[Package, str] | None:
    """The package a pass's QR text (``PICKUP:<package id>:<code>``, as a scanner types it into the staff search
    box) names, with the code it carries, when the package is in one of ``stores`` (stores or their ids); None for
    any other text or another store's package (SPEC 12: "not found"). It checks nothing of the code: hand both to
    ``services.package_deliver(otp_value=code)``, which counts a wrong or stale code as an attempt, as typing it
    would. The text travels by POST only and is never logged or stored."""
    parsed = passes.pass_qr_text_parse(text)
    if parsed is None:
        return None
    package_id, code = parsed
    store_ids = [getattr(store, "pk", store) for store in stores]
    package = (
        Package.objects.select_related("order__customer", "store").filter(pk=package_id, store_id__in=store_ids).first()
    )
    if package is None:
        return None
    return package, code


# --- check-ins (SPEC 13), for the staff list: customers waiting on top ------------------------------------------


@dataclass(frozen=True)
class CheckIn:
    """A ready package whose customer checked in: ``arrived`` ("I'm here", ``since`` then) or ``on_my_way``
    (``since`` then, expected ``expected_minutes`` later). ``waiting_minutes``: whole minutes since "I'm here";
    ``overdue``: waiting at least CHECKIN_ALERT_MINUTES (the store's), to be shown in colour and in words."""

    package: Package
    kind: str
    since: datetime
    waiting_minutes: int
    expected_minutes: int | None
    overdue: bool

    @property
    def label(self) -> str:
        """What the staff list shows: "Customer waiting, 3 min" or "Customer on the way, about 10 min" (in the
        active language); "overdue" is added in words when ``overdue``."""
        if self.kind == "arrived":
            text = ngettext(
                "Customer waiting, %(minutes)s min", "Customer waiting, %(minutes)s min", self.waiting_minutes
            ) % {"minutes": self.waiting_minutes}
            return f"{text} · {gettext('overdue')}" if self.overdue else text
        return ngettext(
            "Customer on the way, about %(minutes)s min",
            "Customer on the way, about %(minutes)s min",
            self.expected_minutes or 0,
        ) % {"minutes": self.expected_minutes}


def store_check_ins(*, store: Store | Any, now: datetime) -> list[CheckIn]:
    """The check-ins of the store's ready packages, in the order the staff list puts them on top: customers at the
    store first, longest waiting first, then those on the way, soonest expected first. One query (the packages'
    store-and-status index) and the store's CHECKIN_ALERT_MINUTES (from the settings snapshot).
    """
    store_id = getattr(store, "pk", store)
    alert_minutes = StoreSettings(store_id).CHECKIN_ALERT_MINUTES
    packages = (
        Package.objects.select_related("order__customer", "store")
        .filter(store_id=store_id, status=PackageStatus.READY_FOR_CUSTOMER_PICKUP)
        .filter(Q(checked_in_at__isnull=False) | Q(on_my_way_at__isnull=False))
    )
    arrived, on_the_way = [], []
    for package in packages:
        if package.checked_in_at is not None:
            waiting = max(0, int((now - package.checked_in_at).total_seconds() // 60))
            arrived.append(
                CheckIn(
                    package=package,
                    kind="arrived",
                    since=package.checked_in_at,
                    waiting_minutes=waiting,
                    expected_minutes=None,
                    overdue=waiting >= alert_minutes,
                )
            )
        else:
            on_the_way.append(
                CheckIn(
                    package=package,
                    kind="on_my_way",
                    since=package.on_my_way_at,
                    waiting_minutes=0,
                    expected_minutes=package.on_my_way_minutes,
                    overdue=False,
                )
            )
    arrived.sort(key=lambda check_in: (check_in.since, str(check_in.package.pk)))
    on_the_way.sort(
        key=lambda check_in: (
            check_in.since + timedelta(minutes=check_in.expected_minutes or 0),
            str(check_in.package.pk),
        )
    )
    return arrived + on_the_way
