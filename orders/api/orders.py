"""Orders: one order with the packages the caller may see, and order intake from the order system
(idempotent on ``orderNumber``)."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import permissions, serializers, status
from rest_framework.response import Response

from core.errors import ApplicationError
from orders import services
from orders.api.auth import HasApiKeyScope, IsIntegrationUser
from orders.api.base import UUID_PATH, ApiView, _error_responses, _validated
from orders.api.fields import StrictIntegerField
from orders.api.intake import (
    IntakeEmailField,
    IntakeJSONParser,
    IntakeNameField,
    IntakeObjectSerializer,
    IntakeTextField,
)
from orders.models import ApiKeyScope, DeliveryType, Language
from orders.selectors import order_get_for_user
from orders.serializers import OrderOutputSerializer


class OrderDetailApi(ApiView):
    permission_classes = [permissions.IsAuthenticated, HasApiKeyScope]
    api_key_scope = ApiKeyScope.ORDERS_READ

    @extend_schema(
        operation_id="orders_retrieve",
        tags=["orders"],
        summary="One order with its packages",
        parameters=[UUID_PATH],
        responses={
            200: OrderOutputSerializer,
            **_error_responses(
                401, 404, 429, s404="not_found: no such order, or none of its packages in the caller's stores"
            ),
        },
    )
    def get(self, request, id):
        return Response(self.order_data(order_get_for_user(user=request.user, order_id=id)))


class OrderIntakeApi(ApiView):
    """Order intake from the order system: idempotent on ``orderNumber``."""

    permission_classes = [permissions.IsAuthenticated, HasApiKeyScope, IsIntegrationUser]
    api_key_scope = ApiKeyScope.ORDERS_WRITE
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

        class PickupPersonSerializer(IntakeObjectSerializer):
            name = IntakeNameField(max_length=200)
            phone = IntakeTextField(
                max_length=32,
                help_text="As the customer's: any common format, stored in E.164; a mobile number (the ready "
                "message and its pickup pass go to it by SMS).",
            )

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
        pickup_person = PickupPersonSerializer(
            required=False,
            allow_null=True,
            help_text="Someone else the customer named to collect the order: the ready message and a pickup pass "
            "of their own go to them too (the same code); the package shows who may collect.",
        )
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
            201: OpenApiResponse(OrderOutputSerializer, description="Created. `Location` is the order's URL."),
            200: OpenApiResponse(OrderOutputSerializer, description="The same order was sent before."),
            **_error_responses(
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
            pickup_person=dict(data["pickup_person"]) if data.get("pickup_person") else None,
        )
        order = order_get_for_user(user=request.user, order_id=order.pk)
        if not created:
            return Response(self.order_data(order), status=status.HTTP_200_OK)
        # Where the new order is read (SPEC 14): GET /api/orders/{id}/, absolute.
        location = request.build_absolute_uri(reverse("api:order-detail", kwargs={"id": order.pk}) + "/")
        return Response(self.order_data(order), status=status.HTTP_201_CREATED, headers={"Location": location})
