"""Admin for stores and their staff memberships."""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from orders.admin.common import SafeAutocompleteMixin, name_column
from orders.models import StaffMembership, Store
from orders.selectors import store_member_user_ids, store_ready_package_count


class MembershipFormSet(forms.BaseInlineFormSet):
    """The store's memberships, a user at most once: a second membership of a user is a form error on its row, not
    the database's constraint error. Checked against the stored memberships too, so a posted INITIAL_FORMS lowered
    to make an existing membership look new is refused alike."""

    def initial_form_count(self):
        return max(0, super().initial_form_count())

    def clean(self):
        super().clean()
        kept = {
            form.instance.pk: form.cleaned_data.get("user")
            for form in self.initial_forms
            if form.instance.pk and form.cleaned_data and not self._should_delete_form(form)
        }
        taken = store_member_user_ids(store=self.instance, exclude_membership_ids=kept) if self.instance.pk else set()
        taken |= {user.pk for user in kept.values() if user}
        for form in self.extra_forms:
            user = form.cleaned_data.get("user") if form.has_changed() and form.cleaned_data else None
            if user is None or self._should_delete_form(form):
                continue
            if user.pk in taken:
                form.add_error("user", _("This user already has a membership in this store."))
            taken.add(user.pk)


class MembershipInline(SafeAutocompleteMixin, admin.TabularInline):
    model = StaffMembership
    formset = MembershipFormSet
    extra = 0
    autocomplete_fields = ["user"]

    def get_queryset(self, request):
        # Each row's title is the membership's __str__ (its user and store).
        return super().get_queryset(request).select_related("user", "store")


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    list_display = ["code", "name_sorted", "timezone", "is_active", "ready_count"]
    name_sorted = name_column(Store)
    list_filter = ["is_active", "timezone"]
    search_fields = ["code", "name"]
    inlines = [MembershipInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_ready=store_ready_package_count())

    @admin.display(description=_("ready for pickup"), ordering="_ready")
    def ready_count(self, obj):
        return obj._ready


@admin.register(StaffMembership)
class StaffMembershipAdmin(SafeAutocompleteMixin, admin.ModelAdmin):
    list_display = ["user", "store", "role", "created_at"]
    list_filter = ["role", "store"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "store__code"]
    autocomplete_fields = ["user", "store"]
