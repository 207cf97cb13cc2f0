"""Django admin for stores, staff, customers, orders, packages and the audit trail (SPEC 1).

Admin actions run the same services as the API and the staff pages (channel ``admin``). Audit
records are read-only; no page shows a pickup code or its hash.

Where they live: ``stores`` (stores and staff memberships), ``customers`` (customers, no-shows and forgiving
them), ``packages`` (orders, packages and items, the package actions), ``audit`` (the audit trail), ``search``
(``StaffSearchMixin``, which the notifications and otp admins use too), ``common`` (widgets and columns they
share). Importing this package registers them all; it re-exports the names other modules and tests import.
"""

from orders.admin.audit import AUDIT_COLUMNS, AuditDisplayMixin, AuditInline, AuditRecordAdmin
from orders.admin.common import (
    SafeAutocompleteMixin,
    SafeAutocompleteSelect,
    name_column,
    store_local,
    store_local_display,
)
from orders.admin.customers import (
    CustomerAdmin,
    CustomerForm,
    ForgiveStrikeForm,
    NoShowStrikeAdmin,
    NoShowStrikeInline,
    forgiving_effect,
    may_forgive_strikes,
)
from orders.admin.packages import (
    CancelPackagesForm,
    IntakeRecordMixin,
    OrderAdmin,
    PackageAdmin,
    PackageInline,
    PackageItemAdmin,
    PackageItemInline,
)
from orders.admin.search import ID_PATH_HELP, STAFF_SEARCH, StaffSearchMixin
from orders.admin.stores import MembershipFormSet, MembershipInline, StaffMembershipAdmin, StoreAdmin

__all__ = [
    "AUDIT_COLUMNS",
    "ID_PATH_HELP",
    "STAFF_SEARCH",
    "AuditDisplayMixin",
    "AuditInline",
    "AuditRecordAdmin",
    "CancelPackagesForm",
    "CustomerAdmin",
    "CustomerForm",
    "ForgiveStrikeForm",
    "IntakeRecordMixin",
    "MembershipFormSet",
    "MembershipInline",
    "NoShowStrikeAdmin",
    "NoShowStrikeInline",
    "OrderAdmin",
    "PackageAdmin",
    "PackageInline",
    "PackageItemAdmin",
    "PackageItemInline",
    "SafeAutocompleteMixin",
    "SafeAutocompleteSelect",
    "StaffMembershipAdmin",
    "StaffSearchMixin",
    "StoreAdmin",
    "forgiving_effect",
    "may_forgive_strikes",
    "name_column",
    "store_local",
    "store_local_display",
]
