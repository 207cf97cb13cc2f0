from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, router, transaction
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _

from core.appsettings import SPECS, get_spec, settings_changed
from core.errors import ApplicationError


class AppSettingQuerySet(models.QuerySet):
    """The bulk writes announce themselves as ``save`` does (``settings_changed``, in their own transaction)."""

    def update(self, **kwargs):
        with transaction.atomic(using=self.db):
            rows = super().update(**kwargs)
            if rows:
                settings_changed(using=self.db)
        return rows

    update.alters_data = True

    def bulk_create(self, objs, *args, **kwargs):
        with transaction.atomic(using=self.db):
            created = super().bulk_create(objs, *args, **kwargs)
            if created:
                settings_changed(using=self.db)
        return created

    bulk_create.alters_data = True

    def bulk_update(self, objs, fields, batch_size=None):
        with transaction.atomic(using=self.db):
            rows = super().bulk_update(objs, fields, batch_size=batch_size)
            if rows:
                settings_changed(using=self.db)
        return rows

    bulk_update.alters_data = True


class AppSetting(models.Model):
    """One value of an application setting (SPEC 5): global when ``store`` is empty, else a store override.

    Written through ``core.services`` (admin and the ``appsetting`` command use them), which validate the
    value against its spec. Every write, however it is made (``save``, the queryset's bulk writes, a delete
    or a store's deletion cascading here), replaces the settings' version token in the same transaction
    (``core.appsettings.settings_changed``): that is how every process learns of it before its next request.
    Raw SQL does not; ``manage.py appsetting set`` after such a change announces it.
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

    objects = AppSettingQuerySet.as_manager()

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

    def save(self, *args, **kwargs):
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        with transaction.atomic(using=using):
            super().save(*args, **kwargs)
            settings_changed(using=using)

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


def _deleted(sender, instance, using, origin=None, **kwargs):
    # Any delete (the row's, a queryset's, a store's cascading to its overrides) runs inside Django's deletion
    # transaction, which sends this signal: the announcement commits or rolls back with the delete.
    settings_changed(using=using)


def _loaded(sender, instance, raw, using, **kwargs):
    # ``loaddata`` saves without ``save()`` (raw), inside its own transaction.
    if raw:
        settings_changed(using=using)


post_delete.connect(_deleted, sender=AppSetting, dispatch_uid="core.appsetting_deleted")
post_save.connect(_loaded, sender=AppSetting, dispatch_uid="core.appsetting_loaded")


class AppSettingsVersion(models.Model):
    """One row: the token of the settings' last change (``core.appsettings``), replaced in the transaction of every
    write to ``AppSetting``, and when that was. Written only by ``core.appsettings.settings_changed``."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    token = models.CharField(_("token"), max_length=32)
    changed_at = models.DateTimeField(_("changed at"), auto_now=True)

    class Meta:
        verbose_name = _("application settings version")
        verbose_name_plural = _("application settings versions")

    def __str__(self) -> str:
        return f"{self.token} ({self.changed_at:%Y-%m-%d %H:%M:%S})"


class IdempotencyStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")


class IdempotencyRecord(models.Model):
    """A POST sent with an ``Idempotency-Key`` (SPEC 14): the first answer, kept 24 hours for the same caller and
    key (``core.idempotency``). The unique (user, key) pair is what makes two parallel requests do the work once:
    the second one's insert fails and it waits for the first one's answer. Holds the answer's body as sent, which
    never contains a pickup code (the API's answers never do)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField(_("idempotency key"), max_length=255)
    fingerprint = models.CharField(_("request fingerprint"), max_length=64)
    status = models.CharField(_("status"), max_length=16, choices=IdempotencyStatus.choices)
    response_status = models.PositiveSmallIntegerField(_("response status"), null=True)
    response_body = models.TextField(_("response body"), blank=True)
    response_content_type = models.CharField(_("response content type"), max_length=100, blank=True)
    response_location = models.CharField(_("response location"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"))
    expires_at = models.DateTimeField(_("expires at"), db_index=True)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_one_per_user_key")]

    def __str__(self) -> str:
        return f"{self.key} ({self.get_status_display()})"
