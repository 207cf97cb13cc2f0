"""The Celery application (settings namespace CELERY, tasks discovered in every app)."""

import logging
import os

from celery import Celery
from celery.signals import celeryd_init

from config import celery_redis

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
# A worker whose Redis stops while it runs a task must reconnect, not exit (config/celery_redis.py).
celery_redis.use_for_redis_urls()

app = Celery("clickcollect")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def _ensure_filesystem_broker_folders() -> None:
    """kombu's filesystem transport needs its folders to exist before the first publish."""
    from django.conf import settings

    if str(settings.CELERY_BROKER_URL).startswith("filesystem://"):
        for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
            folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get(key)
            if folder:
                os.makedirs(folder, exist_ok=True)


@app.on_after_configure.connect
def _on_after_configure(sender, **kwargs) -> None:
    _ensure_filesystem_broker_folders()


@celeryd_init.connect
def _python_warnings_through_logging(**kwargs) -> None:
    """A worker's Python warnings become log records, JSON lines under ``LOG_FORMAT=json``.

    Celery warns with ``warnings.warn`` (a worker started as root: ``SecurityWarning``) right after this signal and
    before it sets up its own logging, which is when it would route warnings through logging itself; the warning was
    then five plain lines on stderr among the JSON ones, which a collector reading one object per line cannot parse.
    So Django's logging (``LOGGING``) is set up here, and warnings go to the ``py.warnings`` logger from now on.
    """
    import django

    django.setup()
    logging.captureWarnings(True)
