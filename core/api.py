"""The token endpoints of the API (SPEC 9.1): ``POST /api/auth/token/`` and ``/api/auth/token/refresh/``."""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework_simplejwt import views as jwt_views

from core.negotiation import JsonOnlyContentNegotiation


class StaffJWTScheme(SimpleJWTScheme):
    """Documents core.authentication.StaffJWTAuthentication as the Bearer JWT scheme."""

    target_class = "core.authentication.StaffJWTAuthentication"
    name = "jwtAuth"


class TokenPairOutputSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class TokenAccessOutputSerializer(serializers.Serializer):
    access = serializers.CharField()


def _error(description: str) -> OpenApiResponse:
    from orders.serializers import ErrorSerializer

    return OpenApiResponse(ErrorSerializer, description=description)


@extend_schema(
    tags=["auth"],
    summary="Obtain an access and a refresh token",
    responses={
        200: TokenPairOutputSerializer,
        400: _error("validation_error: username or password missing"),
        401: _error("not_authenticated: wrong credentials or inactive user"),
        429: _error("throttled"),
    },
)
class TokenObtainApi(jwt_views.TokenObtainPairView):
    content_negotiation_class = JsonOnlyContentNegotiation


@extend_schema(
    tags=["auth"],
    summary="Exchange a refresh token for a new access token",
    responses={
        200: TokenAccessOutputSerializer,
        400: _error("validation_error: refresh missing"),
        401: _error("not_authenticated: invalid, expired or wrong type of token"),
        429: _error("throttled"),
    },
)
class TokenRefreshApi(jwt_views.TokenRefreshView):
    content_negotiation_class = JsonOnlyContentNegotiation
