"""Django admin for stores, staff, customers, orders, packages and the audit trail (SPEC 1).

Admin actions run the same services as the API and the staff pages (channel ``admin``). Audit
records are read-only; no page shows a pickup code or its hash.

Where they live: ``stores`` (stores and staff memberships), ``customers`` (customers, no-shows and forgiving
them), ``packages`` (orders, packages and items, the package actions), ``audit`` (the audit trail), ``api_keys`` (API keys), ``search``
(``StaffSearchMixin``, which the notifications and otp admins use too), ``common`` (widgets and columns they
share). Importing this package registers them all; it re-exports ``StaffSearchMixin`` for those other admins.
"""

from orders.admin import api_keys, audit, customers, packages, stores  # noqa: F401 - importing registers their admins
from orders.admin.search import StaffSearchMixin

__all__ = ["StaffSearchMixin"]
