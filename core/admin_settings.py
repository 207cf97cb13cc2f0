"""Admin's application-settings screen (SPEC 5): for the global scope or one store, every key with the value in
force, where it comes from (default, global, store) and what it means, edited with a widget of its type.

It is ``AppSettingAdmin``'s list page (``core.admin``); the stored rows themselves stay listed under ``stored/``.
Values are checked by the settings' own rules (``SettingSpec.parse``) and saved by one service call
(``app_settings_save``), all of a scope's changes in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.appsettings import CHANNELS, SPECS, SettingSpec
from core.errors import ApplicationError
from core.models import AppSetting, AppSettingsVersion
from core.services import app_settings_save

CHANNEL_LABELS = {"sms": _("SMS"), "email": _("E-mail"), "push": _("Push")}
SOURCE_LABELS = {"default": _("default"), "global": _("global"), "store": _("store")}
# How many of the stores with their own value the global screen names, per key, before "and N more".
STORES_NAMED = 5


def _store_model():
    # The store model through the relation: core imports no app above it.
    return AppSetting._meta.get_field("store").related_model


def settings_scope(request) -> Any:
    """The store the screen is about (``?store=CODE``, any case), or None for the global scope. A code no store has,
    or text that cannot be a code, is a 404."""
    code = request.GET.get("store", "")
    if not code:
        return None
    store_model = _store_model()
    try:
        # The code field's own validators first: text no code can be (a NUL byte PostgreSQL refuses) finds nothing.
        store_model._meta.get_field("code").run_validators(code)
    except ValidationError:
        raise Http404 from None
    store = store_model.objects.filter(code__iexact=code).first()
    if store is None:
        raise Http404
    return store


def show_value(spec: SettingSpec, value: Any) -> str:
    """A value as the screen writes it: Yes/No, a number, the channels' names."""
    if spec.kind == "bool":
        return gettext("Yes") if value else gettext("No")
    if spec.kind == "channels":
        return ", ".join(str(CHANNEL_LABELS.get(channel, channel)) for channel in value)
    return str(value)


def allowed_text(spec: SettingSpec) -> str:
    if spec.kind == "bool":
        return gettext("Yes or no.")
    if spec.kind == "channels":
        return gettext("One or more of: %(channels)s.") % {
            "channels": ", ".join(str(CHANNEL_LABELS[channel]) for channel in CHANNELS)
        }
    return gettext("A whole number from %(min)s to %(max)s.") % {"min": spec.min_value, "max": spec.max_value}


@dataclass
class SettingRow:
    spec: SettingSpec
    value: Any  # in force in the scope
    source: str  # "default" | "global" | "store"
    inherited: Any  # what holds without the scope's own value: the global value (a store) or the default (global)
    inherited_source: str
    global_value: Any
    stored_here: bool
    overriding_stores: list[str]
    overriding_count: int

    @property
    def key(self) -> str:
        return self.spec.key

    @property
    def source_label(self) -> str:
        return str(SOURCE_LABELS[self.source])

    @property
    def value_text(self) -> str:
        return show_value(self.spec, self.value)

    @property
    def inherited_text(self) -> str:
        return show_value(self.spec, self.inherited)

    @property
    def inherited_source_label(self) -> str:
        return str(SOURCE_LABELS[self.inherited_source])

    @property
    def default_text(self) -> str:
        return show_value(self.spec, self.spec.default)

    @property
    def allowed(self) -> str:
        return allowed_text(self.spec)


def setting_rows(store: Any) -> list[SettingRow]:
    """Every key of the registry for the scope, read from the table (not the process snapshot: the screen shows
    what is stored right now, with one query, two for the global scope)."""
    stored = {}
    for key, value in AppSetting.objects.filter(store__isnull=True).values_list("key", "value"):
        stored[(key, None)] = value
    if store is not None:
        for key, value in AppSetting.objects.filter(store=store).values_list("key", "value"):
            stored[(key, "store")] = value
    overriding: dict[str, list[str]] = {}
    if store is None:
        for key, code in (
            AppSetting.objects.filter(store__isnull=False).order_by("store__code").values_list("key", "store__code")
        ):
            overriding.setdefault(key, []).append(code)
    rows = []
    for key, spec in SPECS.items():
        has_global = (key, None) in stored
        global_value = stored.get((key, None), spec.default)
        if store is None:
            inherited, inherited_source = spec.default, "default"
            stored_here = has_global
        else:
            inherited, inherited_source = global_value, ("global" if has_global else "default")
            stored_here = (key, "store") in stored
        if stored_here:
            value, source = stored[(key, None if store is None else "store")], ("global" if store is None else "store")
        else:
            value, source = inherited, inherited_source
        codes = overriding.get(key, [])
        rows.append(
            SettingRow(
                spec=spec,
                value=value,
                source=source,
                inherited=inherited,
                inherited_source=inherited_source,
                global_value=global_value,
                stored_here=stored_here,
                overriding_stores=codes[:STORES_NAMED],
                overriding_count=len(codes),
            )
        )
    return rows


def _value_field(spec: SettingSpec, disabled: bool) -> forms.Field:
    label = spec.key
    if spec.kind == "bool":
        return forms.BooleanField(label=label, required=False, disabled=disabled)
    if spec.kind == "channels":
        return forms.MultipleChoiceField(
            label=label,
            required=False,
            disabled=disabled,
            choices=[(channel, CHANNEL_LABELS[channel]) for channel in CHANNELS],
            widget=forms.CheckboxSelectMultiple,
        )
    # Text checked by the setting's own rule (ASCII digits, its range): IntegerField would take other scripts' digits.
    attrs = {"min": spec.min_value, "max": spec.max_value, "step": 1, "inputmode": "numeric"}
    return forms.CharField(
        label=label, required=False, disabled=disabled, strip=True, max_length=20, widget=forms.NumberInput(attrs)
    )


class ScopeSettingsForm(forms.Form):
    """Two fields per key: ``<KEY>-set`` (the scope has its own value) and ``<KEY>`` (that value), and the key itself
    in ``keys``. A posted key without "Set here" removes the scope's own value."""

    def __init__(self, *args, rows: list[SettingRow], disabled: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.rows = rows
        for row in rows:
            self.fields[f"{row.key}-set"] = forms.BooleanField(
                label=_("Set here"), required=False, disabled=disabled, initial=row.stored_here
            )
            field = _value_field(row.spec, disabled)
            field.initial = row.spec.render(row.value) if row.spec.kind == "int" else row.value
            self.fields[row.key] = field

    def clean(self):
        cleaned = super().clean()
        self.values: dict[str, Any] = {}
        # Only the keys the page posted (each row sends its key): a partial form leaves the others as they are.
        posted = set(self.data.getlist("keys")) if hasattr(self.data, "getlist") else set()
        for row in self.rows:
            key = row.key
            if key not in posted or self.has_error(key):
                continue
            if cleaned.get(f"{key}-set"):
                try:
                    self.values[key] = row.spec.parse(cleaned.get(key))
                except ApplicationError as error:
                    self.add_error(key, str(error.message))
            elif key in self.changed_data:
                # A value changed without "Set here": saying nothing would drop it silently.
                self.add_error(key, _("Tick “Set here” to use this value; otherwise the inherited value holds."))
            else:
                self.values[key] = None
        return cleaned

    def bound_rows(self):
        return [(row, self[f"{row.key}-set"], self[row.key]) for row in self.rows]


def may_edit_settings(model_admin, request) -> bool:
    """Saving a scope adds, changes and removes rows: it takes all three permissions."""
    return (
        model_admin.has_add_permission(request)
        and model_admin.has_change_permission(request)
        and model_admin.has_delete_permission(request)
    )


def settings_screen_view(model_admin, request):
    if not model_admin.has_view_or_change_permission(request):
        raise PermissionDenied
    store = settings_scope(request)
    editable = may_edit_settings(model_admin, request)
    if request.method == "POST" and not editable:
        raise PermissionDenied
    rows = setting_rows(store)
    form = ScopeSettingsForm(request.POST if request.method == "POST" else None, rows=rows, disabled=not editable)
    if request.method == "POST" and form.is_valid():
        try:
            changed = app_settings_save(store=store, values=form.values)
        except ApplicationError as error:
            form.add_error(None, str(error.message))
        else:
            if changed:
                model_admin.message_user(
                    request,
                    gettext("Saved: %(keys)s. In force from the next request or task of every process.")
                    % {"keys": ", ".join(changed)},
                    messages.SUCCESS,
                )
            else:
                model_admin.message_user(request, gettext("Nothing changed."), messages.INFO)
            return HttpResponseRedirect(request.get_full_path())
    stores = _store_model().objects.order_by("code").values_list("code", "name", "is_active")
    version = AppSettingsVersion.objects.filter(pk=1).values_list("changed_at", flat=True).first()
    retired = AppSetting.objects.exclude(key__in=list(SPECS)).count()
    opts = model_admin.model._meta
    context = {
        **model_admin.admin_site.each_context(request),
        "title": _("Application settings"),
        "subtitle": store.code if store is not None else _("Global"),
        "opts": opts,
        "app_label": opts.app_label,
        "store": store,
        "stores": stores,
        "form": form,
        "editable": editable,
        "last_change": version,
        "retired": retired,
        "stored_url": reverse("admin:core_appsetting_stored"),
        "media": model_admin.media + form.media,
    }
    return TemplateResponse(request, "admin/core/appsetting/settings_screen.html", context)
