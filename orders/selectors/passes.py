"""Reads of the pickup pass (SPEC 13): what a pass page shows, and which package a pass's QR text opens at the
counter (SPEC 12)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

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
