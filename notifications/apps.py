from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications and webhooks")

    def ready(self) -> None:
        from notifications.checks import check_notification_backends

        checks.register(check_notification_backends, "notifications")
        # Registers the tasks the services publish by name after commit (core.queueing), in every process.
        from notifications import tasks  # noqa: F401
