from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from core.admin import LargeTableAdminMixin, field_label
from orders.admin import StaffSearchMixin
from otp.models import PickupCode
from otp.services import CANCELLED, DELIVERED, NO_SHOW, REPLACED

# Why a code stopped working as an administrator reads it: the table stores the services' codes (otp.services),
# which are identifiers, not words.
INVALIDATED_REASON_LABELS = {
    REPLACED: _("Replaced by a new code"),
    DELIVERED: _("Package delivered"),
    CANCELLED: _("Package cancelled"),
    NO_SHOW: _("No-show: not collected in time"),
}


def invalidated_reason_label(reason: str) -> str:
    """``reason`` in the reader's language; a code this list does not know (an older version's) as stored."""
    label = INVALIDATED_REASON_LABELS.get(reason)
    return str(label) if label is not None else reason


class InvalidatedReasonFilter(admin.SimpleListFilter):
    """The reasons the services write (``otp.services.pickup_code_invalidate`` and its callers), listed without
    reading the table: Django's filter for a field without choices lists its values with ``SELECT DISTINCT``,
    which reads every code ever issued on each page of the list."""

    title = field_label(PickupCode, "invalidated_reason")
    parameter_name = "invalidated_reason"

    def lookups(self, request, model_admin):
        return [(reason, label) for reason, label in INVALIDATED_REASON_LABELS.items()]

    def queryset(self, request, queryset):
        value = self.value()
        return queryset.filter(invalidated_reason=value) if value else queryset


@admin.register(PickupCode)
class PickupCodeAdmin(StaffSearchMixin, LargeTableAdminMixin, admin.ModelAdmin):
    """Read-only: when a code was issued and how it ended. Neither the code nor its hash is shown."""

    list_display = [
        "id",
        "package",
        "created_at",
        "expires_at",
        "attempts",
        "max_attempts",
        "state",
        "used_at",
        "invalidated_at",
        "invalidated_reason_display",
    ]
    list_filter = [InvalidatedReasonFilter]
    order_path, id_paths = "package__order__", ("package__",)
    list_select_related = ["package__order"]
    fields = [
        "package",
        "created_at",
        "expires_at",
        "attempts",
        "max_attempts",
        "used_at",
        "invalidated_at",
        "invalidated_reason_display",
    ]
    readonly_fields = fields
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=field_label(PickupCode, "invalidated_reason"), ordering="invalidated_reason")
    def invalidated_reason_display(self, obj):
        return invalidated_reason_label(obj.invalidated_reason) if obj.invalidated_reason else ""

    @admin.display(description=_("state"))
    def state(self, obj):
        if obj.used_at:
            return _("used")
        if obj.invalidated_at:
            return _("invalidated")
        if obj.is_locked:
            return _("locked")
        return _("issued")
