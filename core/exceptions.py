"""One exception handler turns every API error into ``{success: false, message, code, details?}`` (SPEC 9.4).

Services raise ``ApplicationError``; DRF raises its own exceptions for authentication, permissions,
throttles and unparseable bodies. Both end here and leave with a stable code from
``core.errors.HTTP_STATUS``. Messages are evaluated inside the request, so they come out in the
language LocaleMiddleware chose from ``Accept-Language``.
"""

from __future__ import annotations

import logging
import math

from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from core.errors import DEFAULT_MESSAGES, HTTP_STATUS, ApplicationError
from core.text import SURROGATES

logger = logging.getLogger(__name__)

INVALID_BODY = _("The request body is not valid JSON.")
UNSUPPORTED_MEDIA_TYPE = _("Send the request body as application/json.")
METHOD_NOT_ALLOWED = _("The method %(method)s is not allowed here.")
# DRF's one message that is not marked for translation (a body of JSON null), by its text and code.
_UNTRANSLATED = {("No data provided", "null"): _("No data was sent: the body must be a JSON object.")}


def error_body(code: str, message, details: dict | None = None) -> dict:
    body = {"success": False, "message": str(message), "code": code}
    if details:
        body["details"] = details
    return body


def _flatten(detail):
    """DRF error details (ErrorDetail, lazy strings, nested lists and dicts) as plain JSON values.

    DRF's messages quote what was sent (``"x" is not a valid choice.``, order intake's unknown keys): a lone
    surrogate there could not be written as UTF-8 (a 500 for a bad body), so it is shown as U+FFFD."""
    if isinstance(detail, dict):
        return {SURROGATES.sub("\ufffd", str(key)): _flatten(value) for key, value in detail.items()}
    if isinstance(detail, list | tuple):
        return [_flatten(value) for value in detail]
    return SURROGATES.sub("\ufffd", str(_UNTRANSLATED.get((str(detail), getattr(detail, "code", None)), detail)))


def _message(detail, fallback) -> str:
    """DRF's own message when it is a single text (already translated), else our fallback."""
    return str(detail) if isinstance(detail, str) else str(fallback)


def api_exception_handler(exc, context):
    if isinstance(exc, ApplicationError):
        response = Response(error_body(exc.code, exc.message, exc.details), status=exc.http_status)
        if "retryAfter" in exc.details:
            response["Retry-After"] = str(exc.details["retryAfter"])
        return response
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None  # not an API error: a bug, left to Django's 500 handling and logging
    code, message, details = _classify(exc, context)
    response.status_code = (
        status.HTTP_405_METHOD_NOT_ALLOWED if isinstance(exc, exceptions.MethodNotAllowed) else HTTP_STATUS[code]
    )
    response.data = error_body(code, message, details)
    if details and "retryAfter" in details:
        response["Retry-After"] = str(details["retryAfter"])  # DRF truncates; the body rounds up: keep one value
    return response


def _classify(exc: exceptions.APIException, context) -> tuple[str, str, dict | None]:
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"nonFieldErrors": exc.detail}
        return "validation_error", str(DEFAULT_MESSAGES["validation_error"]), {"fields": _flatten(detail)}
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        # simplejwt's token errors carry a dict (detail, code, messages): answer with our message.
        return "not_authenticated", _message(exc.detail, DEFAULT_MESSAGES["not_authenticated"]), None
    if isinstance(exc, exceptions.Throttled):
        wait = max(1, math.ceil(exc.wait)) if exc.wait is not None else 1
        return "throttled", str(DEFAULT_MESSAGES["throttled"]), {"retryAfter": wait}
    if isinstance(exc, exceptions.PermissionDenied):
        return "permission_denied", _message(exc.detail, DEFAULT_MESSAGES["permission_denied"]), None
    if isinstance(exc, exceptions.NotFound):
        return "not_found", str(DEFAULT_MESSAGES["not_found"]), None
    if isinstance(exc, exceptions.ParseError):
        return "validation_error", str(INVALID_BODY), None
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return "validation_error", str(UNSUPPORTED_MEDIA_TYPE), None
    if isinstance(exc, exceptions.MethodNotAllowed):
        # Not a 9.4 status, but HTTP's own answer (with Allow); the body keeps the 9.4 shape.
        request = context.get("request")
        method = getattr(request, "method", "")
        return "validation_error", str(METHOD_NOT_ALLOWED % {"method": method}), None
    if isinstance(exc, exceptions.NotAcceptable):
        return "validation_error", _message(exc.detail, DEFAULT_MESSAGES["validation_error"]), None
    logger.warning("unmapped API exception %s", exc.__class__.__name__)
    return "validation_error", _message(exc.detail, DEFAULT_MESSAGES["validation_error"]), None


@csrf_exempt  # a POST to an unknown path must get the JSON 404 too, not the CSRF failure page
def api_not_found(request, *args, **kwargs):
    """Any other path under /api/: the JSON 404 of SPEC 9.4 instead of Django's HTML page."""
    return JsonResponse(error_body("not_found", DEFAULT_MESSAGES["not_found"]), status=404)
