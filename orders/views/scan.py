"""The search box of every staff page (SPEC 12), where a barcode scanner types and presses Enter.

A scan is posted, so that what it carries stays out of addresses and history. An order number that names one package
opens that package: its page, with its next step in the dialog ("Verify pickup code" when it is ready, its next
command otherwise). Anything else is the list of what it matches. Without JavaScript the answer is a redirect to
that page; for htmx the page's partial, its address pushed to the history, in one round trip.

A pickup pass's QR text (``PICKUP:<package id>:<code>``, SPEC 13) opens its package and enters its code in one step:
the right code delivers it ("Package delivered: hand over ..."), a wrong or stale one is counted as an attempt, as
typing it would, and the Verify dialog opens with why. Another store's package, or a text that names none, is not
found. The text is never echoed: not into the page, an address, the history, nor (``sensitive_post_parameters``) an
error report."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from core.appsettings import StoreSettings
from core.errors import ApplicationError
from orders import commands as cmd
from orders import services
from orders.forms import DeliverForm, PackageFilterForm
from orders.models import Channel, Package, PackageStatus
from orders.selectors import (
    NEEDS_ACTION,
    package_find_by_pass_text,
    package_get_for_user,
    package_ids_by_order_number,
    staff_roles,
)
from orders.views.commands import _deliver_context, delivered_message
from orders.views.common import is_htmx, staff_login_required
from orders.views.detail import detail_context
from orders.views.listing import _list_url, _no_store, is_pass_text, render_list, user_store
from otp.passes import QR_PREFIX

NOTHING_TO_DO = _("%(order)s is %(status)s: there is nothing to do.")
PASS_NOT_FOUND = _("No package in your stores matches this pickup pass.")


def _next_step(request: HttpRequest, package: Package, next_url: str) -> str:
    """The dialog of a scanned package's next step, or "" when it has none (delivered, cancelled)."""
    codes = [action.code for action in package.actions]
    if cmd.DELIVER in codes:
        context = _deliver_context(request, package, DeliverForm(), next_url=next_url)
        return render_to_string("orders/_deliver_dialog.html", context, request=request)
    # Packing or making ready; never "Cancel" or "Resend Code", which are no package's next step.
    steps = [action for action in package.actions if action.code in (cmd.COMPLETE_PACKAGING, cmd.READY_FOR_PICKUP)]
    if not steps:
        return ""
    context = {"package": package, "action": steps[0], "next": next_url}
    return render_to_string("orders/_command_dialog.html", context, request=request)


def _open_package(
    request: HttpRequest, package_id: Any, *, refused: ApplicationError | None = None, delivered: bool = False
) -> HttpResponse:
    """The package's page with its next step in the dialog. After a pass's code was refused (``refused``), the
    Verify dialog saying why; after it delivered the package (``delivered``), the page alone (the message is
    queued)."""
    detail_url = reverse("staff:package-detail", args=[package_id])
    if not is_htmx(request):
        if refused is not None:
            messages.error(request, refused.message)
            return redirect(f"{reverse('staff:package-deliver', args=[package_id])}?{urlencode({'next': detail_url})}")
        return redirect(detail_url)
    package = package_get_for_user(user=request.user, package_id=package_id)
    context = detail_context(request, package)
    if refused is not None:
        dialog = _deliver_context(request, context["package"], DeliverForm(), error=refused, next_url=detail_url)
        context["dialog_html"] = render_to_string("orders/_deliver_dialog.html", dialog, request=request)
    elif not delivered:
        context["dialog_html"] = _next_step(request, context["package"], detail_url)
        if not context["dialog_html"]:
            messages.warning(
                request, NOTHING_TO_DO % {"order": package.order.order_number, "status": package.get_status_display()}
            )
    response = render(request, "orders/package_detail.html", context)
    response["HX-Push-Url"] = detail_url
    return response


def _pass_not_found(request: HttpRequest, roles: dict[str, str], form: PackageFilterForm) -> HttpResponse:
    """A pass of no package in the user's stores: said so, over the store's list as it opens (the text is not
    searched for, so neither the list, its links nor the pushed address carry it)."""
    messages.error(request, PASS_NOT_FOUND)
    store = user_store(request, roles, form.value("store") or "")
    list_url = _list_url(store, "", NEEDS_ACTION)
    if not is_htmx(request):
        return redirect(list_url)
    response = render_list(request, roles, QueryDict(urlencode({"store": store.code})))
    response["HX-Push-Url"] = list_url
    return response


def _scan_pass(request: HttpRequest, roles: dict[str, str], form: PackageFilterForm, text: str) -> HttpResponse:
    """A pickup pass scanned (SPEC 12): its package delivered with its code, or the Verify dialog with why not."""
    # Any case (a scanner with Caps Lock on types "pickup:"); the package id's hex digits are read in either.
    found = package_find_by_pass_text(text=QR_PREFIX + text[len(QR_PREFIX) :], stores=roles)
    if found is None:
        return _pass_not_found(request, roles, form)
    package, code = found
    if package.status != PackageStatus.READY_FOR_CUSTOMER_PICKUP or not StoreSettings(package.store_id).IS_OTP_ENABLED:
        # Nothing a code opens (delivered, cancelled, not yet ready: "nothing to do" or its next step), or a store
        # without codes, whose plain confirmation asks the staff to check the customer's identity first.
        return _open_package(request, package.pk)
    try:
        outcome = services.package_deliver(package=package, actor=request.user, channel=Channel.WEB, otp_value=code)
    except ApplicationError as exc:
        if exc.code == "not_found":  # left the user's stores a moment ago
            return _pass_not_found(request, roles, form)
        return _open_package(request, package.pk, refused=exc)
    messages.success(request, delivered_message(outcome))
    return _open_package(request, outcome.package.pk, delivered=True)


@sensitive_post_parameters("q")
@staff_login_required
@require_POST
def scan(request: HttpRequest) -> HttpResponse:
    roles = {str(store_id): role for store_id, role in staff_roles(user=request.user).items()}
    if not roles:
        return _no_store(request)
    form = PackageFilterForm(request.POST)
    term = (form.value("q") or "").strip()
    if is_pass_text(term):
        return _scan_pass(request, roles, form, term)
    if term:
        exact = package_ids_by_order_number(user=request.user, roles=roles, order_number=term, limit=2)
        if len(exact) == 1:
            return _open_package(request, exact[0])
    store = user_store(request, roles, form.value("store") or "")
    query = QueryDict(mutable=True)
    query.update({"store": store.code, **({"q": term} if term else {})})
    list_url = _list_url(store, term, "" if term else NEEDS_ACTION)
    if not is_htmx(request):
        return redirect(list_url)
    response = render_list(request, roles, query)
    response["HX-Push-Url"] = list_url
    return response
