"""Every rule of the orders app that writes (SPEC 3-6, 9.2), one module per seam:

- ``transitions``: the package state machine, its locks and checks, the order's status, the commands;
- ``dispatch``: a command by its code, through the service the command table names;
- ``delivery``: the pickup-code verification and the hand-over, of a package or an order;
- ``no_shows``: expiry of uncollected packages, reminders, forgiving a strike;
- ``trust_tiers``: a customer's tier from their no-shows;
- ``intake``: orders from the order systems; ``api_keys``: the keys of POS devices and the order system;
- ``check_ins``: the customer's "I'm here" and "On my way" from the pickup pass;
- ``audit``: the audit records; ``outbox``: the drafts of the outbox rows and their publish after commit.

Reads are in ``orders.selectors``; phone numbers in ``orders.phones``.

The public names are re-exported here, so callers write ``from orders import services`` and ``services.<name>``.
"""

from orders.phones import phone_normalize

# Reads that moved to orders.selectors, still reachable here for orders/views.py. Remove these two names once
# views call orders.selectors for them (after the views split lands); `grep -rn "services.package_available_commands"`.
from orders.selectors import package_available_commands, packages_due_for_expiry
from orders.services.api_keys import api_key_authenticate, api_key_create, api_key_revoke, api_key_validate
from orders.services.check_ins import CheckInOutcome, package_check_in
from orders.services.delivery import DeliveryOutcome, order_verify, package_deliver
from orders.services.dispatch import CommandOutcome, package_run_command
from orders.services.intake import order_intake
from orders.services.no_shows import (
    ForgivePreview,
    no_show_strike_forgive,
    no_show_strike_forgive_preview,
    package_expire_no_show,
    packages_expire_unclaimed,
    packages_send_reminders,
)
from orders.services.transitions import (
    order_refresh_status,
    order_status_from,
    package_cancel,
    package_complete_packaging,
    package_mark_ready,
    package_resend_code,
)
from orders.services.trust_tiers import (
    TIER_SETTING_KEYS,
    TierRules,
    customer_trust_tier_refresh,
    customers_refresh_ended_tiers,
    customers_trust_at_store,
    stores_with_own_tier_rules,
    trust_tier_compute,
    trust_tier_from_history,
)

__all__ = [
    "TIER_SETTING_KEYS",
    "CheckInOutcome",
    "CommandOutcome",
    "DeliveryOutcome",
    "ForgivePreview",
    "TierRules",
    "api_key_authenticate",
    "api_key_create",
    "api_key_revoke",
    "api_key_validate",
    "customer_trust_tier_refresh",
    "customers_refresh_ended_tiers",
    "customers_trust_at_store",
    "no_show_strike_forgive",
    "no_show_strike_forgive_preview",
    "order_intake",
    "order_refresh_status",
    "order_status_from",
    "order_verify",
    "package_available_commands",
    "package_cancel",
    "package_check_in",
    "package_complete_packaging",
    "package_deliver",
    "package_expire_no_show",
    "package_mark_ready",
    "package_resend_code",
    "package_run_command",
    "packages_due_for_expiry",
    "packages_expire_unclaimed",
    "packages_send_reminders",
    "phone_normalize",
    "stores_with_own_tier_rules",
    "trust_tier_compute",
    "trust_tier_from_history",
]
