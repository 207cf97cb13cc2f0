from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("Click & Collect")

    def ready(self) -> None:
        # Registers the tasks the services publish by name after commit (core.queueing), in every process.
        from orders import tasks  # noqa: F401
