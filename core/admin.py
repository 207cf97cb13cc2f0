from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from core import admin_thirdparty  # noqa: F401  (django_celery_beat's and django-axes' admins, translated)
from core.appsettings import SPECS, get_spec, invalidate_cache
from core.models import AppSetting
from core.services import app_setting_set


class ReadOnlyAdminMixin:
    """For rows the application alone writes (audit, outbox, intake): visible, never added, changed or deleted
    through admin."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def field_label(model, name):
    """A model field's verbose name (translated when shown): a column or form field made by hand reads as Django's own."""
    return model._meta.get_field(name).verbose_name


# The product's name in the header and the browser tab, in the administrator's language (not "Django administration").
admin.site.site_header = _("Click & Collect administration")
admin.site.site_title = _("Click & Collect administration")
admin.site.index_title = _("Stores, staff, customers, packages and settings")


class AppSettingForm(forms.ModelForm):
    value = forms.CharField(
        label=_("value"), help_text=_("true/false, a whole number, or channels such as sms,email,push.")
    )

    class Meta:
        model = AppSetting
        fields = ["key", "store", "value"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["value"] = get_spec(self.instance.key).render(self.instance.value)

    # The value is parsed and checked once, by AppSetting.clean (the model's validation runs after the form's):
    # parsing here too said a refused value twice, the second time as "not None".

    def _post_clean(self):
        # A key or value the form already refused (unknown key, empty value) would reach AppSetting.clean as ""
        # or None and be refused a second time ("Unknown setting .", "must be a whole number, not None").
        if self.has_error("key") or self.has_error("value"):
            return
        super()._post_clean()


@admin.register(AppSetting)
class AppSettingAdmin(admin.ModelAdmin):
    form = AppSettingForm
    list_display = ["key", "scope", "value", "default", "updated_at"]
    list_filter = ["key", "store"]
    search_fields = ["key", "store__code"]

    @admin.display(description=_("scope"))
    def scope(self, obj):
        return obj.store.code if obj.store_id else _("global")

    @admin.display(description=_("default"))
    def default(self, obj):
        return SPECS[obj.key].render(SPECS[obj.key].default)

    def get_readonly_fields(self, request, obj=None):
        return ["key", "store"] if obj else []

    def save_model(self, request, obj, form, change):
        # Through the service, which validates and clears this process's cache at once.
        saved = app_setting_set(key=obj.key, value=obj.value, store=obj.store)
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        invalidate_cache()
