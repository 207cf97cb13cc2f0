"""Package commands (SPEC 9.2): the commands endpoint, verify-otp and resend-otp on a package, and the
CampusBite-compatible verify-otp on an order."""

from __future__ import annotations

from django.db.models import prefetch_related_objects
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_serializer
from rest_framework import serializers

from orders import commands as cmd
from orders import services
from orders.api.auth import request_output
from orders.api.base import (
    UUID_PATH,
    ApiView,
    _command_error_responses,
    _envelope,
    _error_responses,
    _success,
    _validated,
)
from orders.api.fields import TextField, _otp_fields
from orders.models import ApiKeyScope, Channel, OrderStatus
from orders.selectors import order_get_for_user, package_get_for_user
from orders.serializers import COMMAND_CODES, CURRENT_CODES_ATTR, OrderOutputSerializer, PackageOutputSerializer

ORDER_PICKED_UP = _("Order picked up.")
ORDER_DELIVERED_NO_CODE = _("Order picked up. No pickup code was required at this store.")


class PackageCommandApi(ApiView):
    api_key_scope = ApiKeyScope.PACKAGES_WRITE

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
            **_command_error_responses(),
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
            collected_by=data.get("collected_by"),
        )
        return _success(outcome.message, package=self.package_data(outcome.package))


@extend_schema_serializer(component_name="VerifyOtpInput")
class VerifyInputSerializer(serializers.Serializer):
    def get_fields(self):
        return _otp_fields()


def _delivery_message(outcome: services.DeliveryOutcome):
    return cmd.delivery_message(code_required=outcome.code_required, manual=outcome.manual)


class PackageVerifyOtpApi(ApiView):
    api_key_scope = ApiKeyScope.PACKAGES_WRITE

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
            **_command_error_responses(),
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
            collected_by=data.get("collected_by"),
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
    api_key_scope = ApiKeyScope.PACKAGES_WRITE

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
            **_error_responses(
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


class OrderVerifyOtpApi(ApiView):
    """CampusBite-compatible: ``POST /api/orders/<id>/verify-otp`` with ``{otp}`` or ``{manualConfirm: true}``."""

    api_key_scope = ApiKeyScope.PACKAGES_WRITE

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
            **_command_error_responses(),
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
            collected_by=data.get("collected_by"),
        )
        order = order_get_for_user(user=request.user, order_id=order.pk)
        if order.status == OrderStatus.PICKED_UP:
            message = ORDER_PICKED_UP if outcome.code_required else ORDER_DELIVERED_NO_CODE
        else:  # other packages of the order are still to come
            message = _delivery_message(outcome)
        return _success(message, order=self.order_data(order))
