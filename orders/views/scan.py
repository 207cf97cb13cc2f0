"""The search box of every staff page (SPEC 12), where a barcode scanner types and presses Enter.

A scan is posted, so that what it carries stays out of addresses and history (a pickup pass's text, SPEC 13, will
be read here too). An order number that names one package opens that package: its page, with its next step in
the dialog ("Verify pickup code" when it is ready, its next command otherwise). Anything else is the list of what
it matches. Without JavaScript the answer is a redirect to that page; for htmx the page's partial, its address
pushed to the history, in one round trip."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from orders import commands as cmd
from orders.forms import DeliverForm, PackageFilterForm
from orders.models import Package
from orders.selectors import NEEDS_ACTION, package_get_for_user, package_ids_by_order_number, staff_roles
from orders.views.commands import _deliver_context
from orders.views.common import is_htmx, staff_login_required
from orders.views.detail import detail_context
from orders.views.listing import _list_url, _no_store, render_list, user_store

NOTHING_TO_DO = _("%(order)s is %(status)s: there is nothing to do.")


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


def _open_package(request: HttpRequest, package_id: Any) -> HttpResponse:
    detail_url = reverse("staff:package-detail", args=[package_id])
    if not is_htmx(request):
        return redirect(detail_url)
    package = package_get_for_user(user=request.user, package_id=package_id)
    context = detail_context(request, package)
    context["dialog_html"] = _next_step(request, context["package"], detail_url)
    if not context["dialog_html"]:
        messages.warning(
            request, NOTHING_TO_DO % {"order": package.order.order_number, "status": package.get_status_display()}
        )
    response = render(request, "orders/package_detail.html", context)
    response["HX-Push-Url"] = detail_url
    return response


@staff_login_required
@require_POST
def scan(request: HttpRequest) -> HttpResponse:
    roles = {str(store_id): role for store_id, role in staff_roles(user=request.user).items()}
    if not roles:
        return _no_store(request)
    form = PackageFilterForm(request.POST)
    term = (form.value("q") or "").strip()
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
