"""Django admin for stores, staff, customers, orders, packages and the audit trail (SPEC 1).

Admin actions run the same services as the API and the staff pages (channel ``admin``). Audit
records are read-only; no page shows a pickup code or its hash.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelect
from django.core import checks
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, Collate
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core.admin import LargeTableAdminMixin, ReadOnlyAdminMixin, field_label, uuid_prefix_q
from core.errors import DEFAULT_MESSAGES, ApplicationError
from core.text import TURKISH_COLLATION, text_nfc
from orders import services
from orders.commands import COMMANDS, reason_label, status_label
from orders.models import (
    AuditRecord,
    Channel,
    Customer,
    NoShowStrike,
    Order,
    Package,
    PackageItem,
    PackageStatus,
    StaffMembership,
    Store,
    TrustTier,
)
from orders.selectors import row_search, user_may_forgive_no_shows


class SafeAutocompleteSelect(AutocompleteSelect):
    """Django's autocomplete widget looks the submitted value up to show it again on a refused form: a value the key
    cannot hold ("abc" for a user's integer id) raised ValueError there, a 500 instead of "Select a valid choice"."""

    def optgroups(self, name, value, attr=None):
        remote_opts = self.field.remote_field.model._meta
        key = remote_opts.get_field(getattr(self.field.remote_field, "field_name", remote_opts.pk.attname))

        def usable(raw):
            try:
                key.get_prep_value(key.to_python(raw))
            except (ValueError, TypeError, ValidationError):
                return False
            return True

        return super().optgroups(name, [raw for raw in value if usable(raw)], attr)


class SafeAutocompleteMixin:
    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = SafeAutocompleteSelect(db_field, self.admin_site, using=kwargs.get("using"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


def store_local(value, store):
    """A package's time as the store's staff pages and the customer's messages give it: in the store's time zone,
    which is named (the rest of admin shows UTC)."""
    zone = store.zone
    local = timezone.localtime(value, zone)
    return f"{formats.localize(local)} ({getattr(zone, 'key', 'UTC')})"


def store_local_display(model, field_name):
    """An admin column or read-only field showing ``model.field_name`` with ``store_local`` (the row's ``store``)."""

    @admin.display(description=field_label(model, field_name), ordering=field_name)
    def display(self, obj):
        value = getattr(obj, field_name)
        return self.get_empty_value_display() if value is None else store_local(value, obj.store)

    display.__name__ = f"{field_name}_local"
    return display


def name_column(model):
    """The ``name`` column of ``model``'s list, sorted in Turkish alphabetical order (``core.text``): by the field
    itself the database compares code points, which puts Ç, İ, Ö, Ş, Ü and every lower-case initial after Z."""

    @admin.display(description=field_label(model, "name"), ordering=Collate("name", TURKISH_COLLATION))
    def name_sorted(self, obj):
        return obj.name

    return name_sorted


# The search fields of an admin with StaffSearchMixin: none, only its own search (get_search_results).
STAFF_SEARCH = "(StaffSearchMixin.get_search_results)"
# The ids searched through a relation, as the search box's help names them (StaffSearchMixin.id_paths).
ID_PATH_HELP = {"package__": _("package id or its first 8 characters")}


class StaffSearchMixin:
    """Admin search that finds what the staff search finds (``orders.selectors``): the customer's name without
    case, accents or apostrophes, Turkish letters included ("çiçek", "CICEK" and "ÇİÇEK" find "Çiçek", "isil"
    finds "IŞIL"), phone digits in any format ("(0532) 111-22-33"), the customer's e-mail, the order number with
    ``İ``/``ı`` typed for ``I`` (Turkish keyboards), and a row by its id or the first 8 characters of it.

    ``customer_path``/``order_path``/``id_paths``: the lookups to the customer, the order and the UUIDs searched
    by id from the listed model (``""`` for the model itself, None for none); ``search_parts`` adds more.

    Each part is a query of its own that an index answers on PostgreSQL (trigram indexes on the order number,
    the folded name, the phone and the e-mail; the keys), and the list keeps the rows whose id one of them
    found (``orders.selectors.row_search``). Django's own search (``icontains`` over ``search_fields``, joined)
    is not run: over a year of packages it read every order and customer for each search (docs/performance.md).
    So these admins declare no ``search_fields`` (a system check refuses one, which would change nothing): the
    mixin shows the search box itself, and under it what the search looks at (``search_help_text``, from the
    paths above and ``search_parts_help``).
    """

    customer_path: str | None = None
    order_path: str | None = None
    id_paths: tuple[str, ...] = ()
    #: What ``search_parts`` finds, as the help under the search box lists it (e.g. ``_("user name")``).
    search_parts_help: tuple = ()

    def search_parts(self, term: str) -> list[QuerySet]:
        """More querysets of the listed model whose rows the search finds (each answered by an index)."""
        return []

    def get_search_fields(self, request):
        # Django shows a list's search box (and lets autocomplete ask it) when the admin has search fields. The
        # search is get_search_results below, which reads none: this names it rather than listing fields.
        return (STAFF_SEARCH,)

    @property
    def search_help_text(self):
        """What the search box finds, in the reader's language (Django shows it under the box)."""
        what = []
        if self.order_path is not None:
            what.append(_("order number"))
        if self.customer_path is not None:
            what.append(_("customer's name, phone or e-mail"))
        for id_path in self.id_paths:
            what.append(_("id or its first 8 characters") if not id_path else ID_PATH_HELP[id_path])
        what.extend(self.search_parts_help)
        return _("Searches by %(what)s.") % {"what": "; ".join(str(part) for part in what)}

    def check(self, **kwargs):
        errors = super().check(**kwargs)
        if self.search_fields:
            errors.append(
                checks.Error(
                    f"{type(self).__name__} declares search_fields, which its search (StaffSearchMixin) never reads.",
                    hint="Remove search_fields; to search more, add a search_parts query (and search_parts_help).",
                    obj=type(self),
                    id="orders.E001",
                )
            )
        return errors

    def get_search_results(self, request, queryset, search_term):
        term = text_nfc(search_term).strip()
        if not term:
            return queryset, False
        # A row by its id (or its short id) is a condition on the listed table itself; through a package, a part.
        direct, parts = None, list(self.search_parts(term))
        for id_path in self.id_paths:
            by_id = uuid_prefix_q(term, f"{id_path}pk")
            if by_id is not None and id_path:
                parts.append(self.model._default_manager.filter(by_id))
            elif by_id is not None:
                direct = by_id if direct is None else direct | by_id
        search = row_search(
            self.model,
            term,
            order_path=self.order_path,
            customer_path=self.customer_path,
            customer_email=True,
            direct=direct,
            parts=parts,
        )
        return queryset.filter(search.condition()), False


class MembershipFormSet(forms.BaseInlineFormSet):
    """The store's memberships, a user at most once: checked here, since the page's posted counts decide which
    rows are new (Django trusts INITIAL_FORMS: with it lowered, an existing membership came back as a new row) and
    the one-per-user-and-store constraint was left to the database, which answered with a 500."""

    def initial_form_count(self):
        return max(0, super().initial_form_count())

    def clean(self):
        super().clean()
        kept = {
            form.instance.pk: form.cleaned_data.get("user")
            for form in self.initial_forms
            if form.instance.pk and form.cleaned_data and not self._should_delete_form(form)
        }
        taken = set(
            StaffMembership.objects.filter(store=self.instance).exclude(pk__in=kept).values_list("user_id", flat=True)
            if self.instance.pk
            else []
        )
        taken |= {user.pk for user in kept.values() if user}
        for form in self.extra_forms:
            user = form.cleaned_data.get("user") if form.has_changed() and form.cleaned_data else None
            if user is None or self._should_delete_form(form):
                continue
            if user.pk in taken:
                form.add_error("user", _("This user already has a membership in this store."))
            taken.add(user.pk)


class MembershipInline(SafeAutocompleteMixin, admin.TabularInline):
    model = StaffMembership
    formset = MembershipFormSet
    extra = 0
    autocomplete_fields = ["user"]

    def get_queryset(self, request):
        # Each row's title is the membership's __str__ (its user and store).
        return super().get_queryset(request).select_related("user", "store")


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    list_display = ["code", "name_sorted", "timezone", "is_active", "ready_count"]
    name_sorted = name_column(Store)
    list_filter = ["is_active", "timezone"]
    search_fields = ["code", "name"]
    inlines = [MembershipInline]

    def get_queryset(self, request):
        # Counted per listed store (an index-only read of its ready packages), not by joining every package of
        # every store to the list and grouping them.
        ready = (
            Package.objects.filter(store=OuterRef("pk"), status=PackageStatus.READY_FOR_CUSTOMER_PICKUP)
            .order_by()
            .values("store")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return super().get_queryset(request).annotate(_ready=Coalesce(Subquery(ready), 0))

    @admin.display(description=_("ready for pickup"), ordering="_ready")
    def ready_count(self, obj):
        return obj._ready


@admin.register(StaffMembership)
class StaffMembershipAdmin(SafeAutocompleteMixin, admin.ModelAdmin):
    list_display = ["user", "store", "role", "created_at"]
    list_filter = ["role", "store"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "store__code"]
    autocomplete_fields = ["user", "store"]


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
        # Counted for the listed customers only: joined and grouped, every customer of the table was counted
        # before the page's hundred were sorted out.
        strikes = (
            NoShowStrike.objects.filter(customer=OuterRef("pk"), forgiven_at__isnull=True)
            .order_by()
            .values("customer")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return super().get_queryset(request).annotate(_strikes=Coalesce(Subquery(strikes), 0))

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
        strike = get_object_or_404(
            NoShowStrike.objects.select_related("package__order", "customer"), pk=strike_id, customer=customer
        )
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


class IntakeRecordMixin(ReadOnlyAdminMixin):
    """Orders, packages and their items come from order intake and change only through the package commands (the
    actions, audited): editing the order's customer in admin would send the next code to another phone, and no page
    may add, edit or delete them silently. Cancelling is how a package leaves."""


class PackageItemInline(IntakeRecordMixin, admin.TabularInline):
    model = PackageItem
    extra = 0


class PackageInline(IntakeRecordMixin, admin.TabularInline):
    model = Package
    extra = 0
    fields = ["id", "store", "status", "ready_expires_at_local", "delivered_at_local", "cancelled_at_local"]
    readonly_fields = fields
    show_change_link = True

    ready_expires_at_local = store_local_display(Package, "ready_expires_at")
    delivered_at_local = store_local_display(Package, "delivered_at")
    cancelled_at_local = store_local_display(Package, "cancelled_at")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("store")


@admin.register(Order)
class OrderAdmin(StaffSearchMixin, LargeTableAdminMixin, IntakeRecordMixin, admin.ModelAdmin):
    customer_path, order_path, id_paths = "customer__", "", ("",)
    list_display = ["order_number", "customer", "store", "status", "created_at_local"]
    list_filter = ["status", "store"]
    fields = [
        "id",
        "order_number",
        "customer",
        "store",
        "delivery_type",
        "status",
        "created_at_local",
        "updated_at_local",
    ]
    readonly_fields = fields
    list_select_related = ["customer", "store"]
    inlines = [PackageInline]

    created_at_local = store_local_display(Order, "created_at")
    updated_at_local = store_local_display(Order, "updated_at")


# What an audit record says, in the package page's inline and in the audit list. The record stores stable
# codes (statuses, commands, error codes, system reasons); these columns show them in the reader's language.
AUDIT_COLUMNS = [
    "created_at_local",
    "kind",
    "outcome",
    "error_display",
    "command_display",
    "from_status_display",
    "to_status_display",
    "manual",
]


class AuditDisplayMixin:
    """The audit record's coded columns as a person reads them, for the inline and the audit pages; its time in the
    store's zone, like the package's."""

    created_at_local = store_local_display(AuditRecord, "created_at")

    @admin.display(description=field_label(AuditRecord, "error_code"), ordering="error_code")
    def error_display(self, obj):
        if not obj.error_code:
            return ""
        message = DEFAULT_MESSAGES.get(obj.error_code)
        # The code stays visible: it is what the API answered and what support searches for.
        return f"{message} ({obj.error_code})" if message is not None else obj.error_code

    @admin.display(description=field_label(AuditRecord, "command"), ordering="command")
    def command_display(self, obj):
        command = COMMANDS.get(obj.command)
        return command.name if command is not None else obj.command

    @admin.display(description=field_label(AuditRecord, "from_status"), ordering="from_status")
    def from_status_display(self, obj):
        return status_label(obj.from_status)

    @admin.display(description=field_label(AuditRecord, "to_status"), ordering="to_status")
    def to_status_display(self, obj):
        return status_label(obj.to_status)

    @admin.display(description=field_label(AuditRecord, "reason"), ordering="reason")
    def reason_display(self, obj):
        return reason_label(obj.reason)


class AuditInline(AuditDisplayMixin, ReadOnlyAdminMixin, admin.TabularInline):
    model = AuditRecord
    fk_name = "package"
    extra = 0
    # Without the record's title over each row: it repeats the columns, with the time in UTC.
    template = "admin/orders/auditrecord/tabular_untitled.html"
    fields = [*AUDIT_COLUMNS, "actor", "channel", "reason_display"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("store", "actor")


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=255)


@admin.register(Package)
class PackageAdmin(StaffSearchMixin, LargeTableAdminMixin, admin.ModelAdmin):
    customer_path, order_path, id_paths = "order__customer__", "order__", ("",)
    list_display = ["short_id", "order", "store", "status", "ready_at_local", "ready_expires_at_local", "customer_tier"]
    list_filter = ["status", "store"]
    list_select_related = ["order__customer", "store"]
    date_hierarchy = "created_at"
    # State moves only through commands (the actions below), never by editing fields.
    # Times in the store's zone, as on the staff pages and in the customer's messages (store_local).
    fields = [
        "id",
        "order",
        "store",
        "status",
        "ready_at_local",
        "ready_expires_at_local",
        "reminder_sent_at_local",
        "delivered_at_local",
        "cancelled_at_local",
        "cancellation_reason",
        "created_at_local",
        "updated_at_local",
    ]
    readonly_fields = fields
    inlines = [PackageItemInline, AuditInline]
    actions = ["resend_code", "cancel_packages"]
    ready_at_local = store_local_display(Package, "ready_at")
    ready_expires_at_local = store_local_display(Package, "ready_expires_at")
    reminder_sent_at_local = store_local_display(Package, "reminder_sent_at")
    delivered_at_local = store_local_display(Package, "delivered_at")
    cancelled_at_local = store_local_display(Package, "cancelled_at")
    created_at_local = store_local_display(Package, "created_at")
    updated_at_local = store_local_display(Package, "updated_at")

    def has_add_permission(self, request):
        return False  # packages come from order intake

    def has_delete_permission(self, request, obj=None):
        return False  # cancelled (an action, audited), never deleted

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # Every field is read-only (the change permission is for the actions), so there is nothing to save.
        no_save = {"show_save": False, "show_save_and_continue": False, "show_save_and_add_another": False}
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **no_save})

    @admin.display(description=_("package"))
    def short_id(self, obj):
        return str(obj.pk)[:8]

    @admin.display(description=_("trust tier"))
    def customer_tier(self, obj):
        return obj.order.customer.get_trust_tier_display()

    @admin.action(description=_("Resend pickup code"), permissions=["change"])
    def resend_code(self, request, queryset):
        done = 0
        for package in queryset:
            try:
                services.package_resend_code(package=package, actor=request.user, channel=Channel.ADMIN)
                done += 1
            except ApplicationError as error:
                self.message_user(request, f"{package.order.order_number}: {error.message}", messages.ERROR)
        if done:
            self.message_user(request, _("A new code was sent for %(count)d package(s).") % {"count": done})

    @admin.action(description=_("Cancel packages (with a reason)"), permissions=["change"])
    def cancel_packages(self, request, queryset):
        form = CancelForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            done = 0
            for package in queryset:
                try:
                    services.package_cancel(
                        package=package, actor=request.user, channel=Channel.ADMIN, reason=form.cleaned_data["reason"]
                    )
                    done += 1
                except ApplicationError as error:
                    self.message_user(request, f"{package.order.order_number}: {error.message}", messages.ERROR)
            if done:
                self.message_user(request, _("%(count)d package(s) cancelled.") % {"count": done})
            return redirect(request.get_full_path())
        return render(
            request,
            "admin/orders/package/cancel.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Cancel packages"),
                "packages": queryset,
                "form": form,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                "opts": self.model._meta,
            },
        )


@admin.register(AuditRecord)
class AuditRecordAdmin(StaffSearchMixin, LargeTableAdminMixin, AuditDisplayMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    order_path, id_paths = "package__order__", ("package__",)
    list_display = [*AUDIT_COLUMNS, "actor_display", "channel", "store", "package"]
    fields = [*AUDIT_COLUMNS, "actor", "channel", "store", "package", "reason_display"]
    readonly_fields = fields
    list_filter = ["kind", "outcome", "channel", "manual", "store"]
    search_parts_help = (_("user name"),)
    # The package column shows its order number.
    list_select_related = ["actor", "store", "package__order"]
    date_hierarchy = "created_at"

    def search_parts(self, term):
        # What a user did: their records by the actor's index (the users are few).
        return [AuditRecord.objects.filter(actor__username__icontains=term)]

    @admin.display(description=_("user"))
    def actor_display(self, obj):
        return obj.actor_display


@admin.register(PackageItem)
class PackageItemAdmin(StaffSearchMixin, LargeTableAdminMixin, IntakeRecordMixin, admin.ModelAdmin):
    order_path = "package__order__"
    list_display = ["sku", "name", "quantity", "package"]
    search_parts_help = (_("SKU or item name"),)
    list_select_related = ["package__order"]

    def search_parts(self, term):
        # No index: the items are read in full (a rarely used list; the order number part is indexed).
        return [PackageItem.objects.filter(Q(sku__icontains=term) | Q(name__icontains=term))]


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
