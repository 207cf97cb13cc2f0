"""The Celery application (settings namespace CELERY, tasks discovered in every app)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

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
