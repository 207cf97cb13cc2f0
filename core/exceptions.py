"""One exception handler turns every error into ``{success: false, message, code, details?}`` (SPEC 9.4)."""

import logging

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from core.errors import DEFAULT_MESSAGES, ApplicationError

logger = logging.getLogger(__name__)


def error_body(code: str, message, details: dict | None = None) -> dict:
    body = {"success": False, "message": str(message), "code": code}
    if details:
        body["details"] = details
    return body


def _flatten(detail):
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_flatten(value) for value in detail]
    return str(detail)


def api_exception_handler(exc, context):
    if isinstance(exc, ApplicationError):
        response = Response(error_body(exc.code, exc.message, exc.details), status=exc.http_status)
        if exc.code == "throttled" and "retryAfter" in exc.details:
            response["Retry-After"] = str(exc.details["retryAfter"])
        return response
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        body = error_body("validation_error", DEFAULT_MESSAGES["validation_error"], {"fields": _flatten(exc.detail)})
    elif isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        body = error_body("not_authenticated", _flatten(exc.detail) if isinstance(exc.detail, str) else DEFAULT_MESSAGES["not_authenticated"])
        response.status_code = status.HTTP_401_UNAUTHORIZED
    elif isinstance(exc, exceptions.Throttled):
        wait = int(exc.wait or 1)
        body = error_body("throttled", DEFAULT_MESSAGES["throttled"], {"retryAfter": wait})
    elif isinstance(exc, exceptions.PermissionDenied):
        body = error_body("permission_denied", DEFAULT_MESSAGES["permission_denied"])
    elif isinstance(exc, exceptions.NotFound):
        body = error_body("not_found", DEFAULT_MESSAGES["not_found"])
    elif isinstance(exc, exceptions.ParseError | exceptions.UnsupportedMediaType):
        body = error_body("validation_error", _("The request body is not valid JSON."))
        response.status_code = status.HTTP_400_BAD_REQUEST
    elif isinstance(exc, exceptions.MethodNotAllowed):
        body = error_body("validation_error", _flatten(exc.detail))
        return Response(body, status=response.status_code, headers=dict(response.items()))
    else:
        body = error_body("validation_error", _flatten(exc.detail))
    response.data = body
    return response
