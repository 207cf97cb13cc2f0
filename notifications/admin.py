"""Admin for customer messages, webhook endpoints and webhook deliveries (SPEC 7, 8).

Messages and deliveries are read-only records of what was sent: the stored body and payload show
any code masked, and the encrypted secret is never shown. A failed row can be retried; a skipped
delivery (deliberately not sent, SPEC 8) cannot.
"""

import base64
import json
import secrets

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core.admin import LargeTableAdminMixin, ReadOnlyAdminMixin, field_label
from core.errors import ApplicationError
from notifications import sending
from notifications.models import (
    DeliveryStatus,
    Message,
    WebhookAttempt,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEndpoint,
    WebhookEventType,
)
from orders.admin import StaffSearchMixin
from orders.phones import phone_normalize


class RetryFailedMixin(ReadOnlyAdminMixin):
    """The rows are read-only; the "retry" action is for users who may change them."""

    retry_service = None

    def has_retry_permission(self, request):
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")

    @admin.action(description=_("Retry the selected failed rows"), permissions=["retry"])
    def retry_failed(self, request, queryset):
        retried = refused = skipped = not_sent = 0
        for row in queryset:
            if row.status == WebhookDeliveryStatus.SKIPPED:
                not_sent += 1
            elif row.status != DeliveryStatus.FAILED:
                skipped += 1
            elif type(self).retry_service(row):
                retried += 1
            else:
                refused += 1
        if retried:
            self.message_user(
                request,
                ngettext("%(count)d row queued again.", "%(count)d rows queued again.", retried) % {"count": retried},
                messages.SUCCESS,
            )
        if refused:
            self.message_user(
                request,
                ngettext(
                    "%(count)d row carried a pickup code that has been wiped; send a new code with the package's "
                    "“Resend Pickup Code” command instead.",
                    "%(count)d rows carried a pickup code that has been wiped; send a new code with the package's "
                    "“Resend Pickup Code” command instead.",
                    refused,
                )
                % {"count": refused},
                messages.WARNING,
            )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(count)d row was not failed and was left alone.",
                    "%(count)d rows were not failed and were left alone.",
                    skipped,
                )
                % {"count": skipped},
                messages.INFO,
            )
        if not_sent:
            self.message_user(
                request,
                ngettext(
                    "%(count)d row was skipped on purpose (its last error says why) and is not retried.",
                    "%(count)d rows were skipped on purpose (their last errors say why) and are not retried.",
                    not_sent,
                )
                % {"count": not_sent},
                messages.INFO,
            )


@admin.register(Message)
class MessageAdmin(StaffSearchMixin, LargeTableAdminMixin, RetryFailedMixin, admin.ModelAdmin):
    retry_service = staticmethod(lambda row: sending.message_retry(message=row))
    actions = ["retry_failed"]
    list_display = ["created_at", "event", "channel", "recipient", "language", "status", "attempts", "sent_at"]
    list_filter = ["status", "channel", "event", "language"]
    # By its customer's phone, e-mail or name as they are now (StaffSearchMixin), and by what it was sent to.
    customer_path, order_path, id_paths = "customer__", "package__order__", ("", "package__")

    def search_parts(self, term):
        """The messages sent to ``term`` exactly (an index on the recipient): a phone number in any format, an
        e-mail, a push token. A customer who has since changed number or e-mail is found by the old one here."""
        recipients = {term, term.lower()}
        try:
            recipients.add(phone_normalize(term, sms=False))
        except ApplicationError:
            pass
        return [Message.objects.filter(recipient__in=recipients)]

    search_parts_help = (_("the whole address it was sent to (phone, e-mail or push token)"),)
    date_hierarchy = "created_at"
    list_select_related = ["package"]
    # Never ``secret_encrypted`` nor ``context``: what admin shows is the masked text.
    fields = [
        "id",
        "package",
        "customer",
        "channel",
        "recipient",
        "event",
        "language",
        "subject",
        "body",
        "status",
        "attempts",
        "last_error_display",
        "provider_message_id",
        "created_at",
        "sent_at",
        "waiting_code",
    ]
    readonly_fields = fields

    @admin.display(description=field_label(Message, "last_error"))
    def last_error_display(self, obj):
        return sending.sending_error_label(obj.last_error)

    @admin.display(description=_("code waiting (encrypted)"), boolean=True)
    def waiting_code(self, obj):
        return obj.has_secret


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")
    event_types = forms.MultipleChoiceField(
        label=capfirst(_("event types")),  # as the model fields' labels are
        choices=WebhookEventType.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("None ticked: every event."),
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "description", "secret", "event_types", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields.get("secret")
        if field is None:  # a read-only page (WebhookEndpointAdmin.get_fields)
            return
        field.widget.attrs["autocomplete"] = "off"
        if not self.instance.pk:
            if not self.initial.get("secret"):
                self.initial["secret"] = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
            field.help_text = _("Copy it now for the receiver: once saved, it is not shown again.")
        else:
            # Never shown back: anyone who could read the page could sign events as this product.
            self.initial["secret"] = ""
            field.required = False
            field.help_text = _(
                "The current secret (%(masked)s) is kept when this stays empty; enter a new one to replace it."
            ) % {"masked": mask_secret(self.instance.secret)}

    def clean_secret(self):
        secret = self.cleaned_data["secret"].strip()
        if not secret and self.instance.pk:
            return self.instance.secret
        try:
            sending.webhook_secret_bytes(secret)
        except sending.SendError:
            raise forms.ValidationError(
                _("Enter a Standard Webhooks secret: whsec_ followed by base64, e.g. the one suggested.")
            ) from None
        if not secret.startswith("whsec_"):
            secret = "whsec_" + secret
        return secret

    def clean_url(self):
        url = self.cleaned_data["url"]
        if not url.lower().startswith(("https://", "http://")):
            raise forms.ValidationError(_("Enter an http or https URL."))
        return url


def mask_secret(secret: str) -> str:
    """Enough of a signing secret to tell two apart, not to sign with: whsec_…AbCd."""
    return f"whsec_…{secret[-4:]}" if len(secret) > 16 else "whsec_…"


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ["url", "description", "is_active", "events", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["url", "description"]

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if obj is not None and not self.has_change_permission(request, obj):
            # A read-only page would print the secret's value in clear.
            return ["secret_masked" if name == "secret" else name for name in fields if name != "secret_masked"]
        return [name for name in fields if name != "secret_masked"]

    def get_readonly_fields(self, request, obj=None):
        return ["secret_masked"]

    @admin.display(description=field_label(WebhookEndpoint, "secret"))
    def secret_masked(self, obj):
        return mask_secret(obj.secret)

    @admin.display(description=_("event types"))
    def events(self, obj):
        return ", ".join(obj.event_types) if obj.event_types else _("every event")


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = ["attempted_at", "response_status", "error_display", "duration_ms"]
    readonly_fields = fields

    @admin.display(description=field_label(WebhookAttempt, "error"))
    def error_display(self, obj):
        return sending.sending_error_label(obj.error)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(StaffSearchMixin, LargeTableAdminMixin, RetryFailedMixin, admin.ModelAdmin):
    retry_service = staticmethod(lambda row: sending.webhook_delivery_retry(delivery=row))
    actions = ["retry_failed"]
    inlines = [WebhookAttemptInline]
    list_display = ["created_at", "event_type", "endpoint", "status", "attempts", "last_response_status"]
    list_filter = ["status", "event_type", "endpoint"]
    # A delivery by its webhook-id (the whole of it, as the receiver logged it), its id or its package's; the
    # endpoint is a filter.
    order_path, id_paths = "package__order__", ("", "package__")
    search_parts_help = (_("the whole webhook id"),)
    date_hierarchy = "created_at"
    list_select_related = ["endpoint"]

    def search_parts(self, term):
        return [WebhookDelivery.objects.filter(webhook_id=term)]

    fields = [
        "webhook_id",
        "endpoint",
        "event_type",
        "package",
        "status",
        "attempts",
        "last_response_status",
        "last_error_display",
        "created_at",
        "delivered_at",
        "payload_masked",
    ]
    readonly_fields = fields

    @admin.display(description=field_label(WebhookDelivery, "last_error"))
    def last_error_display(self, obj):
        return sending.sending_error_label(obj.last_error)

    @admin.display(description=_("payload (code masked)"))
    def payload_masked(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.payload, indent=2, ensure_ascii=False))
