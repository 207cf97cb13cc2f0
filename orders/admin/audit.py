"""Admin for the audit trail: read-only, its coded columns shown in the reader's language."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from core.admin import LargeTableAdminMixin, ReadOnlyAdminMixin, field_label
from core.errors import DEFAULT_MESSAGES
from orders.admin.common import store_local_display
from orders.admin.search import StaffSearchMixin
from orders.commands import COMMANDS, reason_label, status_label
from orders.models import AuditRecord
from orders.selectors import audit_records_by_actor_name

# What an audit record says, in the package page's inline and in the audit list. The record stores stable
# codes (statuses, commands, error codes, system reasons); these columns show them in the reader's language.
AUDIT_COLUMNS = [
    "created_at_local",
    "kind",
    "outcome",
    "error_display",
    "command_display",
    "from_status_display",
    "to_status_display",
    "manual",
    "collected_by",
]


class AuditDisplayMixin:
    """The audit record's coded columns as a person reads them, for the inline and the audit pages; its time in the
    store's zone, like the package's."""

    created_at_local = store_local_display(AuditRecord, "created_at")

    @admin.display(description=field_label(AuditRecord, "error_code"), ordering="error_code")
    def error_display(self, obj):
        if not obj.error_code:
            return ""
        message = DEFAULT_MESSAGES.get(obj.error_code)
        # The code stays visible: it is what the API answered and what support searches for.
        return f"{message} ({obj.error_code})" if message is not None else obj.error_code

    @admin.display(description=field_label(AuditRecord, "command"), ordering="command")
    def command_display(self, obj):
        command = COMMANDS.get(obj.command)
        return command.name if command is not None else obj.command

    @admin.display(description=field_label(AuditRecord, "from_status"), ordering="from_status")
    def from_status_display(self, obj):
        return status_label(obj.from_status)

    @admin.display(description=field_label(AuditRecord, "to_status"), ordering="to_status")
    def to_status_display(self, obj):
        return status_label(obj.to_status)

    @admin.display(description=field_label(AuditRecord, "reason"), ordering="reason")
    def reason_display(self, obj):
        return reason_label(obj.reason)


class AuditInline(AuditDisplayMixin, ReadOnlyAdminMixin, admin.TabularInline):
    model = AuditRecord
    fk_name = "package"
    extra = 0
    # Without the record's title over each row: it repeats the columns, with the time in UTC.
    template = "admin/orders/auditrecord/tabular_untitled.html"
    fields = [*AUDIT_COLUMNS, "actor", "channel", "reason_display"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("store", "actor")


@admin.register(AuditRecord)
class AuditRecordAdmin(StaffSearchMixin, LargeTableAdminMixin, AuditDisplayMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    order_path, id_paths = "package__order__", ("package__",)
    list_display = [*AUDIT_COLUMNS, "actor_display", "channel", "store", "package"]
    fields = [*AUDIT_COLUMNS, "actor", "channel", "store", "package", "reason_display"]
    readonly_fields = fields
    list_filter = ["kind", "outcome", "channel", "manual", "store"]
    search_parts_help = (_("user name"),)
    # The package column shows its order number.
    list_select_related = ["actor", "store", "package__order"]
    date_hierarchy = "created_at"

    def search_parts(self, term):
        # What a user did: their records by the actor's index (the users are few).
        return [audit_records_by_actor_name(term=term)]

    @admin.display(description=_("user"))
    def actor_display(self, obj):
        return obj.actor_display
