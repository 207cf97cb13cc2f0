"""The pickup pass page (SPEC 13): ``/p/<token>``, opened from the customer's message, no sign-in.

The token is the credential and as secret as the code it seals (``otp.passes``), so the page is never cached,
sends no referrer, is not indexed, and answers every token it cannot read with the same plain "this pass is not
valid" page. The access log shows ``/p/…`` (``core.logging``). The page is in the customer's language, whatever
the browser asks for.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.safestring import mark_safe
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from core.errors import ApplicationError
from core.text import clock_text, local_time_text
from core.throttling import ClientAddressThrottle
from notifications.rendering import message_language
from orders import services
from orders.selectors import PassView, package_pass_view
from orders.services.check_ins import ON_MY_WAY_MINUTES
from otp import passes

# Every answer of the pass page, the refusals too.
PASS_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
}


def _with_pass_headers(response: HttpResponse) -> HttpResponse:
    for name, value in PASS_HEADERS.items():
        response.headers[name] = value
    return response


def pass_qr_svg(text: str) -> str:
    """The QR code of ``text`` as an inline SVG made here (segno, pure Python): one ``path`` with presentation
    attributes and no ``style``, which the Content-Security-Policy (no inline styles) would refuse, nor any title
    that would repeat the text."""
    import segno

    return segno.make(text, error="m", micro=False).svg_inline(
        border=4, omitsize=True, svgclass="pass-qr-code", lineclass=None, dark="#000", light="#fff"
    )


def _throttled(request: HttpRequest, scope: str) -> HttpResponse | None:
    throttle = ClientAddressThrottle(scope)
    if throttle.allow_request(request, None):
        return None
    retry_after = max(1, int(throttle.wait() or 1))
    response = render(request, "pass/refused.html", {"reason": "throttled"}, status=429)
    response.headers["Retry-After"] = str(retry_after)
    return response


def _invalid(request: HttpRequest) -> HttpResponse:
    return render(request, "pass/refused.html", {"reason": "invalid"}, status=404)


def _page_context(view: PassView, *, error: str = "") -> dict:
    package = view.package
    store = package.store
    with timezone.override(store.zone):
        code_valid_until = clock_text(view.code_expires_at)
        checked_in_at = clock_text(package.checked_in_at) if package.checked_in_at else ""
    deadline = local_time_text(package.ready_expires_at, store.zone) if package.ready_expires_at else ""
    code = view.code
    return {
        "view": view,
        "package": package,
        "order": package.order,
        "store": store,
        "deadline": deadline,
        "code_valid_until": code_valid_until,
        "code_groups": [code[:3], code[3:]] if code else None,
        "qr_svg": mark_safe(pass_qr_svg(view.qr_text)) if code else "",  # noqa: S308 - segno's markup, no input
        "item_count": sum(item.quantity for item in package.items.all()),
        "checked_in_at": checked_in_at,
        "minute_choices": ON_MY_WAY_MINUTES,
        "check_in_error": error,
    }


def _check_in(request: HttpRequest, view: PassView) -> HttpResponse:
    """POST of "I'm here" or "On my way": recorded (or already recorded), then the page again by GET (303), or
    the page with the refusal (a package no longer ready, a bad number of minutes)."""
    refused = _throttled(request, "pickup_pass_check_in")
    if refused is not None:
        return refused
    try:
        services.package_check_in(
            package_id=view.package.pk,
            kind=request.POST.get("kind"),
            minutes=request.POST.get("minutes"),
            holder=view.holder,
        )
    except ApplicationError as error:
        fresh = package_pass_view(pickup_pass=view.pickup_pass, now=timezone.now()) or view
        status = 409 if error.code == "invalid_state" else 400
        return render(request, "pass/pass.html", _page_context(fresh, error=str(error.message)), status=status)
    # Back to the page by GET, so a reload does not post again; the address is the one just posted to.
    return HttpResponseRedirect(request.path, status=303)


@csrf_exempt  # nothing here rests on a cookie: the token in the path is the only credential
@require_http_methods(["GET", "HEAD", "POST"])
def pickup_pass(request: HttpRequest, token: str) -> HttpResponse:
    refused = _throttled(request, "pickup_pass")
    if refused is not None:
        return _with_pass_headers(refused)
    pickup_pass = passes.pass_token_read(token.removesuffix("/"))  # every path answers with and without the slash
    view = package_pass_view(pickup_pass=pickup_pass, now=timezone.now()) if pickup_pass else None
    if view is None:
        return _with_pass_headers(_invalid(request))
    language = message_language(view.package.order.customer.language)
    with translation.override(language):
        if request.method == "POST":
            response = _check_in(request, view)
        else:
            response = render(request, "pass/pass.html", _page_context(view))
        response.headers["Content-Language"] = language
    return _with_pass_headers(response)
