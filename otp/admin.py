from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from core.admin import LargeTableAdminMixin, field_label
from orders.admin import StaffSearchMixin
from orders.commands import NO_SHOW
from otp.models import PickupCode
from otp.services import CANCELLED, DELIVERED, REPLACED


class InvalidatedReasonFilter(admin.SimpleListFilter):
    """The reasons the services write (``otp.services.pickup_code_invalidate`` and its callers), listed without
    reading the table: Django's filter for a field without choices lists its values with ``SELECT DISTINCT``,
    which reads every code ever issued on each page of the list."""

    title = field_label(PickupCode, "invalidated_reason")
    parameter_name = "invalidated_reason"
    REASONS = (REPLACED, DELIVERED, CANCELLED, NO_SHOW)

    def lookups(self, request, model_admin):
        return [(reason, reason) for reason in self.REASONS]

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
        "invalidated_reason",
    ]
    list_filter = [InvalidatedReasonFilter]
    order_path, id_paths = "package__order__", ("package__",)
    search_fields = ["package__id", "package__order__order_number"]
    list_select_related = ["package__order"]
    fields = [
        "package",
        "created_at",
        "expires_at",
        "attempts",
        "max_attempts",
        "used_at",
        "invalidated_at",
        "invalidated_reason",
    ]
    readonly_fields = fields
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("state"))
    def state(self, obj):
        if obj.used_at:
            return _("used")
        if obj.invalidated_at:
            return _("invalidated")
        if obj.is_locked:
            return _("locked")
        return _("issued")
