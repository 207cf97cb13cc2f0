"""Admin for customers and their no-shows: the phone as intake stores it, the tier at stores with their own
rules, and forgiving a no-show (one from the customer's page, or a selection from the strikes' list)."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models.functions import Collate
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core.admin import LargeTableAdminMixin, field_label
from core.errors import ApplicationError
from core.text import TURKISH_COLLATION, text_nfc
from orders import services
from orders.admin.common import name_column, store_local
from orders.admin.search import StaffSearchMixin
from orders.models import Channel, Customer, NoShowStrike, TrustTier
from orders.selectors import customer_active_no_show_count, no_show_strike_of_customer, user_may_forgive_no_shows


class ForgiveStrikeForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=255)


def may_forgive_strikes(request) -> bool:
    """Forgiving changes a no-show strike: the same rule on the customer's page, in the strikes' action and in the
    service (``selectors.user_may_forgive_no_shows``)."""
    return user_may_forgive_no_shows(user=request.user)


def forgiving_effect(customer, strike, now=None) -> str:
    """The customer's tier now and after forgiving ``strike``, as ``services.no_show_strike_forgive`` will
    compute it (the global NO_SHOW_* settings, the stored tier's): an administrator sees whether it lifts a
    restriction before forgiving."""
    preview = services.no_show_strike_forgive_preview(strike=strike, now=now)
    rules, counting, tier, until = preview.rules, preview.counting, preview.tier, preview.restricted_until

    def shown(tier_value, until_value):
        label = TrustTier(tier_value).label
        if until_value:
            return _("%(tier)s until %(time)s") % {
                "tier": label,
                "time": formats.date_format(timezone.localtime(until_value), "j F Y H:i"),
            }
        return label

    text = ngettext(
        "Now: %(now)s, %(count)s no-show counting (the last %(days)s days). After forgiving this one: %(after)s.",
        "Now: %(now)s, %(count)s no-shows counting (the last %(days)s days). After forgiving this one: %(after)s.",
        counting,
    ) % {
        "now": shown(customer.trust_tier, customer.restricted_until),
        "count": counting,
        "days": rules.decay_days,
        "after": shown(tier, until),
    }
    if customer.trust_tier == TrustTier.RESTRICTED and tier != TrustTier.RESTRICTED:
        text += " " + str(_("The restriction ends at once: the customer's new orders are accepted again."))
    elif tier == TrustTier.RESTRICTED:
        text += " " + str(
            _("The restriction stays: it ends early only when fewer than %(threshold)s no-shows count.")
            % {"threshold": rules.restrict_threshold}
        )
    return text


class NoShowStrikeInline(admin.TabularInline):
    model = NoShowStrike
    extra = 0
    fields = ["package", "created_at", "forgiven_at", "forgiven_by", "forgiven_reason", "forgive_link"]
    readonly_fields = fields
    can_delete = False

    def get_queryset(self, request):
        # Each row's title names the customer, its package shows as the order number, who forgave by name.
        return super().get_queryset(request).select_related("customer", "package__order", "forgiven_by")

    def has_add_permission(self, request, obj=None):
        return False

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        return fields if may_forgive_strikes(request) else [name for name in fields if name != "forgive_link"]

    @admin.display(description=_("forgive"))
    def forgive_link(self, obj):
        if obj.pk is None or obj.forgiven_at:
            return ""
        url = reverse("admin:orders_customer_forgive_strike", args=[obj.customer_id, obj.pk])
        return format_html('<a class="button" href="{}">{}</a>', url, _("Forgive…"))


class CustomerForm(forms.ModelForm):
    """The phone is validated and stored in E.164 as order intake stores it (SPEC 2): intake finds a customer by
    it, and SMS goes to it. Typed in any common format, as intake takes it (up to 32 characters before
    normalising; the stored E.164 form is at most 16)."""

    phone = forms.CharField(label=capfirst(field_label(Customer, "phone")), max_length=32)

    class Meta:
        model = Customer
        fields = ["name", "phone", "email", "push_token", "language"]

    def clean_name(self):
        # In NFC, as order intake stores names (services.order_intake).
        return text_nfc(self.cleaned_data["name"])

    def clean_phone(self):
        # A number must be able to take the pickup code by SMS when it is entered; a customer stored with a landline
        # before that rule keeps it while other fields are edited.
        unchanged = self.instance.pk and "phone" not in self.changed_data
        try:
            return services.phone_normalize(self.cleaned_data["phone"], sms=not unchanged)
        except ApplicationError as error:
            raise forms.ValidationError(error.details["fields"]["customer"]["phone"]) from None


@admin.register(Customer)
class CustomerAdmin(StaffSearchMixin, LargeTableAdminMixin, admin.ModelAdmin):
    customer_path = ""
    form = CustomerForm
    list_display = ["name_sorted", "phone", "email", "language", "trust_tier", "restricted_until", "active_strikes"]
    list_filter = ["trust_tier", "language"]
    readonly_fields = ["trust_tier", "restricted_until", "tier_at_stores", "created_at", "updated_at"]
    inlines = [NoShowStrikeInline]
    name_sorted = name_column(Customer)
    ordering = [Collate("name", TURKISH_COLLATION).asc(), "pk"]

    @admin.display(description=_("tier at stores with their own no-show settings"))
    def tier_at_stores(self, obj):
        """The tier above follows the global NO_SHOW_* settings; a store with its own judges by those (order intake
        there, its staff's view): shown here, so that a refusal at such a store can be explained."""
        stores = services.stores_with_own_tier_rules()
        if not stores or obj.pk is None:
            return _("None: every store uses the global no-show settings.")
        lines = []
        for store in stores:
            tier, until = services.customers_trust_at_store(customers=[obj], store=store)[obj.pk]
            label = TrustTier(tier).label
            if until:
                label = _("%(tier)s until %(time)s") % {"tier": label, "time": store_local(until, store)}
            lines.append(format_html("{} {}: {}", store.code, store.name, label))
        return format_html_join(mark_safe("<br>"), "{}", ((line,) for line in lines))

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_strikes=customer_active_no_show_count())

    @admin.display(description=_("no-shows"), ordering="_strikes")
    def active_strikes(self, obj):
        return obj._strikes

    def get_urls(self):
        forgive = path(
            "<path:object_id>/no-shows/<int:strike_id>/forgive/",
            self.admin_site.admin_view(self.forgive_strike_view),
            name="orders_customer_forgive_strike",
        )
        return [forgive, *super().get_urls()]

    def forgive_strike_view(self, request, object_id, strike_id):
        """Forgive one no-show of this customer (asks for a reason); the service audits it."""
        customer = self.get_object(request, object_id)
        if customer is None:
            raise Http404
        if not (self.has_view_or_change_permission(request, customer) and may_forgive_strikes(request)):
            raise PermissionDenied
        strike = no_show_strike_of_customer(customer=customer, strike_id=strike_id)
        if strike is None:
            raise Http404
        form = ForgiveStrikeForm(request.POST if request.method == "POST" else None)
        # What forgiving does to this customer, shown before it is done.
        effect = "" if strike.forgiven_at else forgiving_effect(customer, strike)
        if form.is_valid():
            try:
                forgiven = services.no_show_strike_forgive(
                    strike=strike, actor=request.user, reason=form.cleaned_data["reason"], channel=Channel.ADMIN
                )
            except ApplicationError as error:
                self.message_user(request, error.message, messages.ERROR)
            else:
                customer.refresh_from_db()
                if forgiven:
                    self.message_user(
                        request,
                        _("The no-show was forgiven; the trust tier is now %(tier)s.")
                        % {"tier": customer.get_trust_tier_display()},
                    )
                else:
                    self.message_user(request, _("This no-show was already forgiven."), messages.WARNING)
            return redirect(reverse("admin:orders_customer_change", args=[customer.pk]))
        return render(
            request,
            "admin/orders/noshowstrike/forgive.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Forgive a no-show"),
                "customer": customer,
                "strikes": [strike],
                "effect": effect,
                "form": form,
                "opts": self.model._meta,
            },
        )


@admin.register(NoShowStrike)
class NoShowStrikeAdmin(StaffSearchMixin, LargeTableAdminMixin, admin.ModelAdmin):
    customer_path, order_path, id_paths = "customer__", "package__order__", ("package__",)
    list_display = ["customer", "package", "created_at", "forgiven_at", "forgiven_by"]
    list_filter = ["forgiven_at"]
    list_select_related = ["customer", "package__order", "forgiven_by"]
    readonly_fields = ["customer", "package", "created_at", "forgiven_at", "forgiven_by", "forgiven_reason"]
    actions = ["forgive_strikes"]

    def has_add_permission(self, request):
        return False  # strikes come from no-show expiry only

    @admin.action(description=_("Forgive selected no-shows (with a reason)"), permissions=["change"])
    def forgive_strikes(self, request, queryset):
        form = ForgiveStrikeForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            done = 0
            for strike in queryset:
                try:
                    done += services.no_show_strike_forgive(
                        strike=strike, actor=request.user, reason=form.cleaned_data["reason"], channel=Channel.ADMIN
                    )
                except ApplicationError as error:
                    self.message_user(request, error.message, messages.ERROR)
            self.message_user(request, _("%(count)d no-show(s) forgiven.") % {"count": done})
            return redirect(request.get_full_path())
        return render(
            request,
            "admin/orders/noshowstrike/forgive.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Forgive no-shows"),
                "strikes": queryset.select_related("customer", "package__order"),
                "form": form,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                "action": "forgive_strikes",
                "opts": self.model._meta,
            },
        )

    def has_delete_permission(self, request, obj=None):
        return False  # forgiven, never deleted: the history stays
