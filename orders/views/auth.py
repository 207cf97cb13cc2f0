"""Signing in: the login page, django-axes' lockout answer, and the "Page expired" page of a refused CSRF token."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import views as auth_views
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from orders.views.common import _safe_next, error_for_htmx, is_htmx

PAGE_EXPIRED = _("This page has expired. Reload the page and try again.")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: the "Page expired" page, or for htmx the same said where the user is looking (in the
    open dialog, else the page's messages), nothing else on the page swapped."""
    if is_htmx(request):
        return error_for_htmx(PAGE_EXPIRED, status=403)
    # Without the script this page stands at the refused form's address (a POST: reloading it posts the stale
    # token again): it leads back to the page the form came from, to be loaded afresh.
    packages = reverse("staff:package-list")
    try:
        back = _safe_next(request, packages)
    except (OSError, SuspiciousOperation):  # a body that cannot be read (the middleware let it pass): the list
        back = packages
    return render(request, "403_csrf.html", {"back": back}, status=403)


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


def login_locked_out(request: HttpRequest, original_response: Any = None, credentials: Any = None) -> HttpResponse:
    """django-axes lockout (AXES_LOCKOUT_CALLABLE): the login page with the reason, or the API's error body."""
    from core.lockout import lockout_message

    message, seconds = lockout_message(request)
    if request.path.startswith("/api/"):
        if original_response is not None:
            return original_response  # the API's own SPEC 9.4 body (core.api.TokenObtainApi)
        return JsonResponse(
            {"success": False, "message": str(message), "code": "throttled", "details": {"retryAfter": seconds}},
            status=429,
            headers={"Retry-After": str(seconds)},
        )
    from django.contrib.auth.forms import AuthenticationForm

    form = AuthenticationForm(request, initial={"username": (credentials or {}).get("username", "")})
    return render(request, "registration/login.html", {"form": form, "locked_out": message}, status=429)
