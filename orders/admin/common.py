"""What the orders app's admin pages share: an autocomplete that survives a malformed value, times in the
store's zone, and names sorted in Turkish alphabetical order."""

from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import ValidationError
from django.db.models.functions import Collate
from django.utils import formats, timezone

from core.admin import field_label
from core.text import TURKISH_COLLATION


class SafeAutocompleteSelect(AutocompleteSelect):
    """Django's autocomplete widget, showing a refused form again with only the submitted values its key can hold:
    another ("abc" for a user's integer id) is left out of the lookup, and the form says "Select a valid choice"."""

    def optgroups(self, name, value, attr=None):
        remote_opts = self.field.remote_field.model._meta
        key = remote_opts.get_field(getattr(self.field.remote_field, "field_name", remote_opts.pk.attname))

        def usable(raw):
            try:
                key.get_prep_value(key.to_python(raw))
            except (ValueError, TypeError, ValidationError):
                return False
            return True

        return super().optgroups(name, [raw for raw in value if usable(raw)], attr)


class SafeAutocompleteMixin:
    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = SafeAutocompleteSelect(db_field, self.admin_site, using=kwargs.get("using"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


def store_local(value, store):
    """A package's time as the store's staff pages and the customer's messages give it: in the store's time zone,
    which is named (the rest of admin shows UTC)."""
    zone = store.zone
    local = timezone.localtime(value, zone)
    return f"{formats.localize(local)} ({getattr(zone, 'key', 'UTC')})"


def store_local_display(model, field_name):
    """An admin column or read-only field showing ``model.field_name`` with ``store_local`` (the row's ``store``)."""

    @admin.display(description=field_label(model, field_name), ordering=field_name)
    def display(self, obj):
        value = getattr(obj, field_name)
        return self.get_empty_value_display() if value is None else store_local(value, obj.store)

    display.__name__ = f"{field_name}_local"
    return display


def name_column(model):
    """The ``name`` column of ``model``'s list, sorted in Turkish alphabetical order (``core.text``): by the field
    itself the database compares code points, which puts Ç, İ, Ö, Ş, Ü and every lower-case initial after Z."""

    @admin.display(description=field_label(model, "name"), ordering=Collate("name", TURKISH_COLLATION))
    def name_sorted(self, obj):
        return obj.name

    return name_sorted
