from django.apps import AppConfig
from django.core.signals import request_finished
from django.db.backends.signals import connection_created
from django.utils.translation import gettext_lazy as _


def register_sqlite_collations(sender, connection, **kwargs):
    """SQLite has no Turkish collation: give every SQLite connection the one PostgreSQL's ICU has, by the same
    name, so that a list sorted by name is in Turkish order on both (``core.text.TURKISH_COLLATION``)."""
    if connection.vendor == "sqlite":
        from core.text import TURKISH_COLLATION, turkish_collate

        connection.connection.create_collation(TURKISH_COLLATION, turkish_collate)


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = _("Configuration")

    def ready(self):
        connection_created.connect(register_sqlite_collations, dispatch_uid="core.sqlite_collations")
        from core.lookups import register_integer_in_lookup, register_year_lookups

        register_year_lookups()
        register_integer_in_lookup()
        connect_settings_units()
        request_finished.connect(forget_request_id, dispatch_uid="core.forget_request_id")
        from core import changelist

        changelist.install()  # every admin list answers ?e=1 for a value the database refuses, never a 500


def forget_request_id(sender, **kwargs):
    """The request's X-Request-Id (``core.middleware.RequestIdMiddleware``) leaves the log lines with it."""
    from core.logging import current_request_id

    current_request_id.set(None)


def connect_settings_units():
    """Each request and each Celery task checks once that the process's application settings are current
    (``core.appsettings``): on its first read, and reads the same values to its end."""
    from celery.signals import task_postrun, task_prerun
    from django.core.signals import request_finished, request_started

    from core.appsettings import unit_begin, unit_end

    request_started.connect(unit_begin, dispatch_uid="core.settings_unit_request_started")
    request_finished.connect(unit_end, dispatch_uid="core.settings_unit_request_finished")
    task_prerun.connect(unit_begin, dispatch_uid="core.settings_unit_task_prerun", weak=False)
    task_postrun.connect(unit_end, dispatch_uid="core.settings_unit_task_postrun", weak=False)
