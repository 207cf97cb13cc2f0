"""The REST API of packages and orders (SPEC 9.2): one class per action, each thin.

Every class parses its input with a nested serializer, calls one service or selector, and shapes
the answer with ``orders.serializers``. Refusals are ``ApplicationError`` from the services, turned
into the SPEC 9.4 body by ``core.exceptions.api_exception_handler``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from django.db.models import prefetch_related_objects
from django.utils.translation import gettext_lazy as _
from djangorestframework_camel_case.util import camelize_re, underscore_to_camel
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
    inline_serializer,
)
from rest_framework import permissions, serializers, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from core.errors import ApplicationError
from core.negotiation import JsonOnlyContentNegotiation
from core.pagination import PageNumberPagination
from core.parsers import JSONParser
from core.text import SURROGATES, text_nfc
from orders import commands as cmd
from orders import services
from orders.models import (
    PACKAGE_LIST_ORDER,
    Channel,
    DeliveryType,
    Language,
    Order,
    OrderStatus,
    Package,
    PackageStatus,
)
from orders.selectors import (
    order_get_for_user,
    package_get_for_user,
    package_search_q,
    packages_visible_to,
)
from orders.serializers import (
    COMMAND_CODES,
    CURRENT_CODES_ATTR,
    ErrorSerializer,
    OrderOutputSerializer,
    OutputContext,
    PackageOutputSerializer,
    package_queryset_for_output,
)

ORDER_PICKED_UP = _("Order picked up.")
ORDER_DELIVERED_NO_CODE = _("Order picked up. No pickup code was required at this store.")


# --- permissions ------------------------------------------------------------------------------------


class IsStaffUser(permissions.BasePermission):
    """Package commands and lists are for store staff; the order system's accounts are refused (403)."""

    message = _("Integration accounts may only create and read orders.")

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated) and (
            request.user.is_superuser or not request_output(request).is_integration
        )


class IsIntegrationUser(permissions.BasePermission):
    """Order intake is for the order system (group ``integration``) and administrators."""

    message = _("Only the order system may create orders.")

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated) and (
            request.user.is_superuser or request_output(request).is_integration
        )


def request_output(request) -> OutputContext:
    """The request's ``OutputContext``: roles, store settings and the integration check, read once."""
    output = getattr(request, "_output_context", None)
    if output is None:
        output = request._output_context = OutputContext(request.user)
    return output


# --- input fields -----------------------------------------------------------------------------------


class TextField(serializers.CharField):
    """A CharField that refuses lone surrogates (which no database can store) with a field error."""

    default_error_messages = {"surrogates": _("This field contains characters that are not allowed.")}

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if SURROGATES.search(value):
            self.fail("surrogates")
        return value


@extend_schema_field({"type": "string", "pattern": "^[0-9]{6}$", "nullable": True})
class CodeField(serializers.CharField):
    """The pickup code as sent: a JSON string, untouched (no trimming, no number coercion).

    Its format (six ASCII digits, documented as the schema's ``pattern``) is checked by the service, which must
    refuse it before counting.
    """

    default_error_messages = {"not_a_string": _("Send the pickup code as a string of 6 digits.")}

    def __init__(self, **kwargs):
        kwargs.setdefault("trim_whitespace", False)
        kwargs.setdefault("max_length", 64)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)


class QueryIntegerField(serializers.IntegerField):
    """An optional integer query parameter: absent is the default, but ``?page=`` (empty) is a field error.

    DRF skips an empty value of an optional field in a query string, which would make ``?page=`` page 1
    silently, and a repeated parameter (``?page=1&page=2``) is refused rather than one of them picked.
    """

    def get_value(self, dictionary):
        if self.field_name not in dictionary:
            return super().get_value(dictionary)
        values = (
            dictionary.getlist(self.field_name) if hasattr(dictionary, "getlist") else [dictionary[self.field_name]]
        )
        return values[0] if len(values) == 1 else values


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer only: DRF's IntegerField takes ``"2"`` and, through ``int()``, other scripts' digits
    (``"٣"`` was an order of 3), which the order system's own checks never saw as a number."""

    def to_internal_value(self, data):
        if not isinstance(data, int) or isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """JSON ``true`` or ``false`` only: ``"yes"`` or ``1`` must not confirm a handover."""

    default_error_messages = {"invalid": _("Must be true or false.")}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


def _otp_fields() -> dict:
    return {
        "otp": CodeField(required=False, allow_null=True, help_text="The customer's 6-digit pickup code."),
        "manual_confirm": StrictBooleanField(
            required=False,
            default=False,
            help_text="The employee saw the code on the customer's phone (when ALLOW_MANUAL_CONFIRM is on).",
        ),
    }


# --- shared shapes ----------------------------------------------------------------------------------

UUID_PATH = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="Public id (UUID).")


def _errors(*codes: int, **overrides: str) -> dict:
    """Documented error answers (all with the SPEC 9.4 body); ``overrides`` as ``s400="..."``."""
    descriptions = {
        400: (
            "validation_error, otp_invalid (details.attemptsRemaining, details.replacedCode), otp_expired, "
            "otp_locked, otp_not_issued"
        ),
        401: "not_authenticated: missing, malformed or expired token",
        403: "permission_denied: wrong role, integration account, or manual confirmation not allowed",
        404: "not_found: no such object, or not in the caller's stores",
        409: "invalid_state or conflict",
        422: "customer_restricted",
        429: "throttled: request rate, failed-verification limit, resend cooldown or quota (details.retryAfter)",
    }
    descriptions.update({int(key[1:]): text for key, text in overrides.items()})
    return {code: OpenApiResponse(ErrorSerializer, description=descriptions[code]) for code in codes}


def _command_errors() -> dict:
    """The error answers of a command on a package or an order (deliver, verify, the commands endpoint)."""
    return _errors(
        400, 401, 403, 404, 409, 429, s409="invalid_state: not applicable in the current state; nothing changed"
    )


def _envelope(name: str, **data_fields) -> serializers.Serializer:
    return inline_serializer(
        name=name,
        fields={
            "success": serializers.BooleanField(),
            "message": serializers.CharField(),
            "data": inline_serializer(name=f"{name}Data", fields=data_fields),
        },
    )


def _success(message, **data) -> Response:
    return Response({"success": True, "message": str(message), "data": data})


class ApiView(APIView):
    content_negotiation_class = JsonOnlyContentNegotiation
    permission_classes = [permissions.IsAuthenticated, IsStaffUser]

    def check_permissions(self, request):
        # A method the path does not have answers 405 with Allow (docs/api.md) for every caller: who may use the
        # path's own methods does not matter then ("GET /api/orders/" by staff was 403 "Only the order system
        # may create orders", by the order system 405). DRF checks permissions before it looks for the handler.
        method = request.method.lower()
        if method not in self.http_method_names or not hasattr(self, method):
            return
        super().check_permissions(request)

    def output_context(self) -> dict:
        return {"request": self.request, "output": request_output(self.request)}

    def package_data(self, package) -> dict:
        return PackageOutputSerializer(package, context=self.output_context()).data

    def order_data(self, order: Order, packages: list | None = None) -> dict:
        """The order with the packages the caller may see (``packages`` when the caller has them)."""
        if packages is None:
            user = self.request.user
            visible = (
                order.packages.all() if request_output(self.request).is_integration else packages_visible_to(user=user)
            )
            packages = list(package_queryset_for_output(visible.filter(order=order)).order_by("created_at", "pk"))
        order.visible_packages = packages
        return OrderOutputSerializer(order, context=self.output_context()).data


# --- packages -----------------------------------------------------------------------------------------


class PackageListApi(ApiView):
    @extend_schema_serializer(component_name="PackageFilter")
    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=PackageStatus.choices, required=False, allow_blank=True)
        store = TextField(required=False, allow_blank=True, max_length=16, help_text="Store code, e.g. IST01.")
        search = TextField(
            required=False, allow_blank=True, max_length=100, help_text="Order number, customer name or phone digits."
        )
        # Read by the paginator; validated here so a malformed value is a field error, not a silent default.
        page = QueryIntegerField(required=False, min_value=1, help_text="Page number, from 1.")
        pageSize = QueryIntegerField(  # the query parameter's own name
            required=False, min_value=1, max_value=200, help_text="Rows a page (50 by default)."
        )

    @extend_schema_serializer(component_name="PaginatedPackageList")
    class PageSerializer(serializers.Serializer):
        count = serializers.IntegerField()
        next = serializers.URLField(allow_null=True)
        previous = serializers.URLField(allow_null=True)
        results = PackageOutputSerializer(many=True)

    @extend_schema(
        operation_id="packages_list",
        tags=["packages"],
        summary="Packages of the caller's stores",
        parameters=[
            FilterSerializer,
        ],
        responses={
            200: PageSerializer,
            **_errors(
                400,
                401,
                403,
                404,
                429,
                s400="validation_error: a filter has a value it cannot have (details.fields)",
                s403="permission_denied: integration accounts",
                s404="not_found: no such page",
            ),
        },
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        user = request.user
        # The roles the rows' commands need anyway, read first: the stores by id make the page an index walk.
        packages = packages_visible_to(user=user, roles=None if user.is_superuser else request_output(request).roles())
        if value := filters.validated_data.get("status"):
            packages = packages.filter(status=value)
        if value := filters.validated_data.get("store"):
            packages = packages.filter(store__code__iexact=value)
        if value := filters.validated_data.get("search", "").strip():
            packages = packages.filter(package_search_q(value))
        paginator = PageNumberPagination(
            rows=package_queryset_for_output(Package.objects.order_by(*PACKAGE_LIST_ORDER))
        )
        page = paginator.paginate_queryset(packages.order_by(*PACKAGE_LIST_ORDER), request, view=self)
        data = PackageOutputSerializer(page, many=True, context=self.output_context()).data
        return paginator.get_paginated_response(data)


class PackageDetailApi(ApiView):
    @extend_schema(
        operation_id="packages_retrieve",
        tags=["packages"],
        summary="One package",
        parameters=[UUID_PATH],
        responses={
            200: PackageOutputSerializer,
            **_errors(401, 403, 404, 429, s403="permission_denied: integration accounts"),
        },
    )
    def get(self, request, id):
        package = package_get_for_user(user=request.user, package_id=id)
        return Response(self.package_data(package))


class PackageCommandApi(ApiView):
    @extend_schema_serializer(component_name="PackageCommandInput")
    class InputSerializer(serializers.Serializer):
        command = serializers.ChoiceField(choices=COMMAND_CODES)
        reason = TextField(required=False, allow_blank=True, max_length=255, help_text="Needed by CANCEL_PACKAGE.")

        def get_fields(self):
            return {**super().get_fields(), **_otp_fields()}

    @extend_schema(
        operation_id="packages_command",
        tags=["packages"],
        summary="Run a package command",
        description="The command must be one of the package's `availableCommands`. "
        "SELF_SERVICE_PACKAGE_DELIVERY_COMMAND needs `otp` or `manualConfirm` when pickup codes are on; "
        "CANCEL_PACKAGE (managers) needs a `reason`.",
        parameters=[UUID_PATH],
        request=InputSerializer,
        responses={
            200: _envelope("PackageCommandResult", package=PackageOutputSerializer()),
            **_command_errors(),
        },
    )
    def post(self, request, id):
        data = _validated(self.InputSerializer, request)
        package = package_get_for_user(user=request.user, package_id=id)
        outcome = services.package_run_command(
            package=package,
            command=data["command"],
            actor=request.user,
            channel=Channel.API,
            otp_value=data.get("otp"),
            manual=data["manual_confirm"],
            reason=data.get("reason", ""),
        )
        return _success(outcome.message, package=self.package_data(outcome.package))


@extend_schema_serializer(component_name="VerifyOtpInput")
class VerifyInputSerializer(serializers.Serializer):
    def get_fields(self):
        return _otp_fields()


def _delivery_message(outcome: services.DeliveryOutcome):
    return cmd.delivery_message(code_required=outcome.code_required, manual=outcome.manual)


class PackageVerifyOtpApi(ApiView):
    @extend_schema(
        operation_id="packages_verify_otp",
        tags=["packages"],
        summary="Check the pickup code and hand the package over",
        parameters=[UUID_PATH],
        request=VerifyInputSerializer,
        examples=[
            OpenApiExample("code", value={"otp": "042519"}, request_only=True),
            OpenApiExample("manual", value={"manualConfirm": True}, request_only=True),
        ],
        responses={
            200: _envelope("PackageVerifyResult", package=PackageOutputSerializer(), order=OrderOutputSerializer()),
            **_command_errors(),
        },
    )
    def post(self, request, id):
        data = _validated(VerifyInputSerializer, request)
        # The counter's hot path: the service reads (and locks) the package itself, answering
        # not_found for a package outside the caller's stores, and the answer is built from the rows
        # it loaded instead of reading them again (docs/performance.md).
        outcome = services.package_deliver(
            package=id,
            actor=request.user,
            channel=Channel.API,
            otp_value=data.get("otp"),
            manual=data["manual_confirm"],
        )
        package = outcome.package
        request_output(request).know(package.store_id, role=outcome.role, otp_enabled=outcome.code_required)
        setattr(package, CURRENT_CODES_ATTR, [])  # delivered: its code was used or invalidated
        prefetch_related_objects([package], "items")
        # The caller sees every package of the order in its stores; an order of one is this package.
        siblings = [package] if package.order_package_count == 1 else None
        package_data = self.package_data(package)
        package.order.package_representations = {package.pk: package_data}  # not made twice
        return _success(
            _delivery_message(outcome), package=package_data, order=self.order_data(package.order, siblings)
        )


class PackageResendOtpApi(ApiView):
    @extend_schema_serializer(component_name="PackageResendInput")
    class InputSerializer(serializers.Serializer):
        pass

    @extend_schema(
        operation_id="packages_resend_otp",
        tags=["packages"],
        summary="Replace the pickup code with a new one and send it",
        parameters=[UUID_PATH],
        request=InputSerializer,
        responses={
            200: _envelope("PackageResendResult", package=PackageOutputSerializer()),
            **_errors(
                400,
                401,
                403,
                404,
                409,
                429,
                s400="validation_error: the body is not a JSON object",
                s403="permission_denied: integration accounts",
                s409="invalid_state: the package is not ready for pickup, or the store uses no pickup codes",
                s429="throttled: resend cooldown or codes-per-package quota, or request rate (details.retryAfter)",
            ),
        },
    )
    def post(self, request, id):
        _validated(self.InputSerializer, request)
        package = package_get_for_user(user=request.user, package_id=id)
        package = services.package_resend_code(package=package, actor=request.user, channel=Channel.API)
        return _success(cmd.DONE_MESSAGES[cmd.RESEND_CODE], package=self.package_data(package))


# --- orders -------------------------------------------------------------------------------------------


class OrderVerifyOtpApi(ApiView):
    """CampusBite-compatible: ``POST /api/orders/<id>/verify-otp`` with ``{otp}`` or ``{manualConfirm: true}``."""

    @extend_schema(
        operation_id="orders_verify_otp",
        tags=["orders"],
        summary="Check the pickup code against the order's ready packages (CampusBite-compatible)",
        description="The code opens the one ready package of the order (in the caller's stores) whose code it "
        "matches; a wrong code counts an attempt on each. `manualConfirm` hands over every ready package whose "
        "code is live.",
        parameters=[UUID_PATH],
        request=VerifyInputSerializer,
        responses={
            200: _envelope("OrderVerifyResult", order=OrderOutputSerializer()),
            **_command_errors(),
        },
    )
    def post(self, request, id):
        data = _validated(VerifyInputSerializer, request)
        order = order_get_for_user(user=request.user, order_id=id)
        outcome = services.order_verify(
            order=order,
            actor=request.user,
            channel=Channel.API,
            otp_value=data.get("otp"),
            manual=data["manual_confirm"],
        )
        order = order_get_for_user(user=request.user, order_id=order.pk)
        if order.status == OrderStatus.PICKED_UP:
            message = ORDER_PICKED_UP if outcome.code_required else ORDER_DELIVERED_NO_CODE
        else:  # other packages of the order are still to come
            message = _delivery_message(outcome)
        return _success(message, order=self.order_data(order))


class OrderDetailApi(ApiView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        operation_id="orders_retrieve",
        tags=["orders"],
        summary="One order with its packages",
        parameters=[UUID_PATH],
        responses={
            200: OrderOutputSerializer,
            **_errors(401, 404, 429, s404="not_found: no such order, or none of its packages in the caller's stores"),
        },
    )
    def get(self, request, id):
        return Response(self.order_data(order_get_for_user(user=request.user, order_id=id)))


# --- order intake input -----------------------------------------------------------------------------


def _camel(name: str) -> str:
    """A field's key in the body (``order_number`` -> ``orderNumber``), as the renderer and the parser spell it."""
    return re.sub(camelize_re, underscore_to_camel, name)


class IntakeObject(dict):
    """A JSON object of the intake body, converted to the serializers' names, with its keys as they were sent."""

    keys_as_sent: tuple[str, ...] = ()


class IntakeJSONParser(JSONParser):
    """The API's parser, keeping each object's keys as sent: it drops a key not in the API's camelCase spelling
    (``order_number``, ``OrderNumber``), which order intake names as an unknown key rather than losing it."""

    def _from_camel(self, data):
        converted = super()._from_camel(data)
        if isinstance(data, dict):
            converted = IntakeObject(converted)
            converted.keys_as_sent = tuple(data)
        return converted


# How many unknown keys of one object a refusal names, and how much of each.
UNKNOWN_KEYS_NAMED = 10
KEY_SHOWN = 64


class IntakeObjectSerializer(serializers.Serializer):
    """An object of the intake body: a key it does not have is refused and named (a misspelt optional key, such as
    ``lang`` or ``deliverytype``, would otherwise be lost without a word), beside any other field error."""

    def to_internal_value(self, data):
        unknown = self._unknown_keys(data)
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as error:
            if unknown and isinstance(error.detail, dict):
                error.detail[api_settings.NON_FIELD_ERRORS_KEY] = unknown
            raise
        if unknown:
            raise serializers.ValidationError({api_settings.NON_FIELD_ERRORS_KEY: unknown})
        return value

    def _unknown_keys(self, data) -> list[str]:
        """The messages of the first UNKNOWN_KEYS_NAMED unknown keys, each key cut at KEY_SHOWN characters: every
        message lists the level's keys too, so naming each of 100,000 short keys made an answer eight times the
        body (and one key of a megabyte was sent back whole)."""
        if not isinstance(data, Mapping):
            return []  # not an object: the serializer's own error
        keys = [_camel(field.field_name) for field in self._writable_fields]
        sent = getattr(data, "keys_as_sent", None) or [_camel(key) for key in data]
        unknown = [key for key in sent if key not in keys][:UNKNOWN_KEYS_NAMED]
        return [
            _("Unknown key “%(key)s”. The keys here are: %(keys)s.")
            % {"key": key if len(key) <= KEY_SHOWN else key[: KEY_SHOWN - 1] + "…", "keys": ", ".join(keys)}
            for key in unknown
        ]


class JsonStringOnly:
    """A text field of the intake body takes a JSON string only: DRF's CharField turns a number into text, so
    ``"orderNumber": 1001`` became ``"1001"`` and ``00123`` sent as a number lost its zeros without a word."""

    default_error_messages = {
        "not_a_string": _(
            'Send this as a JSON string (in quotes, such as "0123"), not a number, true/false, a list or an object.'
        )
    }

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)


class IntakeTextField(JsonStringOnly, TextField):
    pass


class IntakeNameField(IntakeTextField):
    """A name, which order intake stores in NFC (``core.text.text_nfc``): ``max_length`` counts it as stored. A few
    characters grow under NFC (U+FB2C is three), and the column's length is the stored text's (PostgreSQL refused
    a longer one: 500). Composed here only to count: the service composes what it stores and fingerprints."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if self.max_length is not None and len(text_nfc(value)) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return value


class IntakeEmailField(JsonStringOnly, serializers.EmailField):
    pass


class OrderIntakeApi(ApiView):
    """Order intake from the order system: idempotent on ``orderNumber``."""

    permission_classes = [permissions.IsAuthenticated, IsIntegrationUser]
    parser_classes = [IntakeJSONParser]

    @extend_schema_serializer(component_name="OrderIntakeInput")
    class InputSerializer(IntakeObjectSerializer):
        class CustomerSerializer(IntakeObjectSerializer):
            name = IntakeNameField(max_length=200)
            phone = IntakeTextField(
                max_length=32,
                help_text="Any common format; stored in E.164 (Turkish by default). A mobile number: the pickup code "
                "goes out by SMS, so a fixed line, toll-free or premium-rate number is refused.",
            )
            email = IntakeEmailField(required=False, allow_blank=True, allow_null=True, max_length=254)
            language = serializers.ChoiceField(choices=Language.choices, required=False, allow_null=True)

            def to_internal_value(self, data):
                # Order systems write null for what they do not have: null is the key left out, so that both
                # bodies are one (the replay's comparison) and the customer's stored value stays as it is.
                value = super().to_internal_value(data)
                return {key: field for key, field in value.items() if field is not None}

            def validate_phone(self, value):
                try:
                    return services.phone_normalize(value)
                except ApplicationError as error:
                    raise serializers.ValidationError(error.details["fields"]["customer"]["phone"]) from None

        class PackageSerializer(IntakeObjectSerializer):
            class ItemSerializer(IntakeObjectSerializer):
                sku = IntakeTextField(max_length=64)
                name = IntakeNameField(max_length=255)
                quantity = StrictIntegerField(
                    min_value=1, max_value=100_000, help_text='A JSON integer: not "2", not 2.0, not true.'
                )

            items = ItemSerializer(many=True, allow_empty=False, max_length=500)

        order_number = IntakeTextField(max_length=64, help_text='A JSON string, e.g. "001001", never a number.')
        customer = CustomerSerializer()
        store = IntakeTextField(max_length=16, help_text="Store code, e.g. IST01, in any case (ist01 is IST01).")
        delivery_type = serializers.ChoiceField(choices=DeliveryType.choices, required=False, default="in_store")
        packages = PackageSerializer(many=True, allow_empty=False, max_length=100)
        # The store is looked up by order_intake, after the replay check: an order sent again answers 200 with
        # the existing order even when its store has been deactivated since.

    @extend_schema(
        operation_id="orders_create",
        tags=["orders"],
        summary="Create a Click & Collect order (order system)",
        description="The same `orderNumber` with the same body again answers 200 with the existing order; "
        "with another body 409 `conflict`. Packages start `waiting`. Text fields take JSON strings only, `quantity` "
        "a JSON integer; an unknown key at any level is refused (400, named in that level's `nonFieldErrors`); the "
        "store code is matched in any case; the phone must be a mobile number (the pickup code goes out by SMS).",
        request=InputSerializer,
        responses={
            201: OpenApiResponse(OrderOutputSerializer, description="Created."),
            200: OpenApiResponse(OrderOutputSerializer, description="The same order was sent before."),
            **_errors(
                400,
                401,
                403,
                409,
                422,
                429,
                s400="validation_error: field errors in details.fields (phone, store, packages, items, quantity, ...)",
                s403="permission_denied: not an integration account",
                s409="conflict: the orderNumber exists with a different body",
                s422="customer_restricted: the customer is restricted after repeated no-shows",
            ),
        },
    )
    def post(self, request):
        data = _validated(self.InputSerializer, request)
        order, created = services.order_intake(
            order_number=data["order_number"],
            customer=data["customer"],
            store_code=data["store"],
            delivery_type=data["delivery_type"],
            packages=[{"items": [dict(item) for item in package["items"]]} for package in data["packages"]],
        )
        order = order_get_for_user(user=request.user, order_id=order.pk)
        return Response(self.order_data(order), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


def _validated(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
