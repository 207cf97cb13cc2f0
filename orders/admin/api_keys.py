"""Admin for API keys (SPEC 14): made here (the key is shown once, in the message after saving), listed with their
prefix, scopes, stores, expiry and last use, revoked by an action. Only a key's name and expiry can be changed
afterwards; a key is revoked, never deleted (its user stays in the audit trail)."""

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core.errors import ApplicationError
from orders import services
from orders.models import ApiKey, ApiKeyScope, StaffRole
from orders.selectors import api_keys_with_stores, stores_active


class ApiKeyAddForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        label=_("scopes"), choices=ApiKeyScope.choices, widget=forms.CheckboxSelectMultiple
    )
    stores = forms.ModelMultipleChoiceField(
        label=_("stores"),
        queryset=None,
        required=False,
        help_text=_("A POS key: the stores it works for. None: the order system's key (orders only)."),
    )
    role = forms.ChoiceField(
        label=_("role"),
        choices=StaffRole.choices,
        initial=StaffRole.EMPLOYEE,
        help_text=_("In its stores, as for a member of staff: only a manager's key may cancel packages."),
    )

    class Meta:
        model = ApiKey
        fields = ["name", "expires_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stores"].queryset = stores_active()

    def clean(self):
        cleaned = super().clean()
        try:
            services.api_key_validate(
                scopes=cleaned.get("scopes") or [], stores=cleaned.get("stores") or [], role=cleaned.get("role", "")
            )
        except ApplicationError as error:
            for field, errors in error.details["fields"].items():
                self.add_error(field, errors)
        return cleaned


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "scope_list", "store_list", "created_at", "expires_at", "last_used_at", "state"]
    list_filter = ["revoked_at", "expires_at"]
    search_fields = ["name", "prefix"]
    actions = ["revoke"]
    readonly_fields = ["prefix", "scope_list", "store_list", "created_at", "last_used_at", "revoked_at", "state"]

    def get_queryset(self, request):
        return api_keys_with_stores()

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ApiKeyAddForm
            kwargs["fields"] = ["name", "scopes", "stores", "role", "expires_at"]
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "scopes", "stores", "role", "expires_at"]
        return ["name", "prefix", "scope_list", "store_list", "created_at", "expires_at", "last_used_at", "state"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        created, plaintext = services.api_key_create(
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            stores=form.cleaned_data["stores"],
            role=form.cleaned_data["role"],
            expires_at=form.cleaned_data.get("expires_at"),
        )
        obj.__dict__.update({key: value for key, value in created.__dict__.items() if key != "_state"})
        obj._state.adding, obj._state.db = False, created._state.db
        messages.warning(
            request,
            format_html(
                _("The key of “{name}” is <code>{key}</code>. Copy it now: it is not shown again."),
                name=created.name,
                key=plaintext,
            ),
        )

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead: the key's user stays in the audit trail

    @admin.display(description=_("scopes"))
    def scope_list(self, obj):
        return ", ".join(obj.scopes)

    @admin.display(description=_("stores"))
    def store_list(self, obj):
        stores = [membership.store.code for membership in obj.user.memberships.all()]
        return ", ".join(stores) if stores else _("none (order system)")

    @admin.display(description=_("state"))
    def state(self, obj):
        if obj.revoked_at is not None:
            return _("revoked")
        if obj.is_expired():
            return _("expired")
        return _("active")

    @admin.action(description=_("Revoke the selected API keys (at once)"), permissions=["change"])
    def revoke(self, request, queryset):
        revoked = sum(services.api_key_revoke(api_key=api_key) for api_key in queryset)
        self.message_user(
            request,
            ngettext("%(count)d API key revoked.", "%(count)d API keys revoked.", revoked) % {"count": revoked},
            messages.SUCCESS,
        )
