"""``manage.py appsetting``: application settings (SPEC 5) from the command line.

In ``orders`` rather than ``core``, which holds the settings: ``--store`` names a store, and ``core`` imports no
app (pyproject.toml's import contracts).
"""

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from core.appsettings import SPECS, get_setting, get_spec
from core.errors import ApplicationError
from core.models import AppSetting
from core.services import app_setting_set, app_setting_unset
from orders.models import Store


class Command(BaseCommand):
    help = (
        "Application settings (SPEC 5): list | get KEY | set KEY VALUE | unset KEY, globally or with --store CODE. "
        "A change is in force in every web and worker process from its next request or task."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["list", "get", "set", "unset"])
        parser.add_argument("key", nargs="?")
        parser.add_argument("value", nargs="?")
        parser.add_argument("--store", help="store code for a per-store override")

    def handle(self, *args, action, key, value, store, **options):
        store_obj = self._store(store) if store else None
        known = f"Known keys: {', '.join(SPECS)}"
        try:
            if action == "list":
                return self._list(store_obj)
            if not key:
                raise CommandError(f"'{action}' needs a KEY. {known}")
            spec = get_spec(key)
            if action == "get":
                self.stdout.write(spec.render(get_setting(spec.key, store_obj)))
            elif action == "set":
                if value is None:
                    raise CommandError("'set' needs a VALUE.")
                setting = app_setting_set(key=spec.key, value=value, store=store_obj)
                self.stdout.write(
                    f"{spec.key} = {spec.render(setting.value)} ({store_obj.code if store_obj else 'global'})"
                )
            else:
                removed = app_setting_unset(key=spec.key, store=store_obj)
                self.stdout.write(
                    f"{spec.key}: {'removed' if removed else 'nothing to remove'} ({store_obj.code if store_obj else 'global'}); "
                    f"now {spec.render(get_setting(spec.key, store_obj))}"
                )
        except ApplicationError as error:
            raise CommandError(f"{error.message} {known}" if "known" in error.details else str(error.message)) from None

    def _store(self, code):
        """The store with ``code``, whatever its case, as the staff pages' store switcher finds it (codes are
        unique ignoring case)."""
        store = Store.objects.filter(code__iexact=code).first()
        if store is None:
            raise CommandError(f"No store has the code {code!r}.")
        return store

    def _list(self, store):
        stored = set(AppSetting.objects.filter(Q(store=None) | Q(store=store)).values_list("key", "store"))
        for key, spec in SPECS.items():
            if store and (key, store.pk) in stored:
                source = "store"
            else:
                source = "global" if (key, None) in stored else "default"
            self.stdout.write(f"{key:32} {spec.render(get_setting(key, store)):24} ({source})")
