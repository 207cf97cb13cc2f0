"""A package's row in the list (and its dialog and page): its command buttons, the customer's trust tier as
the store judges it, and whether its hold ends today."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.utils import timezone

from orders import commands as cmd
from orders import services
from orders.models import Package, Store, TrustTier
from orders.selectors import store_tomorrow_starts


@dataclass
class Action:
    """One button of a package row: a command the user may run on it now."""

    code: str
    label: Any
    kind: str  # "post": a plain form; "deliver" / "cancel": opens a dialog

    @property
    def url_name(self) -> str:
        """The dialog's address (its page without JavaScript)."""
        return {"deliver": "staff:package-deliver", "cancel": "staff:package-cancel"}.get(self.kind, "")

    @property
    def css(self) -> str:
        return {
            cmd.DELIVER: "btn-primary",
            cmd.CANCEL: "btn-danger",
            cmd.RESEND_CODE: "btn-secondary",
        }.get(self.code, "btn-default")


def _actions(codes: list[str]) -> list[Action]:
    kinds = {cmd.DELIVER: "deliver", cmd.CANCEL: "cancel"}
    return [Action(code, cmd.COMMANDS[code].button, kinds.get(code, "post")) for code in codes]


def _with_actions(package: Package, user: Any) -> Package:
    package.actions = _actions(services.package_available_commands(package=package, actor=user))
    return package


@dataclass
class Trust:
    """A customer's trust tier as the package's store judges it (SPEC 6; its own NO_SHOW_* settings, if any)."""

    tier: str
    restricted_until: Any = None

    @property
    def label(self) -> Any:
        return TrustTier(self.tier).label

    @property
    def flagged(self) -> bool:
        """Worth a look at the counter: watch or restricted."""
        return self.tier != TrustTier.GOOD


def _for_counter(packages: list[Package], store: Store) -> None:
    """What a row shows the counter beyond the package: the customer's tier as this store judges it (one query
    at most for the page, none under the global settings) and whether the hold ends today in the store's time."""
    customers = {package.order.customer_id: package.order.customer for package in packages}
    trust = services.customers_trust_at_store(customers=customers.values(), store=store.pk)
    tomorrow = store_tomorrow_starts(store=store)
    today = tomorrow - timedelta(days=1)
    now = timezone.now()
    for package in packages:
        package.trust = Trust(*trust[package.order.customer_id])
        ends = package.ready_expires_at
        # Ended and not yet swept (the sweep runs every minute; longer while beat is down): said as such.
        package.hold_ended = bool(ends and ends <= now)
        package.expires_today = bool(ends and today <= ends < tomorrow)
