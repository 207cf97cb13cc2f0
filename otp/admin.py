from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from otp.models import PickupCode


@admin.register(PickupCode)
class PickupCodeAdmin(admin.ModelAdmin):
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
    list_filter = ["invalidated_reason"]
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
