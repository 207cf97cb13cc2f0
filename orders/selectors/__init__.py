"""Reads of the orders app that are more than a one-line query: who sees what (``access``) and the staff
search (``search``). Views, the API, admin and the services import them from here."""

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
from orders.selectors.search import (
    SEARCH_WORDS,
    RowSearch,
    customer_search_q,
    order_number_q,
    orders_matching,
    package_search_q,
    row_search,
)

__all__ = [
    "SEARCH_WORDS",
    "RowSearch",
    "customer_search_q",
    "membership_grants_access",
    "order_get_for_user",
    "order_number_q",
    "orders_matching",
    "package_get_for_user",
    "package_search_q",
    "packages_visible_to",
    "row_search",
    "staff_role_for_store",
    "staff_roles",
    "staff_stores",
    "user_is_integration",
    "user_may_forgive_no_shows",
]
