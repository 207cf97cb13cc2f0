"""Output representations of the REST API (SPEC 9.3), shared by the API classes in ``orders/api.py``.

They only shape data: who may see what and which commands apply come from ``orders.selectors`` and
the commands table, and nothing here writes. A representation never carries a pickup code or its hash.

Lists avoid one query per package: the caller prefetches items and current codes
(``package_queryset_for_output``) and passes an ``OutputContext`` that computes the user's roles and
each store's ``IS_OTP_ENABLED`` once per request.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.db.models.manager import BaseManager
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.appsettings import get_setting
from core.errors import HTTP_STATUS
from orders import commands as cmd
from orders.models import Customer, DeliveryType, Order, OrderStatus, Package, PackageStatus, StaffRole, TrustTier
from orders.selectors import staff_roles, user_is_integration
from orders.services import customers_trust_at_store
from otp.models import PickupCode
from otp.services import THROTTLE_REASONS, pickup_code_current

CURRENT_CODES_ATTR = "current_pickup_codes"
COMMAND_CODES = list(cmd.COMMANDS)  # the schema's CommandEnum (SPECTACULAR_SETTINGS ENUM_NAME_OVERRIDES)


class UtcDateTimeField(serializers.DateTimeField):
    """ISO 8601 in UTC with ``Z`` (docs/api.md), as the webhooks write times, whatever Django's TIME_ZONE: DRF's
    own field writes the current time zone's offset (``-05:00`` on a server set to America/New_York)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("default_timezone", UTC)
        super().__init__(**kwargs)


def package_queryset_for_output(queryset: QuerySet[Package]) -> QuerySet[Package]:
    """What one package representation reads, fetched in a fixed number of queries for any page size."""
    return queryset.select_related("order__customer", "store").prefetch_related(
        "items",
        Prefetch(
            "pickup_codes",
            # The same rows as otp.services.pickup_code_current: neither used nor invalidated.
            queryset=PickupCode.objects.current(),
            to_attr=CURRENT_CODES_ATTR,
        ),
    )


class OutputContext:
    """Per-request facts that every package of a response shares: the caller's roles and store settings,
    and whether the caller is the order system. Each is read at most once per request, and not at
    all when the caller already knows it (``know``)."""

    def __init__(self, user: Any) -> None:
        self.user = user
        self._roles: dict[str, str] | None = None
        self._known_roles: dict[str, str | None] = {}
        self._otp_enabled: dict[str, bool] = {}
        self._integration: bool | None = None
        self._tiers: dict[tuple[str, Any], str] = {}

    @property
    def is_integration(self) -> bool:
        if self._integration is None:
            self._integration = user_is_integration(user=self.user)
        return self._integration

    def know(self, store_id: Any, *, role: str | None, otp_enabled: bool) -> None:
        """Record what a service read already for one store (the caller's role, IS_OTP_ENABLED)."""
        self._known_roles[str(store_id)] = role
        self._otp_enabled[str(store_id)] = otp_enabled

    def roles(self) -> dict[str, str]:
        """Store id -> the caller's role (``staff_roles``), read once; not for superusers (every store)."""
        if self._roles is None:
            self._roles = {str(key): value for key, value in staff_roles(user=self.user).items()}
        return self._roles

    def role(self, store_id: Any) -> str | None:
        key = str(store_id)
        if key in self._known_roles:
            return self._known_roles[key]
        user = self.user
        if user is not None and user.is_authenticated and user.is_active and user.is_superuser:
            return StaffRole.MANAGER  # as staff_roles answers for every store, without reading them all
        return self.roles().get(key)

    def trust_tier(self, customer: Customer, store_id: Any) -> str:
        """The customer's tier as the store sees it (``orders.services.customers_trust_at_store``)."""
        key = (str(store_id), customer.pk)
        if key not in self._tiers:
            self.know_tiers([(customer, store_id)])
        return self._tiers[key]

    def know_tiers(self, pairs: Iterable[tuple[Customer, Any]]) -> None:
        """Read the tiers of many (customer, store id) pairs at once: one query per store with its own
        NO_SHOW_* settings, none otherwise, so a page costs the same whatever its length."""
        by_store: dict[str, dict[Any, Customer]] = defaultdict(dict)
        for customer, store_id in pairs:
            if (str(store_id), customer.pk) not in self._tiers:
                by_store[str(store_id)][customer.pk] = customer
        for store_id, customers in by_store.items():
            for pk, (tier, _until) in customers_trust_at_store(customers=customers.values(), store=store_id).items():
                self._tiers[(store_id, pk)] = tier

    def otp_enabled(self, store_id: Any) -> bool:
        key = str(store_id)
        if key not in self._otp_enabled:
            self._otp_enabled[key] = bool(get_setting("IS_OTP_ENABLED", store_id))
        return self._otp_enabled[key]


def _output_context(serializer: serializers.Serializer) -> OutputContext:
    context = serializer.context.get("output")
    if context is None:
        request = serializer.context.get("request")
        context = OutputContext(getattr(request, "user", None))
        serializer.context["output"] = context
    return context


def _current_code(package: Package) -> PickupCode | None:
    prefetched = getattr(package, CURRENT_CODES_ATTR, None)
    if prefetched is not None:
        return prefetched[0] if prefetched else None
    return pickup_code_current(package=package)


class StoreOutputSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class CustomerOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    phone_masked = serializers.CharField()
    trust_tier = serializers.ChoiceField(
        choices=TrustTier.choices,
        help_text="As the package's (or order's) store judges it: its own NO_SHOW_* settings where it has them.",
    )


def _customer_output(serializer: serializers.Serializer, customer: Customer, store_id: Any) -> dict:
    tier = _output_context(serializer).trust_tier(customer, store_id)
    return CustomerOutputSerializer(
        {"name": customer.name, "phone_masked": customer.phone_masked, "trust_tier": tier}
    ).data


class PickupPersonOutputSerializer(serializers.Serializer):
    """Who else may collect the package (SPEC 13): the person the customer named at order intake."""

    name = serializers.CharField()
    phone_masked = serializers.CharField()


def _pickup_person_output(order: Order) -> dict | None:
    if not order.pickup_person_phone:
        return None
    return PickupPersonOutputSerializer(
        {"name": order.pickup_person_name, "phone_masked": order.pickup_person_phone_masked}
    ).data


class PackageListOutputSerializer(serializers.ListSerializer):
    """Reads what the packages of a page share (their customers' tiers) before representing them."""

    def to_representation(self, data: Any) -> list:
        packages = list(data.all() if isinstance(data, BaseManager) else data)
        _output_context(self).know_tiers((package.order.customer, package.store_id) for package in packages)
        return super().to_representation(packages)


class ItemOutputSerializer(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()


class OtpStateSerializer(serializers.Serializer):
    """The state of the package's current pickup code, never the code: SPEC 9.3 ``otp``."""

    required = serializers.BooleanField(help_text="Delivery at this store needs a pickup code (IS_OTP_ENABLED).")
    expires_at = UtcDateTimeField(allow_null=True)
    attempts_remaining = serializers.IntegerField(allow_null=True)
    locked = serializers.BooleanField()


class PackageOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    order_id = serializers.UUIDField()
    order_number = serializers.CharField(source="order.order_number")
    store = StoreOutputSerializer()
    status = serializers.ChoiceField(choices=PackageStatus.choices)
    status_display = serializers.CharField(source="get_status_display")
    delivery_type = serializers.ChoiceField(choices=DeliveryType.choices)
    delivery_from_store = serializers.BooleanField()
    customer = serializers.SerializerMethodField()
    pickup_person = serializers.SerializerMethodField()
    items = ItemOutputSerializer(many=True, source="items.all")
    ready_at = UtcDateTimeField(allow_null=True)
    ready_expires_at = UtcDateTimeField(allow_null=True)
    delivered_at = UtcDateTimeField(allow_null=True)
    cancelled_at = UtcDateTimeField(allow_null=True)
    cancellation_reason = serializers.CharField(allow_blank=True)
    otp = serializers.SerializerMethodField()
    available_commands = serializers.SerializerMethodField()
    created_at = UtcDateTimeField()
    updated_at = UtcDateTimeField()

    class Meta:
        list_serializer_class = PackageListOutputSerializer

    @extend_schema_field(CustomerOutputSerializer)
    def get_customer(self, package: Package) -> dict:
        return _customer_output(self, package.order.customer, package.store_id)

    @extend_schema_field(PickupPersonOutputSerializer(allow_null=True))
    def get_pickup_person(self, package: Package) -> dict | None:
        return _pickup_person_output(package.order)

    @extend_schema_field(OtpStateSerializer)
    def get_otp(self, package: Package) -> dict:
        code = _current_code(package)
        return OtpStateSerializer(
            {
                "required": _output_context(self).otp_enabled(package.store_id),
                "expires_at": code.expires_at if code else None,
                "attempts_remaining": code.attempts_remaining if code else None,
                "locked": bool(code and code.is_locked),
            }
        ).data

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=COMMAND_CODES)))
    def get_available_commands(self, package: Package) -> list[str]:
        # The commands table decides (orders.commands), as orders.services.package_available_commands
        # does, with the role and the setting read once per request instead of once per package.
        context = _output_context(self)
        return cmd.available_commands(
            status=package.status,
            role=context.role(package.store_id),
            otp_enabled=context.otp_enabled(package.store_id),
        )


class OrderOutputSerializer(serializers.Serializer):
    """An order with the packages the caller may see; ``orderStatus`` is the CampusBite vocabulary (SPEC 3.3)."""

    id = serializers.UUIDField()
    order_number = serializers.CharField()
    order_status = serializers.ChoiceField(source="status", choices=OrderStatus.choices)
    # The same value again (SPEC 14): CampusBite's web client shows the order a verification answers and reads its
    # `status` (the order page stops polling once it is picked_up), as CampusBite's own API sends both.
    status = serializers.ChoiceField(
        choices=OrderStatus.choices, help_text="The same as `orderStatus`, for CampusBite's clients."
    )
    delivery_type = serializers.ChoiceField(choices=DeliveryType.choices)
    store = StoreOutputSerializer()
    customer = serializers.SerializerMethodField()
    packages = serializers.SerializerMethodField()
    created_at = UtcDateTimeField()
    updated_at = UtcDateTimeField()

    @extend_schema_field(CustomerOutputSerializer)
    def get_customer(self, order: Order) -> dict:
        return _customer_output(self, order.customer, order.store_id)

    @extend_schema_field(PackageOutputSerializer(many=True))
    def get_packages(self, order: Order) -> list[dict]:
        packages = getattr(order, "visible_packages", None)
        if packages is None:
            packages = list(package_queryset_for_output(order.packages.all()).order_by("created_at", "pk"))
        # Representations the caller made already in this request (the verified package) are reused.
        known = getattr(order, "package_representations", {})
        rest = [package for package in packages if package.pk not in known]
        made = {}
        if rest:
            data = PackageOutputSerializer(rest, many=True, context=self.context).data
            made = {package.pk: item for package, item in zip(rest, data, strict=True)}
        return [known.get(package.pk) or made[package.pk] for package in packages]


class ErrorDetailsSerializer(serializers.Serializer):
    """``details`` of an error answer (SPEC 9.4): the keys an error may carry, each only with the codes named.

    Schema only: the answers are built by ``core.exceptions``. core/tests/test_schema.py checks these keys against
    what the server sends.
    """

    fields = serializers.DictField(
        required=False,
        help_text="validation_error: the errors per input field (a list of messages, or nested like the body).",
    )
    attempts_remaining = serializers.IntegerField(
        required=False, min_value=0, help_text="otp_invalid: wrong entries left on the current code; otp_locked: 0."
    )
    replaced_code = serializers.BooleanField(
        required=False, help_text="otp_invalid: the value is an earlier code of the package that a resend replaced."
    )
    retry_after = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="throttled, service_unavailable: seconds to wait; the Retry-After header says the same.",
    )
    reason = serializers.ChoiceField(
        choices=THROTTLE_REASONS,
        required=False,
        help_text="throttled by a pickup-code limit: resend_cooldown, code_quota or failed_verifications "
        "(absent for the request rate and the sign-in lockout).",
    )
    status = serializers.ChoiceField(
        choices=PackageStatus.choices, required=False, help_text="invalid_state: the package's current state."
    )
    command = serializers.ChoiceField(
        choices=COMMAND_CODES, required=False, help_text="invalid_state: the command that does not apply."
    )
    order_number = serializers.CharField(required=False, help_text="conflict: the order number already taken.")
    restricted_until = UtcDateTimeField(required=False, help_text="customer_restricted: the end of the restriction.")


class ErrorSerializer(serializers.Serializer):
    """Every error answer (SPEC 9.4)."""

    success = serializers.BooleanField(help_text="Always false.")
    message = serializers.CharField(help_text="For people, in the language of Accept-Language (en or tr).")
    code = serializers.ChoiceField(choices=list(HTTP_STATUS))
    details = ErrorDetailsSerializer(required=False)
