import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

CODE_MASK = "******"


class MessageChannel(models.TextChoices):
    SMS = "sms", _("SMS")
    EMAIL = "email", _("E-mail")
    PUSH = "push", _("Push")


class MessageEvent(models.TextChoices):
    READY_FOR_PICKUP = "ready_for_pickup", _("Ready for pickup")
    CODE_RESENT = "code_resent", _("Code resent")
    PICKUP_REMINDER = "pickup_reminder", _("Pickup reminder")
    PICKED_UP = "picked_up", _("Picked up")
    CANCELLED_NO_SHOW = "cancelled_no_show", _("Cancelled (no-show)")
    CANCELLED = "cancelled", _("Cancelled")


def _carried_code_field() -> models.ForeignKey:
    """The issued code whose plaintext a row holds encrypted (``secret_encrypted``), on messages and webhook
    deliveries alike: before sending, the worker checks that this row is still the package's current code by its id,
    so it needs no OTP_HASH_KEY (during a rotation workers may hold another key than the web process that issued the
    code). NULL on rows without a code and on rows written before the field existed, which are checked by hashing
    the code instead. No index: nothing reads it in reverse but the deletion of a package, and the no-show sweep's
    bulk inserts would pay for one on every row."""
    return models.ForeignKey(
        "otp.PickupCode",
        verbose_name=_("pickup code"),
        null=True,
        blank=True,
        editable=False,
        db_index=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class WebhookDeliveryStatus(models.TextChoices):
    """A webhook delivery's status: a message's (``DeliveryStatus``, the same values), and ``skipped``: deliberately
    not sent, never retried (SPEC 8), e.g. a Whisperer event whose code was used, invalidated or replaced before it
    could go out. ``last_error`` says why. Not a failure: nothing is wrong with the endpoint or the row."""

    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped")


class Message(models.Model):
    """One customer message (SPEC 7), written in the transaction of the change that causes it.

    ``body`` is the text with any code masked. A code that still has to be sent waits in
    ``secret_encrypted`` (Fernet) and is wiped when the row becomes ``sent`` or ``failed``.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    package = models.ForeignKey(
        "orders.Package", verbose_name=_("package"), null=True, on_delete=models.CASCADE, related_name="messages"
    )
    customer = models.ForeignKey(
        "orders.Customer", verbose_name=_("customer"), on_delete=models.CASCADE, related_name="messages"
    )
    channel = models.CharField(_("channel"), max_length=8, choices=MessageChannel.choices)
    recipient = models.CharField(_("recipient"), max_length=255)
    event = models.CharField(_("event"), max_length=32, choices=MessageEvent.choices)
    language = models.CharField(_("language"), max_length=2, choices=settings.LANGUAGES)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    body = models.TextField(_("body (code masked)"))
    # Template context without the code, to render the real text at send time.
    context = models.JSONField(default=dict, editable=False)
    secret_encrypted = models.BinaryField(null=True, editable=False)
    pickup_code = _carried_code_field()
    status = models.CharField(
        _("status"), max_length=8, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    provider_message_id = models.CharField(_("provider message id"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["-created_at"]
        # Admin finds a message by what it was sent to, exactly (a number the customer has since changed).
        indexes = [models.Index(fields=["recipient"], name="message_recipient_idx")]

    def __str__(self) -> str:
        return f"{self.get_event_display()} / {self.get_channel_display()} -> {self.recipient}"

    @property
    def has_secret(self) -> bool:
        return bool(self.secret_encrypted)


class WebhookEventType(models.TextChoices):
    PACKAGE_READY_WHISPERER = (
        "PackageReadyForCustomerPickupWhispererEvent",
        "PackageReadyForCustomerPickupWhispererEvent",
    )
    PACKAGE_DELIVERED = "PackageDeliveredEvent", "PackageDeliveredEvent"
    PACKAGE_CANCELLED = "PackageCancelledEvent", "PackageCancelledEvent"
    PACKAGE_STATUS_CHANGED = "PackageStatusChangedEvent", "PackageStatusChangedEvent"
    PACKAGE_CUSTOMER_CHECKED_IN = "PackageCustomerCheckedInEvent", "PackageCustomerCheckedInEvent"


class WebhookEndpoint(models.Model):
    url = models.URLField(_("URL"), max_length=500)
    secret = models.CharField(
        _("signing secret"), max_length=255, help_text=_("Standard Webhooks secret, e.g. whsec_<base64>.")
    )
    event_types = models.JSONField(_("event types"), default=list, help_text=_("Empty for every event."))
    is_active = models.BooleanField(_("active"), default=True)
    description = models.CharField(_("description"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["url"]

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types

    def sends_code_in_clear(self) -> bool:
        """It would get the Whisperer event, which carries the pickup code, over plain http (SPEC 4: the code goes
        nowhere readable on the way), and WEBHOOK_ALLOW_HTTP does not allow that."""
        return (
            self.url.lower().startswith("http://")
            and self.wants(WebhookEventType.PACKAGE_READY_WHISPERER)
            and not settings.WEBHOOK_ALLOW_HTTP
        )

    def clean(self) -> None:
        if self.sends_code_in_clear():
            raise ValidationError(
                {"url": _("The Whisperer event carries the pickup code: use an https URL, or leave that event out.")}
            )


class WebhookDelivery(models.Model):
    """One event for one endpoint. ``webhook_id`` stays the same on every try (Standard Webhooks). The code waits
    encrypted in ``secret_encrypted`` and is wiped when the row is ``sent``, ``failed`` or ``skipped``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    endpoint = models.ForeignKey(
        WebhookEndpoint, verbose_name=_("endpoint"), on_delete=models.CASCADE, related_name="deliveries"
    )
    webhook_id = models.CharField(_("webhook id"), max_length=64, unique=True)
    event_type = models.CharField(_("event type"), max_length=64, choices=WebhookEventType.choices)
    package = models.ForeignKey(
        "orders.Package", verbose_name=_("package"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The payload with any code masked; the code waits encrypted until the delivery ends.
    payload = models.JSONField(_("payload (code masked)"))
    secret_encrypted = models.BinaryField(null=True, editable=False)
    pickup_code = _carried_code_field()  # the Whisperer event's
    status = models.CharField(
        _("status"),
        max_length=8,
        choices=WebhookDeliveryStatus.choices,
        default=WebhookDeliveryStatus.PENDING,
        db_index=True,
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_response_status = models.PositiveSmallIntegerField(_("last response status"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.event_type} -> {self.endpoint}"


class WebhookAttempt(models.Model):
    delivery = models.ForeignKey(
        WebhookDelivery, verbose_name=_("delivery"), on_delete=models.CASCADE, related_name="attempt_log"
    )
    attempted_at = models.DateTimeField(_("attempted at"), default=timezone.now)
    response_status = models.PositiveSmallIntegerField(_("response status"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)

    class Meta:
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")
        ordering = ["attempted_at"]

    def __str__(self) -> str:
        return f"{self.attempted_at:%Y-%m-%d %H:%M:%S} {self.response_status or self.error[:40]}"
