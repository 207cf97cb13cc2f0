import logging
import uuid
from datetime import UTC, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower, Upper
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.text import search_fold

logger = logging.getLogger(__name__)


@cache
def _time_zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def validate_time_zone(value: str) -> None:
    if value not in _time_zone_names():
        raise ValidationError(
            _("“%(value)s” is not a time zone name. Use one such as Europe/Istanbul."), params={"value": value}
        )
    # POSIX offset zones read backwards (Etc/GMT+3 is three hours BEHIND UTC) and never follow daylight
    # saving: a store is somewhere, and its region's name keeps its clock right.
    if value.startswith("Etc/GMT") and value[len("Etc/GMT") :].lstrip("+-").isdigit():
        raise ValidationError(
            _(
                "“%(value)s” is a fixed offset whose sign reads backwards (Etc/GMT+3 is three hours behind UTC) and "
                "which ignores daylight saving. Use the store's region, such as Europe/Istanbul."
            ),
            params={"value": value},
        )


# What a store code is made of (Store.code's validator; order intake folds the case only of such a code).
STORE_CODE_PATTERN = r"[A-Za-z0-9_-]+"


class Store(models.Model):
    """A stock location where customers pick up packages."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Unique ignoring case (Meta.constraints), which also makes it unique: one rule, one message in admin.
    # Latin letters only: the databases fold case apart for Turkish letters (PostgreSQL takes İST01 for
    # IST01 but ıst01 for another store, SQLite takes all three for different ones), and order systems
    # send plain codes.
    code = models.CharField(
        _("code"),
        max_length=16,
        help_text=_("For example IST01."),
        validators=[
            RegexValidator(
                rf"\A{STORE_CODE_PATTERN}\Z",
                _("Use only the letters A–Z (I, not İ or ı; no Ç, Ğ, Ö, Ş, Ü), digits, hyphens and underscores."),
            )
        ],
    )
    name = models.CharField(_("name"), max_length=120)
    timezone = models.CharField(
        _("timezone"), max_length=64, default="Europe/Istanbul", validators=[validate_time_zone]
    )
    is_active = models.BooleanField(_("active"), default=True)
    # Shown to customers on the pickup pass (SPEC 13), as written: a store's address and hours are free text.
    address = models.TextField(_("address"), blank=True, max_length=500, help_text=_("As customers should read it."))
    opening_hours = models.TextField(
        _("opening hours"),
        blank=True,
        max_length=500,
        help_text=_("One line per group of days, e.g. “Mon–Sat 10:00–22:00”."),
    )

    class Meta:
        verbose_name = _("store")
        verbose_name_plural = _("stores")
        ordering = ["code"]
        constraints = [
            # Staff switch stores and `appsetting --store` finds them by code in any case: IST01 and ist01
            # must not be two stores.
            models.UniqueConstraint(
                Lower("code"),
                name="store_code_unique_ignoring_case",
                violation_error_message=_("A store with this code already exists (codes ignore case)."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def zone(self) -> tzinfo:
        """The store's time zone for local times (deadlines in messages, the staff pages). UTC, with a warning, for a
        name no longer known (the field's validator refuses new ones): a typo must not stop a store's counter."""
        try:
            return ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            logger.warning("store %s has an unknown time zone; using UTC", self.code)
            return UTC


class StaffRole(models.TextChoices):
    EMPLOYEE = "employee", _("Employee")
    MANAGER = "manager", _("Manager")


class StaffMembership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="memberships"
    )
    store = models.ForeignKey(Store, verbose_name=_("store"), on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=16, choices=StaffRole.choices, default=StaffRole.EMPLOYEE)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("staff membership")
        verbose_name_plural = _("staff memberships")
        constraints = [models.UniqueConstraint(fields=["user", "store"], name="membership_one_per_user_store")]
        ordering = ["store__code", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} @ {self.store.code} ({self.get_role_display()})"


class ApiKeyScope(models.TextChoices):
    """What an API key may do (SPEC 14); each API operation names the scope it needs."""

    PACKAGES_READ = "packages:read", _("Read packages")
    PACKAGES_WRITE = "packages:write", _("Run package commands and verify pickup codes")
    ORDERS_READ = "orders:read", _("Read orders")
    ORDERS_WRITE = "orders:write", _("Create orders")


class ApiKey(models.Model):
    """A key for a POS device or the order system (SPEC 14), beside the JWT of people.

    Only the SHA-256 of the key is stored; its ``prefix`` (the part before the dot) is shown to tell keys apart.
    Each key acts through a user of its own (``user``: no password, never signs in), so that store scoping,
    roles, the request-rate throttle and the audit trail work for keys exactly as for staff: a key bound to
    stores has staff memberships there (its role), a key bound to none is in the order system's group. Made and
    revoked by ``orders.services.api_keys`` only."""

    prefix = models.CharField(_("prefix"), max_length=16, unique=True, editable=False)
    hashed_key = models.CharField(_("hashed key"), max_length=64, editable=False)
    name = models.CharField(_("name"), max_length=100, help_text=_("Which device or system uses the key."))
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("acts as"),
        on_delete=models.PROTECT,
        related_name="api_key",
        editable=False,
    )
    scopes = models.JSONField(_("scopes"), default=list)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True, help_text=_("Empty: never."))
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    def is_expired(self, now=None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())


class Language(models.TextChoices):
    ENGLISH = "en", _("English")
    TURKISH = "tr", _("Turkish")


class TrustTier(models.TextChoices):
    GOOD = "good", _("Good")
    WATCH = "watch", _("Watch")
    RESTRICTED = "restricted", _("Restricted")


class CustomerQuerySet(models.QuerySet):
    """Keeps ``name_folded`` with ``name`` on the paths that skip ``Customer.save()``."""

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        for customer in objs:
            customer.name_folded = search_fold(customer.name)
        update_fields = kwargs.get("update_fields")
        if update_fields and "name" in update_fields and "name_folded" not in update_fields:
            kwargs["update_fields"] = [*update_fields, "name_folded"]
        return super().bulk_create(objs, *args, **kwargs)

    def bulk_update(self, objs, fields, *args, **kwargs):
        if "name" in fields:
            objs = list(objs)
            for customer in objs:
                customer.name_folded = search_fold(customer.name)
            fields = [*fields, "name_folded"] if "name_folded" not in fields else fields
        return super().bulk_update(objs, fields, *args, **kwargs)

    def update(self, **kwargs):
        if "name" in kwargs and "name_folded" not in kwargs:
            if not isinstance(kwargs["name"], str):
                # An expression's value is not known here; a stale folded name would hide the customer.
                raise TypeError("Customer.name updated with an expression: pass name_folded as well.")
            kwargs["name_folded"] = search_fold(kwargs["name"])
        return super().update(**kwargs)


class Customer(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(_("name"), max_length=200)
    # search_fold(name), what the package search compares (orders.selectors.package_search_q). Text, not
    # a 200-character field: folding can lengthen a name ("ß" -> "ss", "ﷺ" -> 18 letters). The search is
    # "contains" (LIKE '%term%'), which a B-tree index cannot serve: PostgreSQL has a trigram index on it,
    # and on the phone and the e-mail (migration 0009). Searched joined from one store's packages without
    # it, PostgreSQL read every order and customer of the table (docs/performance.md).
    name_folded = models.TextField(_("name as searched"), editable=False, default="")
    phone = models.CharField(_("phone (E.164)"), max_length=20, unique=True)
    email = models.EmailField(_("e-mail"), blank=True)
    push_token = models.CharField(_("push token"), max_length=255, blank=True)
    language = models.CharField(_("language"), max_length=2, choices=Language.choices, default=Language.TURKISH)
    trust_tier = models.CharField(_("trust tier"), max_length=16, choices=TrustTier.choices, default=TrustTier.GOOD)
    restricted_until = models.DateTimeField(_("restricted until"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = CustomerQuerySet.as_manager()

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["name"]
        indexes = [
            # The tier refresh (services.customers_refresh_ended_tiers) walks the customers not in the
            # default state every few minutes: few of many, by primary key.
            models.Index(
                fields=["id"],
                name="customer_not_default_tier_idx",
                condition=~models.Q(trust_tier="good") | models.Q(restricted_until__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        # Here rather than in the services: every path that writes a name (intake, admin, seed data,
        # factories) goes through save(), and the folded copy must never drift from the name.
        self.name_folded = search_fold(self.name)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "name" in update_fields and "name_folded" not in update_fields:
            kwargs["update_fields"] = [*update_fields, "name_folded"]
        super().save(*args, **kwargs)

    @property
    def phone_masked(self) -> str:
        return mask_phone(self.phone)

    @property
    def email_masked(self) -> str:
        return mask_email(self.email)


def mask_phone(phone: str) -> str:
    """+905321234567 -> +90*******67: enough for staff to recognise, not to copy."""
    if len(phone) <= 5:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 5) + phone[-2:]


def mask_email(email: str) -> str:
    if not email or "@" not in email:
        return ""
    local, domain = email.split("@", 1)
    return f"{local[:1]}***@{domain}"


class NoShowStrike(models.Model):
    """One no-show penalty: at most one per package (SPEC 6)."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="no_show_strikes"
    )
    package = models.OneToOneField(
        "orders.Package", verbose_name=_("package"), on_delete=models.CASCADE, related_name="no_show_strike"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    forgiven_at = models.DateTimeField(_("forgiven at"), null=True, blank=True)
    forgiven_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("forgiven by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    forgiven_reason = models.CharField(_("forgiveness reason"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("no-show strike")
        verbose_name_plural = _("no-show strikes")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.customer} {self.created_at:%Y-%m-%d}"


class DeliveryType(models.TextChoices):
    IN_STORE = "in_store", _("In_store")  # SPEC 10 names the column's value so: "Delivery Type (In_store)"


class OrderStatus(models.TextChoices):
    PROCESSING = "processing", _("Processing")
    READY = "ready", _("Ready")
    PICKED_UP = "picked_up", _("Picked up")
    CANCELLED = "cancelled", _("Cancelled")


class Order(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order_number = models.CharField(_("order number"), max_length=64, unique=True)
    customer = models.ForeignKey(Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="orders")
    store = models.ForeignKey(Store, verbose_name=_("pickup store"), on_delete=models.PROTECT, related_name="orders")
    delivery_type = models.CharField(
        _("delivery type"), max_length=16, choices=DeliveryType.choices, default=DeliveryType.IN_STORE
    )
    # Derived from the packages (SPEC 3.3) by orders.services.order_refresh_status; stored for filtering.
    status = models.CharField(_("status"), max_length=16, choices=OrderStatus.choices, default=OrderStatus.PROCESSING)
    # Someone the customer named to collect the order (SPEC 13), from intake's optional pickupPerson: the ready
    # message goes to them too, with a pass of their own (the same code). Empty when the customer collects.
    # db_default: rows written by code that predates the column (a rolling deploy, raw inserts) are valid too.
    pickup_person_name = models.CharField(_("pickup person"), max_length=200, blank=True, default="", db_default="")
    pickup_person_phone = models.CharField(
        _("pickup person's phone (E.164)"), max_length=20, blank=True, default="", db_default=""
    )
    # Fingerprint of the intake body: the same orderNumber with another body is a conflict (SPEC 9.2).
    intake_fingerprint = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at"]
        indexes = [
            # Admin's list, newest first (with the key admin adds to make the order total).
            models.Index(fields=["-created_at", "-id"], name="order_created_idx"),
            # The scanner's exact match, any case (orders.selectors.order_number_q with exact=True).
            models.Index(Upper("order_number"), name="order_number_upper_idx"),
            # PostgreSQL also has a trigram index on UPPER(order_number) for the searches (migration 0009).
        ]

    def __str__(self) -> str:
        return self.order_number

    @property
    def pickup_person_phone_masked(self) -> str:
        return mask_phone(self.pickup_person_phone) if self.pickup_person_phone else ""


class PackageStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting")
    PACKED_ALL_ITEMS = "packed_all_items", _("Packed All Items")
    READY_FOR_CUSTOMER_PICKUP = "ready_for_customer_pickup", _("Ready for Customer Pickup")
    DELIVERED = "delivered", _("Delivered")
    CANCELLED = "cancelled", _("Cancelled")


# The package lists' order (staff pages, API): newest first, the id making it total so that no package is shown
# on two pages or none. The indexes in Package.Meta that end in created_at, id serve it.
PACKAGE_LIST_ORDER = ("-created_at", "-pk")


class Package(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order = models.ForeignKey(Order, verbose_name=_("order"), on_delete=models.CASCADE, related_name="packages")
    # No index of its own: the two in Meta.indexes that start with the store serve every lookup by store.
    store = models.ForeignKey(
        Store, verbose_name=_("store"), on_delete=models.PROTECT, related_name="packages", db_index=False
    )
    status = models.CharField(
        _("status"), max_length=32, choices=PackageStatus.choices, default=PackageStatus.WAITING, db_index=True
    )
    ready_at = models.DateTimeField(_("ready at"), null=True, blank=True)
    ready_expires_at = models.DateTimeField(_("ready expires at"), null=True, blank=True, db_index=True)
    reminder_sent_at = models.DateTimeField(_("reminder sent at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancellation_reason = models.CharField(_("cancellation reason"), max_length=255, blank=True)
    # The customer's check-ins from the pickup pass (SPEC 13), each kind once: "I'm here", and "On my way, about
    # N minutes". Set by orders.services.package_check_in only while the package is ready.
    checked_in_at = models.DateTimeField(_("customer at the store since"), null=True, blank=True)
    on_my_way_at = models.DateTimeField(_("customer on the way since"), null=True, blank=True)
    on_my_way_minutes = models.PositiveSmallIntegerField(_("expected in (minutes)"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("package")
        verbose_name_plural = _("packages")
        ordering = ["-created_at"]
        indexes = [
            # A store's list filtered by status (the staff list's tabs, their counts, the API's filters).
            models.Index(fields=["store", "status", "-created_at"], name="package_store_status_idx"),
            # A store's list, newest first: a page is read from the index and stops after its rows, where the
            # store's every package was read and sorted (the staff list, the API, admin filtered by store).
            models.Index(fields=["store", "-created_at", "-id"], name="package_store_created_idx"),
            # Every store's packages newest first (admin, a superuser's API list, admin's date hierarchy).
            models.Index(fields=["-created_at", "-id"], name="package_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.order.order_number} / {str(self.id)[:8]}"

    # Every package this product handles is Click & Collect (SPEC 2).
    delivery_type = DeliveryType.IN_STORE
    delivery_from_store = True


class PackageItem(models.Model):
    package = models.ForeignKey(Package, verbose_name=_("package"), on_delete=models.CASCADE, related_name="items")
    sku = models.CharField(_("SKU"), max_length=64)
    name = models.CharField(_("name"), max_length=255)
    quantity = models.PositiveIntegerField(_("quantity"), default=1)

    class Meta:
        verbose_name = _("package item")
        verbose_name_plural = _("package items")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku}"


class Channel(models.TextChoices):
    WEB = "web", _("Web")
    API = "api", _("API")
    ADMIN = "admin", _("Admin")
    SYSTEM = "system", _("System")
    CUSTOMER = "customer", _("Customer (pickup pass)")


class AuditKind(models.TextChoices):
    TRANSITION = "transition", _("Transition")
    VERIFICATION = "verification", _("Verification")
    CODE_ISSUED = "code_issued", _("Code issued")
    CODE_RESENT = "code_resent", _("Code resent")
    STRIKE_FORGIVEN = "strike_forgiven", _("No-show strike forgiven")
    CHECK_IN = "check_in", _("Customer check-in")


class AuditOutcome(models.TextChoices):
    SUCCESS = "success", _("Success")
    FAILURE = "failure", _("Failure")  # a verification: the code was wrong, expired, locked or missing
    REFUSED = "refused", _("Refused")  # a verification the rules refused before comparing a code


class CollectedBy(models.TextChoices):
    """Who collected a delivered package (SPEC 13), as the staff chose it."""

    CUSTOMER = "customer", _("Customer")
    PICKUP_PERSON = "pickup_person", _("Pickup person")


class AppendOnlyError(Exception):
    pass


class AuditRecord(models.Model):
    """Append-only history (SPEC 3.4). The application never edits or deletes a row; the code is never here."""

    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    kind = models.CharField(_("kind"), max_length=16, choices=AuditKind.choices)
    outcome = models.CharField(_("outcome"), max_length=8, choices=AuditOutcome.choices)
    # Stable error code of a refusal (otp_invalid, otp_locked, ...), empty on success.
    error_code = models.CharField(_("error"), max_length=32, blank=True)
    command = models.CharField(_("command"), max_length=64, blank=True)
    from_status = models.CharField(_("from"), max_length=32, blank=True)
    to_status = models.CharField(_("to"), max_length=32, blank=True)
    manual = models.BooleanField(_("manual confirmation"), default=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="audit_records",
        help_text=_("Empty for the system."),
    )
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    store = models.ForeignKey(Store, verbose_name=_("store"), on_delete=models.PROTECT, related_name="+")
    package = models.ForeignKey(
        Package, verbose_name=_("package"), null=True, blank=True, on_delete=models.PROTECT, related_name="audit"
    )
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    # A delivery's transition and its verification: who collected the package. Empty where not said (an order
    # with a pickup person delivered without the staff choosing) and on every other record.
    collected_by = models.CharField(_("collected by"), max_length=16, choices=CollectedBy.choices, blank=True)

    class Meta:
        verbose_name = _("audit record")
        verbose_name_plural = _("audit records")
        ordering = ["-created_at", "-id"]
        indexes = [
            # The per-user failed-verification window (SPEC 4) counts these.
            models.Index(fields=["actor", "kind", "outcome", "created_at"], name="audit_actor_failures_idx"),
        ]

    def __str__(self) -> str:
        # The admin's change-page title, breadcrumbs and inline rows: the labels in the reader's language, the time
        # in the zone in force (the admin's, ADMIN_TIME_ZONE).
        return f"{timezone.localtime(self.created_at):%Y-%m-%d %H:%M:%S} {self.get_kind_display()} {self.get_outcome_display()}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise AppendOnlyError("audit records are never changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit records are never deleted")

    @property
    def actor_display(self) -> str:
        """Who did it: the username, or "system" in the request's language (read at call time, not import)."""
        if self.actor_id:
            return self.actor.get_username()
        return gettext("customer") if self.channel == Channel.CUSTOMER else gettext("system")
