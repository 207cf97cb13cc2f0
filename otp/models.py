from django.db import models
from django.utils.translation import gettext_lazy as _

# A current code: neither used nor invalidated (it may still be expired or locked). At most one per package.
CURRENT = models.Q(used_at__isnull=True, invalidated_at__isnull=True)


class PickupCodeQuerySet(models.QuerySet):
    def current(self) -> "PickupCodeQuerySet":
        return self.filter(CURRENT)


class PickupCode(models.Model):
    """One issued pickup code (SPEC 4). Only its keyed hash is stored, never the code."""

    package = models.ForeignKey(
        "orders.Package", verbose_name=_("package"), on_delete=models.CASCADE, related_name="pickup_codes"
    )
    code_hash = models.CharField(_("code hash"), max_length=64, editable=False)
    created_at = models.DateTimeField(_("issued at"), db_index=True)
    expires_at = models.DateTimeField(_("expires at"))
    attempts = models.PositiveSmallIntegerField(_("wrong entries"), default=0)
    max_attempts = models.PositiveSmallIntegerField(_("allowed wrong entries"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    invalidated_at = models.DateTimeField(_("invalidated at"), null=True, blank=True)
    invalidated_reason = models.CharField(_("invalidated because"), max_length=32, blank=True)

    objects = PickupCodeQuerySet.as_manager()

    class Meta:
        verbose_name = _("pickup code")
        verbose_name_plural = _("pickup codes")
        ordering = ["-created_at", "-id"]
        constraints = [
            # At most one code of a package is current (neither used nor invalidated).
            models.UniqueConstraint(
                fields=["package"],
                condition=CURRENT,
                name="pickupcode_one_current_per_package",
            )
        ]

    def __str__(self) -> str:
        return f"{_('Pickup code')} #{self.pk}"

    @property
    def is_locked(self) -> bool:
        return self.attempts >= self.max_attempts

    @property
    def attempts_remaining(self) -> int:
        return max(self.max_attempts - self.attempts, 0)

    def is_expired(self, now) -> bool:
        # Valid strictly before expires_at: at the second of expiry it is refused (SPEC 4).
        return now >= self.expires_at
