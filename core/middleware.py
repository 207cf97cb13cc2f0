"""A database outage answers 503 "try again in a few seconds", never Django's HTML 500.

While PostgreSQL restarts or fails over, every request that touches it raises ``OperationalError``
(cannot connect, the server closed the connection) or ``InterfaceError`` (the connection is already
closed). Those are not bugs, so the client is told to retry. A request that failed inside a service
changed nothing (its ``transaction.atomic`` rolled back); one that failed after its transaction
committed (saving the session) did change it, and its retry answers as for a repeat (a verification:
409 ``invalid_state``), so nothing is done twice:

- under ``/api/``: the SPEC 9.4 body with ``code: service_unavailable`` and ``details.retryAfter``;
- a staff page's htmx request (``HX-Request``): nothing swapped, the message as the event ``staff:error``
  (``HX-Trigger``), which the page script shows where the user is looking;
- any other page: a short ``templates/503.html``;

each with ``Retry-After``. Two hooks lead here. ``DatabaseUnavailableMiddleware.process_exception``
sees everything raised inside the view: the view, DRF's authentication (simplejwt loads the user),
``request.user`` loading the session, template rendering. What a middleware raises never reaches it
(Django turns it into a response right there), so ``config.urls`` also names ``server_error``
(``handler500``: an uncaught database error, such as a connection already closed while the session
is saved) and ``bad_request`` (``handler400``: ``SessionMiddleware`` reports a failed session save as
``SessionInterrupted``, a 400, whatever the cause). Any other exception goes on to Django's usual
handling and logging.

Django replaces a broken connection itself: the failed query marks it, and at the end of the
request ``close_old_connections`` closes it, so the next request connects again (with
``CONN_HEALTH_CHECKS`` for a connection that died while idle). Nothing here keeps or closes one.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
import zoneinfo

from django.conf import settings
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.exceptions import SessionInterrupted
from django.core.exceptions import BadRequest, SuspiciousOperation, ValidationError
from django.db import InterfaceError, OperationalError, connections, router
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.http.multipartparser import MultiPartParserError
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.datastructures import MultiValueDict
from django.views.defaults import bad_request as django_bad_request
from django.views.defaults import server_error as django_server_error

from core.errors import DEFAULT_MESSAGES
from core.exceptions import error_body
from core.logging import current_request_id
from core.throttling import RATE_LIMIT_ATTR, rate_limit_peek

logger = logging.getLogger(__name__)

DATABASE_ERRORS = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 5


def is_database_outage(error: BaseException | None) -> bool:
    return isinstance(error, DATABASE_ERRORS)


def database_unavailable_response(request: HttpRequest, error: BaseException) -> HttpResponse:
    """The 503 for ``request`` (JSON, an htmx event or HTML by path); logs one warning line.

    The line names the method, the path and the error class, never the body or the error's text
    (a driver may quote the statement, and a verification's statement holds the code's hash).
    """
    logger.warning(
        "database unavailable: %s %s answered 503 (%s)", request.method, request.path, error.__class__.__name__
    )
    # LocaleMiddleware has chosen the language for views; a middleware's failure may come after it
    # has run, so choose again from the request rather than rely on what is active.
    language = getattr(request, "LANGUAGE_CODE", None) or translation.get_language_from_request(request)
    with translation.override(language):
        message = str(DEFAULT_MESSAGES["service_unavailable"])
        if request.path_info.startswith("/api/"):
            body = error_body("service_unavailable", message, {"retryAfter": RETRY_AFTER_SECONDS})
            response = JsonResponse(body, status=503)
        elif request.headers.get("HX-Request") == "true":
            response = HttpResponse(status=503)
            response["HX-Reswap"] = "none"
            # JSON in ASCII: a header carries no other characters.
            response["HX-Trigger"] = json.dumps({"staff:error": message})
        else:
            response = HttpResponse(_render_page(request, message), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    # Logged above: Django's request logger would add an error line with a traceback.
    response._has_been_logged = True
    return response


def _render_page(request: HttpRequest, message: str) -> str:
    # Rendered without the request's context processors: ``user`` and ``messages`` would load the
    # session, from the database that is down. The page shows as for someone signed out.
    context = {
        "request": request,
        "user": AnonymousUser(),
        "messages": (),
        "csrf_token": get_token(request),  # the language switch still posts
        "message": message,
        "retry_after": RETRY_AFTER_SECONDS,
    }
    return render_to_string("503.html", context)


class DatabaseUnavailableMiddleware:
    """Turns a database error raised inside the view into the 503 (see the module docstring)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if is_database_outage(exception):
            return database_unavailable_response(request, exception)
        return None  # not ours: Django's usual handling


def server_error(request: HttpRequest, *args, **kwargs) -> HttpResponse:
    """``handler500``: the 503 when the uncaught exception is a database error, else Django's 500 page.

    Django calls it while handling the exception, so ``sys.exc_info()`` holds it.
    """
    error = sys.exc_info()[1]
    if is_database_outage(error):
        return database_unavailable_response(request, error)
    return django_server_error(request, *args, **kwargs)


def bad_request(request: HttpRequest, exception: Exception, *args, **kwargs) -> HttpResponse:
    """``handler400``: the 503 when the session could not be saved because the database failed; under
    ``/api/`` any other bad request (e.g. a body over the size limit) in the API's JSON shape.

    The database session store turns the failed UPDATE into ``UpdateError`` and the middleware that
    into ``SessionInterrupted``; the database error is at the start of that chain.
    """
    if isinstance(exception, SessionInterrupted):
        cause = _chained_database_error(exception)
        if cause is not None:
            return database_unavailable_response(request, cause)
    if request.path.startswith("/api/"):
        # E.g. a body over DATA_UPLOAD_MAX_MEMORY_SIZE (RequestDataTooBig): the API answers in its own shape.
        return JsonResponse(error_body("validation_error", DEFAULT_MESSAGES["validation_error"]), status=400)
    _forget_unreadable_form(request)
    return django_bad_request(request, exception, *args, **kwargs)


def _forget_unreadable_form(request: HttpRequest) -> None:
    """Read the request's form as empty when it cannot be read at all, before Django's 400 page runs the CSRF check
    (``requires_csrf_token``), which reads the form: a form declared in another charset than UTF-8 (``application/
    x-www-form-urlencoded; charset=latin-1``, refused with ``BadRequest``) sent with the CSRF cookie raised the same
    error again inside the 400 page, and then inside the 500 page: gunicorn's bare 500."""
    try:
        request.POST  # noqa: B018 - reading it is the check
    except (BadRequest, SuspiciousOperation, MultiPartParserError, OSError):  # the error being answered, again
        request._post, request._files = QueryDict(), MultiValueDict()


def _chained_database_error(exception: BaseException) -> BaseException | None:
    seen = 0
    error = exception.__cause__ or exception.__context__
    while error is not None and seen < 5:
        if is_database_outage(error):
            return error
        error, seen = error.__cause__ or error.__context__, seen + 1
    return None


class HealthProbeMiddleware:
    """Serve ``/healthz`` and ``/readyz`` (with or without the slash) before any other middleware.

    Probes connect to the process's own address, so their Host header is an internal IP and port that is
    not in ``ALLOWED_HOSTS``: behind this, ``CommonMiddleware`` answered them 400 (and logged an ERROR with a
    traceback), so an orchestrator restarted healthy processes and a load balancer took them all out. The
    probes read nothing from the request but the query string, so the Host header does not matter to them.
    First in ``MIDDLEWARE``; nothing else (sessions, locale, the HTTPS redirect) runs for a probe.
    """

    def __init__(self, get_response):
        from core import views

        self.get_response = get_response
        self.probes = {"/healthz": views.healthz, "/readyz": views.readyz}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        probe = self.probes.get(path[:-1] if path.endswith("/") else path)
        if probe is None:
            return self.get_response(request)
        return probe(request)


class AdminSelectedActionsMiddleware:
    """An admin list's action runs on the rows whose keys the form sent: a value that is no key of the list's model
    is dropped here, as Django drops a key that names no row.

    Django filters the list by ``pk__in`` of every ``_selected_action`` as posted, so a value its primary key cannot
    take (``x``, a NUL, a malformed UUID, an integer past the column's range) raised ``ValueError``,
    ``ValidationError`` or the database's overflow: 500 on every list with actions (Django's own
    ``delete_selected`` included). With nothing left, admin answers "Items must be selected" as for an empty
    selection. Admin marks each of its views with the ``ModelAdmin`` it serves.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> None:
        model_admin = getattr(view_func, "model_admin", None)
        if model_admin is None or request.method != "POST" or ACTION_CHECKBOX_NAME not in request.POST:
            return None
        sent = request.POST.getlist(ACTION_CHECKBOX_NAME)
        keys = [value for value in sent if _is_key_of(model_admin.model, value)]
        if len(keys) != len(sent):
            post = request.POST.copy()
            post.setlist(ACTION_CHECKBOX_NAME, keys)
            post._mutable = False
            request.POST = post
        return None


def _is_key_of(model, value: str) -> bool:
    field = model._meta.pk
    try:
        key = field.get_prep_value(field.to_python(value))
    except (ValidationError, ValueError, TypeError, OverflowError):
        return False
    if isinstance(key, int):
        column = field.target_field if field.is_relation else field  # a one-to-one key is its target's column
        low, high = connections[router.db_for_read(model)].ops.integer_field_range(column.get_internal_type())
        return (low is None or key >= low) and (high is None or key <= high)
    return "\x00" not in str(key)  # no text column takes a NUL (PostgreSQL refuses it)


class AdminTimeZoneMiddleware:
    """Django admin shows times in ``ADMIN_TIME_ZONE`` (its header names it); every other page keeps its own
    zone (the staff pages use the store's). Activated for the request only."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.zone = zoneinfo.ZoneInfo(settings.ADMIN_TIME_ZONE)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith(reverse("admin:index")):
            return self.get_response(request)
        timezone.activate(self.zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


REQUEST_ID_HEADER = "X-Request-Id"
# A client's own id is kept when it is 1 to 128 of these characters (a UUID, a ULID, a trace id); else a new one.
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._:+=/@-]{1,128}")


class RequestIdMiddleware:
    """Every answer carries ``X-Request-Id`` (SPEC 14): the client's, when it sent a valid one, else a new UUID.
    It is on every log line the request writes (``core.logging.RequestIdFilter``) and on gunicorn's access line
    (``config/gunicorn.conf.py``), so a support request that quotes it finds the request. First in MIDDLEWARE."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        sent = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = sent if REQUEST_ID_PATTERN.fullmatch(sent) else str(uuid.uuid4())
        request.request_id = request_id
        # Cleared when the request finishes (core.apps), not here: Django logs a 4xx/5xx line after the middleware.
        current_request_id.set(request_id)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response


class RateLimitHeadersMiddleware:
    """Every API answer carries the IETF ``RateLimit-Limit``, ``RateLimit-Remaining`` and ``RateLimit-Reset``
    headers (SPEC 14): the tightest request-rate throttle that counted the request (``core.throttling``), or, for
    an answer given before the throttles ran (401, 403, an unknown path), the client address's standing under the
    ``anon`` rate. None while the cache is down (the throttles then let everything through)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path_info.startswith("/api/"):
            state = getattr(request, RATE_LIMIT_ATTR, None) or rate_limit_peek(request)
            if state is not None:
                for name, value in state.headers().items():
                    response[name] = value
        return response
