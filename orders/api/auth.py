"""Who may call the API's classes: store staff for packages, the order system for intake (SPEC 9.1), and the
request's ``OutputContext`` (roles and settings read once a request)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import permissions

from orders.models import ApiKey
from orders.serializers import OutputContext


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


class HasApiKeyScope(permissions.BasePermission):
    """A call made with an API key needs the scope the view names (``api_key_scope``, SPEC 14); a person's JWT
    is judged by roles alone. A key without the scope gets 403 ``permission_denied``."""

    def has_permission(self, request, view):
        if not isinstance(request.auth, ApiKey):
            return True
        scope = getattr(view, "api_key_scope", None)
        if scope is not None and scope in request.auth.scopes:
            return True
        self.message = _("This API key does not have the scope “%(scope)s”.") % {"scope": scope}
        return False


def request_output(request) -> OutputContext:
    """The request's ``OutputContext``: roles, store settings and the integration check, read once."""
    output = getattr(request, "_output_context", None)
    if output is None:
        output = request._output_context = OutputContext(request.user)
    return output
