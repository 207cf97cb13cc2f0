"""What every API class shares: the base view (JSON only, staff by default, 405 before permissions), the
documented error answers, the success envelope and input validation."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core import idempotency
from core.negotiation import JsonOnlyContentNegotiation
from orders.api.auth import HasApiKeyScope, IsStaffUser, request_output
from orders.api.schema import ApiAutoSchema
from orders.models import Order
from orders.selectors import order_packages_for_user
from orders.serializers import (
    ErrorSerializer,
    OrderOutputSerializer,
    PackageOutputSerializer,
    package_queryset_for_output,
)

# Set on an answer sent again for an Idempotency-Key (as Stripe names it).
REPLAYED_HEADER = "Idempotent-Replayed"


# Not an error: the stored answer, sent through DRF's exception path so that the handler never runs.
class _Replay(Exception):
    def __init__(self, answer: idempotency.StoredAnswer) -> None:
        self.answer = answer


UUID_PATH = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="Public id (UUID).")


def _error_responses(*codes: int, **overrides: str) -> dict:
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


def _command_error_responses() -> dict:
    """The error answers of a command on a package or an order (deliver, verify, the commands endpoint)."""
    return _error_responses(
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
    schema = ApiAutoSchema()
    permission_classes = [permissions.IsAuthenticated, HasApiKeyScope, IsStaffUser]
    # The scope an API key needs for this view (SPEC 14; orders.api.auth.HasApiKeyScope, documented per operation).
    api_key_scope: str | None = None

    # --- Idempotency-Key (SPEC 14; core.idempotency). Read only when the header is sent: the verify hot path
    # without it costs no query more.

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self._idempotency_record = None
        key = request.headers.get(idempotency.HEADER)
        if request.method != "POST" or key is None:
            return
        idempotency.idempotency_key_check(key)
        fingerprint = idempotency.idempotency_fingerprint(
            method=request.method, path=request.path_info, body=request._request.body
        )
        outcome = idempotency.idempotency_begin(user_id=request.user.pk, key=key, fingerprint=fingerprint)
        if isinstance(outcome, idempotency.StoredAnswer):
            raise _Replay(outcome)
        self._idempotency_record = outcome

    def handle_exception(self, exc):
        if isinstance(exc, _Replay):
            response = HttpResponse(exc.answer.body, status=exc.answer.status, content_type=exc.answer.content_type)
            if exc.answer.location:
                response["Location"] = exc.answer.location
            response[REPLAYED_HEADER] = "true"
            return response
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        record = getattr(self, "_idempotency_record", None)
        if record is not None:
            self._idempotency_record = None
            if hasattr(response, "render"):
                response.render()
            idempotency.idempotency_finish(
                record=record,
                status=response.status_code,
                body=response.content.decode(),
                content_type=response.get("Content-Type", ""),
                location=response.get("Location", ""),
            )
        return response

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            # Still claimed here only when the view raised past DRF's handling (a database outage's 503, a bug's
            # 500): nothing was kept, so a retry with the key runs again.
            record = getattr(self, "_idempotency_record", None)
            if record is not None:
                self._idempotency_record = None
                idempotency.idempotency_release(record=record)

    def check_permissions(self, request):
        # A method the path does not have answers 405 with Allow (docs/api.md) for every caller, whoever may use
        # the path's own methods: DRF checks permissions before it looks for the handler.
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
            visible = order_packages_for_user(
                order=order, user=self.request.user, is_integration=request_output(self.request).is_integration
            )
            packages = list(package_queryset_for_output(visible))
        order.visible_packages = packages
        return OrderOutputSerializer(order, context=self.output_context()).data


def _validated(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
