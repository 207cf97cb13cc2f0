from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.appsettings import SPECS, get_spec
from core.errors import ApplicationError


class AppSetting(models.Model):
    """One value of an application setting (SPEC 5): global when ``store`` is empty, else a store override.

    Written only through ``core.services.app_setting_set``/``app_setting_unset`` (admin and the
    ``appsetting`` command use them), which validate the value against its spec.
    """

    key = models.CharField(_("key"), max_length=64, choices=[(key, key) for key in SPECS])
    store = models.ForeignKey(
        "orders.Store",
        verbose_name=_("store"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="setting_overrides",
        help_text=_("Empty for the global value."),
    )
    value = models.JSONField(_("value"))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("application setting")
        verbose_name_plural = _("application settings")
        ordering = ["key", "store__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["key"],
                condition=models.Q(store__isnull=True),
                name="appsetting_one_global_per_key",
                violation_error_message=_("This setting already has a global value; change that one instead."),
            ),
            models.UniqueConstraint(
                fields=["key", "store"],
                condition=models.Q(store__isnull=False),
                name="appsetting_one_per_store",
                violation_error_message=_(
                    "This store already has its own value for this setting; change that one instead."
                ),
            ),
        ]

    def __str__(self) -> str:
        scope = self.store.code if self.store_id else _("global")
        return f"{self.key} ({scope}) = {self.value}"

    def clean(self) -> None:
        try:
            self.value = get_spec(self.key).parse(self.value)
        except ApplicationError as error:
            raise ValidationError({"value": error.message}) from None


class TaskHeartbeat(models.Model):
    """When a periodic task last finished a run (``core.services.task_heartbeat_record``).

    ``/readyz`` reports beat ``stale`` from it (``core.selectors.beat_status``): the no-show sweep's row is written
    by core migration 0004, so ``created_at`` starts the grace period of a fresh install (or of the upgrade that
    brought the check), and ``last_run_at`` is filled in by the sweep's runs.
    """

    task = models.CharField(_("task"), max_length=200, primary_key=True)
    last_run_at = models.DateTimeField(_("last run at"), null=True, blank=True)
    created_at = models.DateTimeField(_("watched since"), auto_now_add=True)

    class Meta:
        verbose_name = _("task heartbeat")
        verbose_name_plural = _("task heartbeats")

    def __str__(self) -> str:
        return self.task
