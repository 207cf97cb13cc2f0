"""The token endpoints of the API (SPEC 9.1): ``POST /api/auth/token/`` and ``/api/auth/token/refresh/``;
the OpenAPI schema and its docs page (SPEC 9.2)."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils.module_loading import import_string
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.utils import OpenApiResponse, extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework_simplejwt import views as jwt_views
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer, TokenRefreshSerializer

from core.errors import ApplicationError
from core.negotiation import DefaultFormatContentNegotiation, JsonOnlyContentNegotiation


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
    """An error answer in the OpenAPI document: the serializer API_ERROR_SERIALIZER names (the API's, whose details
    list the apps' codes and states; core imports no app)."""
    return OpenApiResponse(import_string(settings.API_ERROR_SERIALIZER), description=description)


# Comments, not a docstring (the schema would show it). simplejwt's, with the username no longer than a username
# can be (the staff sign-in page's limit too): a longer one is a field error the integrator can read. (django-axes,
# which records every failed sign-in's username in a varchar(255), now gets it cut to that length whatever the form,
# core.throttling.client_username, so this limit is no longer what keeps that insert from failing.)
class StaffTokenObtainSerializer(TokenObtainPairSerializer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = get_user_model()._meta.get_field(self.username_field)
        self.fields[self.username_field] = serializers.CharField(write_only=True, max_length=field.max_length)


@extend_schema(
    tags=["auth"],
    summary="Obtain an access and a refresh token",
    description="`{username, password}` gives an access token (JWT_ACCESS_MINUTES, 15 by default) and a refresh "
    "token (JWT_REFRESH_DAYS, 1). Send `Authorization: Bearer <access>` on every other call.",
    responses={
        200: TokenPairOutputSerializer,
        400: _error("validation_error: username or password missing (details.fields)"),
        401: _error("not_authenticated: wrong credentials or inactive user"),
        429: _error(
            "throttled: request rate, or sign-ins are locked: AXES_FAILURE_LIMIT wrong passwords for the username "
            "from this address, or AXES_ADDRESS_FAILURE_LIMIT from this address for any usernames "
            "(details.retryAfter: the cool-off)"
        ),
    },
)
class TokenObtainApi(jwt_views.TokenObtainPairView):
    content_negotiation_class = JsonOnlyContentNegotiation
    serializer_class = StaffTokenObtainSerializer

    def post(self, request, *args, **kwargs):
        try:
            return super().post(request, *args, **kwargs)
        except exceptions.AuthenticationFailed:
            # django-axes locked the username at this address, or this address (SPEC 10, core.lockout):
            # authenticate() then answers "no account" even for the right password. Say what it is, with the
            # cool-off, instead of a misleading 401.
            if getattr(request, "axes_locked_out", False):
                from core.lockout import lockout_message

                message, seconds = lockout_message(request)
                raise ApplicationError("throttled", message, {"retryAfter": seconds}) from None
            raise


# Comments, not a docstring: the schema shows a serializer's docstring as its component's description.
# simplejwt's refresh, with the checks an access token gets (``StaffJWTAuthentication.get_user``): an unknown
# (deleted) user, an inactive one, or a password changed since the token was issued is a 401, not a new access
# token (simplejwt reads the user with ``get``, a 500 for a deleted user, and does not check revocation).
class StaffTokenRefreshSerializer(TokenRefreshSerializer):
    def validate(self, attrs):
        from core.authentication import StaffJWTAuthentication

        refresh = self.token_class(attrs["refresh"])
        StaffJWTAuthentication().get_user(refresh)
        return super().validate(attrs)


@extend_schema(
    tags=["auth"],
    summary="Exchange a refresh token for a new access token",
    description="`{refresh}` gives a new access token. A refresh token of a deleted or deactivated user, or one "
    "issued before the user's password changed, is refused (401).",
    responses={
        200: TokenAccessOutputSerializer,
        400: _error("validation_error: refresh missing (details.fields)"),
        401: _error(
            "not_authenticated: invalid, expired or wrong type of token; user deleted or inactive; password changed"
        ),
        429: _error("throttled: request rate (details.retryAfter)"),
    },
)
class TokenRefreshApi(jwt_views.TokenRefreshView):
    content_negotiation_class = JsonOnlyContentNegotiation
    serializer_class = StaffTokenRefreshSerializer


class _JsonErrorsMixin:
    """Errors in the API's JSON body (SPEC 9.4), whatever the view serves when it succeeds.

    The schema and docs views render with their own renderers (YAML, JSON, HTML); without this an
    error (405, 404 of an unknown ``?format=``, 401, 429) would come out in that format, or as a bare
    HTML page. OPTIONS answers its metadata in JSON as every other API view does (the docs page's
    HTML template cannot render it).
    """

    def finalize_response(self, request, response, *args, **kwargs):
        if isinstance(response, Response) and (response.exception or request.method == "OPTIONS"):
            renderer = api_settings.DEFAULT_RENDERER_CLASSES[0]()
            request.accepted_renderer, request.accepted_media_type = renderer, renderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)


# Comments, not docstrings: OPTIONS shows a view's docstring as its description, in English only.
# GET /api/schema/: the OpenAPI document, YAML by default, JSON by Accept or ?format=json.
class SchemaApi(_JsonErrorsMixin, SpectacularAPIView):
    content_negotiation_class = DefaultFormatContentNegotiation


# GET /api/docs/: Swagger UI over the schema, from drf-spectacular-sidecar's vendored files. The split view serves
# the page's start-up script at /api/docs/?script= instead of inline, and the template has no inline style: the
# Content-Security-Policy allows neither.
class DocsApi(_JsonErrorsMixin, SpectacularSwaggerSplitView):
    content_negotiation_class = DefaultFormatContentNegotiation
    template_name = "api/docs.html"
