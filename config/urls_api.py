"""The REST API under /api/ (SPEC 9). Every path answers with and without a trailing slash, and any
other path under /api/ answers the JSON 404 of SPEC 9.4."""

from django.urls import include, re_path

from core.api import DocsApi, SchemaApi, TokenObtainApi, TokenRefreshApi
from core.exceptions import api_not_found

app_name = "api"

urlpatterns = [
    re_path(r"^auth/token/?$", TokenObtainApi.as_view(), name="token"),
    re_path(r"^auth/token/refresh/?$", TokenRefreshApi.as_view(), name="token-refresh"),
    re_path(r"^schema/?$", SchemaApi.as_view(), name="schema"),
    # Swagger UI from drf-spectacular-sidecar's vendored files (static), never a CDN.
    re_path(r"^docs/?$", DocsApi.as_view(url_name="api:schema"), name="docs"),
    re_path(r"", include("orders.urls")),
    re_path(r"^", api_not_found),
]
