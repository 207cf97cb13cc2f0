"""What the staff pages and their forms share: how htmx's requests are told apart, the ``next`` address a form
returns to, sign-in for forms, and the package lookup that answers a form for a package the user no longer reaches."""

from __future__ import annotations

import json
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django_htmx.http import HttpResponseClientRedirect

from core.errors import ApplicationError
from orders.models import Package
from orders.selectors import package_get_for_user

SIGNED_OUT = _("You are no longer signed in. Sign in again to continue.")
NOT_YOURS = _("This package is no longer in your stores. The list has been reloaded.")


def is_htmx(request: HttpRequest) -> bool:
    """A request htmx made (django-htmx's ``request.htmx``): answered with a partial, not a full page."""
    return bool(getattr(request, "htmx", False))


def error_for_htmx(message: Any, *, status: int) -> HttpResponse:
    """For htmx: nothing swapped, and the event ``staff:error`` with ``message``, which staff.js says where the user
    is looking (in the open dialog, whose backdrop hides the page's messages, else with them). JSON in ASCII:
    a header carries no other characters."""
    response = HttpResponse(status=status)
    response["HX-Reswap"] = "none"
    response["HX-Trigger"] = json.dumps({"staff:error": str(message)})
    return response


def client_redirect(url: str, *, status: int = 200) -> HttpResponse:
    """For htmx: load ``url`` as a full page (``HX-Redirect``), whatever the status says."""
    response = HttpResponseClientRedirect(url)
    response.status_code = status
    return response


def _safe_next(request: HttpRequest, fallback: str) -> str:
    """The form's ``next`` when it is a path on this site (what the pages put there), else ``fallback``: a bare
    word is no address (``redirect()`` would take it for a view's name and fail after the command was done)."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def staff_login_required(view):
    """``login_required`` that also fits the pages' forms and their script.

    Signed out, a GET goes to the login page with its own address as ``next``; a POST (a form of a page whose
    session has ended) with the page the form came from (``_safe_next``), never the form's POST-only address.
    An htmx request gets status 401 and ``HX-Redirect`` to that login page, which says why."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated:
            return view(request, *args, **kwargs)
        came_from = (
            _safe_next(request, reverse("staff:package-list")) if request.method == "POST" else request.get_full_path()
        )
        login_url = redirect_to_login(came_from).url
        if request.method == "POST" or is_htmx(request):
            # Only a page rendered while signed in posts a form or makes htmx requests; a link opened (a bookmark)
            # gets the plain login page, not "no longer signed in" said to someone who never was.
            messages.warning(request, SIGNED_OUT)
        if is_htmx(request):
            return client_redirect(login_url, status=401)
        return HttpResponseRedirect(login_url)

    return wrapper


class _NotYours(Exception):
    """A form posted for a package the user no longer reaches (their membership was removed, the package moved)."""


def _get_package(request: HttpRequest, package_id: Any, *, out_of_reach: type[Exception] = Http404) -> Package:
    """The package if the user reaches it; otherwise ``out_of_reach``: a 404 for a page, ``_NotYours`` for a form
    (which ``staff_form`` answers)."""
    try:
        return package_get_for_user(user=request.user, package_id=package_id)
    except ApplicationError:
        raise out_of_reach from None


def staff_form(view):
    """A form or dialog of a page rendered while the package was the user's: if it no longer is, htmx is sent to
    the page the form came from again (a fresh page, without the row), with why, instead of a bare 404 it can
    only call "Something went wrong. Try again" (nothing retried can work). Without JavaScript: the 404 page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except _NotYours:
            if not is_htmx(request):
                raise Http404 from None  # a plain page or form: the same 404 as a package never the user's
            messages.error(request, NOT_YOURS)
            return client_redirect(_safe_next(request, reverse("staff:package-list")), status=404)

    return wrapper
