"""Admin for orders, packages and their items: read-only records of order intake; packages change only
through their two actions (resend the code, cancel with a reason), which call the services."""

from django import forms
from django.contrib import admin, messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _

from core.admin import LargeTableAdminMixin, ReadOnlyAdminMixin
from core.errors import ApplicationError
from orders import services
from orders.admin.audit import AuditInline
from orders.admin.common import store_local_display
from orders.admin.search import StaffSearchMixin
from orders.models import Channel, Order, Package, PackageItem
from orders.selectors import package_items_matching


class IntakeRecordMixin(ReadOnlyAdminMixin):
    """Orders, packages and their items come from order intake and change only through the package commands (the
    actions, audited): editing the order's customer in admin would send the next code to another phone, and no page
    may add, edit or delete them silently. Cancelling is how a package leaves."""


class PackageItemInline(IntakeRecordMixin, admin.TabularInline):
    model = PackageItem
    extra = 0


class PackageInline(IntakeRecordMixin, admin.TabularInline):
    model = Package
    extra = 0
    fields = ["id", "store", "status", "ready_expires_at_local", "delivered_at_local", "cancelled_at_local"]
    readonly_fields = fields
    show_change_link = True

    ready_expires_at_local = store_local_display(Package, "ready_expires_at")
    delivered_at_local = store_local_display(Package, "delivered_at")
    cancelled_at_local = store_local_display(Package, "cancelled_at")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("store")


@admin.register(Order)
class OrderAdmin(StaffSearchMixin, LargeTableAdminMixin, IntakeRecordMixin, admin.ModelAdmin):
    customer_path, order_path, id_paths = "customer__", "", ("",)
    list_display = ["order_number", "customer", "store", "status", "created_at_local"]
    list_filter = ["status", "store"]
    fields = [
        "id",
        "order_number",
        "customer",
        "pickup_person",
        "store",
        "delivery_type",
        "status",
        "created_at_local",
        "updated_at_local",
    ]
    readonly_fields = fields
    list_select_related = ["customer", "store"]
    inlines = [PackageInline]

    @admin.display(description=_("pickup person"))
    def pickup_person(self, obj):
        return pickup_person_text(obj)

    created_at_local = store_local_display(Order, "created_at")
    updated_at_local = store_local_display(Order, "updated_at")


def pickup_person_text(order) -> str:
    """Who else may collect (SPEC 13): the name and the phone masked, as the staff pages and the API show it."""
    if not order.pickup_person_phone:
        return "-"
    return f"{order.pickup_person_name} ({order.pickup_person_phone_masked})"


class CancelPackagesForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=255)


@admin.register(Package)
class PackageAdmin(StaffSearchMixin, LargeTableAdminMixin, admin.ModelAdmin):
    customer_path, order_path, id_paths = "order__customer__", "order__", ("",)
    list_display = ["short_id", "order", "store", "status", "ready_at_local", "ready_expires_at_local", "customer_tier"]
    list_filter = ["status", "store"]
    list_select_related = ["order__customer", "store"]
    date_hierarchy = "created_at"
    # State moves only through commands (the actions below), never by editing fields.
    # Times in the store's zone, as on the staff pages and in the customer's messages (store_local).
    fields = [
        "id",
        "order",
        "pickup_person",
        "store",
        "status",
        "checked_in_at_local",
        "on_my_way_at_local",
        "on_my_way_minutes",
        "ready_at_local",
        "ready_expires_at_local",
        "reminder_sent_at_local",
        "delivered_at_local",
        "cancelled_at_local",
        "cancellation_reason",
        "created_at_local",
        "updated_at_local",
    ]
    readonly_fields = fields
    inlines = [PackageItemInline, AuditInline]
    actions = ["resend_code", "cancel_packages"]
    ready_at_local = store_local_display(Package, "ready_at")
    ready_expires_at_local = store_local_display(Package, "ready_expires_at")
    reminder_sent_at_local = store_local_display(Package, "reminder_sent_at")
    delivered_at_local = store_local_display(Package, "delivered_at")
    cancelled_at_local = store_local_display(Package, "cancelled_at")
    created_at_local = store_local_display(Package, "created_at")
    updated_at_local = store_local_display(Package, "updated_at")
    checked_in_at_local = store_local_display(Package, "checked_in_at")
    on_my_way_at_local = store_local_display(Package, "on_my_way_at")

    @admin.display(description=_("pickup person"))
    def pickup_person(self, obj):
        return pickup_person_text(obj.order)

    def has_add_permission(self, request):
        return False  # packages come from order intake

    def has_delete_permission(self, request, obj=None):
        return False  # cancelled (an action, audited), never deleted

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # Every field is read-only (the change permission is for the actions), so there is nothing to save.
        no_save = {"show_save": False, "show_save_and_continue": False, "show_save_and_add_another": False}
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **no_save})

    @admin.display(description=_("package"))
    def short_id(self, obj):
        return str(obj.pk)[:8]

    @admin.display(description=_("trust tier"))
    def customer_tier(self, obj):
        return obj.order.customer.get_trust_tier_display()

    @admin.action(description=_("Resend pickup code"), permissions=["change"])
    def resend_code(self, request, queryset):
        done = 0
        for package in queryset:
            try:
                services.package_resend_code(package=package, actor=request.user, channel=Channel.ADMIN)
                done += 1
            except ApplicationError as error:
                self.message_user(request, f"{package.order.order_number}: {error.message}", messages.ERROR)
        if done:
            self.message_user(request, _("A new code was sent for %(count)d package(s).") % {"count": done})

    @admin.action(description=_("Cancel packages (with a reason)"), permissions=["change"])
    def cancel_packages(self, request, queryset):
        form = CancelPackagesForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            done = 0
            for package in queryset:
                try:
                    services.package_cancel(
                        package=package, actor=request.user, channel=Channel.ADMIN, reason=form.cleaned_data["reason"]
                    )
                    done += 1
                except ApplicationError as error:
                    self.message_user(request, f"{package.order.order_number}: {error.message}", messages.ERROR)
            if done:
                self.message_user(request, _("%(count)d package(s) cancelled.") % {"count": done})
            return redirect(request.get_full_path())
        return render(
            request,
            "admin/orders/package/cancel.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Cancel packages"),
                "packages": queryset,
                "form": form,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                "opts": self.model._meta,
            },
        )


@admin.register(PackageItem)
class PackageItemAdmin(StaffSearchMixin, LargeTableAdminMixin, IntakeRecordMixin, admin.ModelAdmin):
    order_path = "package__order__"
    list_display = ["sku", "name", "quantity", "package"]
    search_parts_help = (_("SKU or item name"),)
    list_select_related = ["package__order"]

    def search_parts(self, term):
        # No index: the items are read in full (a rarely used list; the order number part is indexed).
        return [package_items_matching(term=term)]
