"""Reads of the orders app that are more than a one-line query, named for what they return. The staff pages,
the API, admin and the services import them from here.

Where they live: ``access`` (who sees what: roles, the packages and orders a user reaches), ``search`` (the
staff search), ``packages`` (the staff list with its counts and pages, the API's list, an order's packages),
``stores``, ``customers`` (no-shows), ``audit`` (a package's timeline) and ``passes`` (the pickup pass)."""

from orders.selectors.access import (
    membership_grants_access,
    order_get_for_user,
    package_get_for_user,
    packages_visible_to,
    staff_role_for_store,
    staff_roles,
    staff_stores,
    user_is_integration,
    user_may_forgive_no_shows,
)
from orders.selectors.audit import (
    audit_records_by_actor_name,
    failed_verification_limit_edge,
    failed_verification_limit_reached_at,
    package_audit_timeline,
)
from orders.selectors.customers import (
    customer_active_no_show_count,
    customer_recent_no_shows,
    no_show_strike_of_customer,
)
from orders.selectors.packages import (
    ALL_COUNT,
    EXPIRES_TODAY,
    order_packages_for_user,
    package_available_commands,
    package_counts_by_status,
    package_get_for_list_row,
    package_ids_by_order_number,
    package_items_matching,
    package_list_for_store,
    package_list_for_user,
    package_list_page,
    package_messages_sent,
    packages_due_for_expiry,
    packages_in_list_order,
)
from orders.selectors.passes import (
    PassView,
    package_find_by_pass_text,
    package_pass_view,
)
from orders.selectors.search import (
    SEARCH_WORDS,
    RowSearch,
    customer_search_q,
    order_number_q,
    orders_matching,
    package_search_q,
    row_search,
)
from orders.selectors.stores import (
    store_member_user_ids,
    store_ready_package_count,
    store_tomorrow_starts,
    stores_by_code,
)

__all__ = [
    "ALL_COUNT",
    "EXPIRES_TODAY",
    "SEARCH_WORDS",
    "PassView",
    "RowSearch",
    "audit_records_by_actor_name",
    "customer_active_no_show_count",
    "customer_recent_no_shows",
    "customer_search_q",
    "failed_verification_limit_edge",
    "failed_verification_limit_reached_at",
    "membership_grants_access",
    "no_show_strike_of_customer",
    "order_get_for_user",
    "order_number_q",
    "order_packages_for_user",
    "orders_matching",
    "package_audit_timeline",
    "package_available_commands",
    "package_counts_by_status",
    "package_find_by_pass_text",
    "package_get_for_list_row",
    "package_get_for_user",
    "package_ids_by_order_number",
    "package_items_matching",
    "package_list_for_store",
    "package_list_for_user",
    "package_list_page",
    "package_messages_sent",
    "package_pass_view",
    "package_search_q",
    "packages_due_for_expiry",
    "packages_in_list_order",
    "packages_visible_to",
    "row_search",
    "staff_role_for_store",
    "staff_roles",
    "staff_stores",
    "store_member_user_ids",
    "store_ready_package_count",
    "store_tomorrow_starts",
    "stores_by_code",
    "user_is_integration",
    "user_may_forgive_no_shows",
]
