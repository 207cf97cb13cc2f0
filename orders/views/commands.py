"""The package commands from the list and the package page: the row buttons, and the dialogs of
"Delivered" (the pickup code), "Resend code" and "Cancel".

Without JavaScript a dialog is a page of its own and every form a full page load that redirects back. With htmx a
dialog is the same template's partial, which staff.js shows in the page's ``<dialog>``; an answer carries, as
out-of-band swaps, what else changed on the page the form came from (``next``): the list's row, counts, result
note and pager (``listing.list_updates``) or the package page (``detail.detail_updates``), and the message."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from core.appsettings import StoreSettings
from core.errors import ApplicationError
from orders import commands as cmd
from orders import services
from orders.forms import CancelForm, CommandForm, DeliverForm
from orders.models import Channel, CollectedBy, Package, PackageStatus
from orders.selectors import package_get_for_user, package_item_count, staff_role_for_store
from orders.views.common import (
    _get_package,
    _NotYours,
    _safe_next,
    client_redirect,
    is_htmx,
    staff_form,
    staff_login_required,
)
from orders.views.detail import detail_updates
from orders.views.listing import list_updates
from orders.views.rows import Trust
from otp import services as otp_services

CODES_NOW_ON = _("This store now uses pickup codes. Enter the customer's code.")
CODES_NOW_OFF = _("This store no longer uses pickup codes. Check the customer's identity, then confirm the handover.")
DELIVER_MODE_CODE = "code"
DELIVER_MODE_PLAIN = "plain"
DELIVER_TITLE = _("Verify pickup code")
DELIVER_TITLE_PLAIN = _("Hand over the package?")
CANCEL_TITLE = _("Cancel package")
# The extra_tags of a notice queued for the dialog page a form redirects to without the script (a code was resent):
# the dialog says it, tied to the field that gets the focus, as the script's dialog does; the flash leaves it out.
DIALOG_NOTICE = "dialog-notice"


def _updates(request: HttpRequest, package: Package, next_url: str) -> str | None:
    """For htmx: what changed on the page the form came from (``next_url``), as out-of-band swaps: the list's
    parts or the package page; ``None`` when only loading that page again shows it truly."""
    try:
        match = resolve(urlsplit(next_url).path)
    except Resolver404:
        return ""
    if match.view_name == "staff:package-list":
        return list_updates(request, package, next_url)
    if match.view_name == "staff:package-detail" and str(match.kwargs.get("package_id")) == str(package.pk):
        return detail_updates(request, package_get_for_user(user=request.user, package_id=package.pk))
    return ""


def _answer(request: HttpRequest, package: Package, next_url: str, *, status: int = 200) -> HttpResponse:
    """For htmx, after a command or a refused row button: nothing swapped in place, but out of band the page's
    changed parts, the message (queued with ``messages``) and the dialog emptied (staff.js closes it, so that the
    message is not behind its backdrop). A list page the user is on that ran out of rows is loaded again, the
    message waiting there."""
    updates = _updates(request, package, next_url)
    if updates is None:
        return client_redirect(next_url, status=status)
    # The page's store's overdue check-ins too (a customer just served leaves them).
    context = {"updates": updates, "page_store": package.store}
    response = render(request, "orders/_answer.html", context, status=status)
    response["HX-Reswap"] = "none"
    return response


def _done(request: HttpRequest, package: Package, message: Any, next_url: str) -> HttpResponse:
    """A command succeeded: the message and the page as it is now (htmx), or a redirect with the message."""
    messages.success(request, message)
    if is_htmx(request):
        return _answer(request, package, next_url)
    return redirect(next_url)


def _dialog(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    package: Package | None = None,
) -> HttpResponse:
    """The dialog: for htmx its partial (with, for ``package``, what changed on the page behind it: the package
    may have moved on meanwhile, and a refused attempt shows on its page), else a page of its own."""
    if is_htmx(request):
        html = render_to_string(template, context, request=request)
        if package is not None:
            html += _updates(request, package, context["next"]) or ""
        return HttpResponse(html, status=status)
    return render(request, "orders/dialog_page.html", {**context, "dialog_template": template}, status=status)


def _raise_if_out_of_reach(exc: ApplicationError) -> None:
    """A service's ``not_found`` means the package left the user's stores since the page was rendered: raises
    ``_NotYours``, which ``staff_form`` answers. Any other refusal returns, for the caller to show."""
    if exc.code == "not_found":
        raise _NotYours from None


@staff_login_required
@require_POST
@staff_form
def package_command(request: HttpRequest, package_id: Any) -> HttpResponse:
    """The row buttons without a dialog: Complete Packaging, Ready for Pickup, Resend Code."""
    package = _get_package(request, package_id, out_of_reach=_NotYours)
    next_url = _safe_next(request, reverse("staff:package-list"))
    form = CommandForm(request.POST)
    command = form.data.get("command") if form.is_valid() else None
    try:
        outcome = services.package_run_command(
            package=package,
            command=command,
            actor=request.user,
            channel=Channel.WEB,
            reason=form.cleaned_data.get("reason", "") if form.is_valid() else "",
        )
    except ApplicationError as exc:
        _raise_if_out_of_reach(exc)
        messages.error(request, exc.message)
        if is_htmx(request):
            # The row as it is now: the package may have moved on meanwhile (another tab, a manager, the no-show
            # sweep), and the list must not keep offering what was just refused.
            return _answer(request, package, next_url, status=exc.http_status)
        return redirect(next_url)
    return _done(request, outcome.package, outcome.message, next_url)


def _says_the_same(error: ApplicationError | None, refusal: ApplicationError) -> bool:
    """Whether the error already tells why the code cannot be used (then the dialog does not say it twice)."""
    if error is None:
        return False
    locked_now = error.code == "otp_invalid" and error.details.get("attemptsRemaining") == 0
    return error.code == refusal.code or (locked_now and refusal.code == "otp_locked")


def _deliver_context(
    request: HttpRequest,
    package: Package,
    form: DeliverForm,
    *,
    error: ApplicationError | None = None,
    notice: Any = None,
    next_url: str | None = None,
) -> dict[str, Any]:
    conf = StoreSettings(package.store_id)
    otp_enabled = conf.IS_OTP_ENABLED
    is_ready = package.status == PackageStatus.READY_FOR_CUSTOMER_PICKUP
    # Only a ready package has a code to speak of: one delivered or cancelled meanwhile (another tab, a manager,
    # the no-show sweep) needs no "Send a new code", which would invite a command that cannot apply.
    codes_used = otp_enabled and is_ready
    code = otp_services.pickup_code_current(package=package) if codes_used else None
    # What the code is now, whatever the error said a moment ago (a resend in between makes it live again).
    refusal = otp_services.pickup_code_refusal(code=code, now=timezone.now()) if codes_used else None
    customer = package.order.customer
    trust = services.customers_trust_at_store(customers=[customer], store=package.store_id)[customer.pk]
    posted_collector = form.data.get("collected_by") if form.is_bound else None
    return {
        "package": package,
        "form": form,
        # Who may collect (SPEC 13): the customer, or the pickup person the order names; the staff say who did
        # (the customer unless they choose otherwise), kept in the delivery's audit record.
        "pickup_person": package.order.pickup_person_phone != "",
        "collected_by": posted_collector if posted_collector in CollectedBy.values else CollectedBy.CUSTOMER,
        # At the counter: a customer on watch or restricted is worth a word (SPEC 6: staff see the tier).
        "trust": Trust(*trust),
        "title": DELIVER_TITLE if otp_enabled else DELIVER_TITLE_PLAIN,
        "otp_enabled": otp_enabled,
        "allow_manual": otp_enabled and conf.ALLOW_MANUAL_CONFIRM,
        # Only a live code has a validity and attempts to show.
        "code": code if refusal is None else None,
        "code_state": None if refusal is None or _says_the_same(error, refusal) else refusal,
        "error": error,
        # Expired, locked or missing: no entry and no manual confirmation can succeed (SPEC 4), so the dialog makes
        # "Resend code" its main, focused button (Enter does not count one more refused attempt) and hides the
        # manual confirmation; the code field and Verify stay (SPEC 10's dialog).
        "needs_new_code": refusal is not None,
        "notice": notice,
        "is_ready": is_ready,
        # The mode the dialog was rendered in (a code, or a plain confirmation): a post from a dialog whose store
        # switched codes on or off meanwhile is shown the dialog again instead of being acted on.
        "mode": DELIVER_MODE_CODE if otp_enabled else DELIVER_MODE_PLAIN,
        "next": next_url or _safe_next(request, reverse("staff:package-list")),
    }


@staff_login_required
@require_http_methods(["GET", "POST"])
@staff_form
def package_deliver(request: HttpRequest, package_id: Any) -> HttpResponse:
    """ "Delivered": the "Verify pickup code" dialog, or a plain confirmation when codes are off."""
    package = _get_package(request, package_id, out_of_reach=_NotYours)
    if request.method == "GET":
        notice = None if is_htmx(request) else _queued_dialog_notice(request)
        context = _deliver_context(request, package, DeliverForm(), notice=notice)
        return _dialog(request, "orders/_deliver_dialog.html", context)
    form = DeliverForm(request.POST)
    next_url = _safe_next(request, reverse("staff:package-list"))
    posted_mode = request.POST.get("mode")
    if posted_mode in (DELIVER_MODE_CODE, DELIVER_MODE_PLAIN):
        context = _deliver_context(request, package, DeliverForm())
        if context["is_ready"] and posted_mode != context["mode"]:
            # The store switched codes on or off while the dialog was open: a code typed for a store that no
            # longer uses codes must not hand the package over unasked, nor a plain confirmation be refused as
            # a missing code. The dialog as it is now, with why; nothing was attempted.
            changed = CODES_NOW_OFF if posted_mode == DELIVER_MODE_CODE else CODES_NOW_ON
            context["error"] = ApplicationError("invalid_state", changed)
            return _dialog(request, "orders/_deliver_dialog.html", context, status=409, package=package)
    manual = bool(form.is_valid() and form.cleaned_data["manual"])
    entered = (form.cleaned_data.get("otp") or None) if form.is_valid() else form.data.get("otp")
    try:
        # Both as posted: a code typed with the box ticked is compared all the same (the service's rule).
        outcome = services.package_deliver(
            package=package,
            actor=request.user,
            channel=Channel.WEB,
            otp_value=entered,
            manual=manual,
            collected_by=request.POST.get("collected_by") or None,
        )
    except ApplicationError as exc:
        return _deliver_dialog_refused(request, package, exc, next_url, form=form)
    return _done(request, outcome.package, delivered_message(outcome), next_url)


def delivered_message(outcome: services.DeliveryOutcome) -> str:
    """What the staff pages say after a delivery: how it went and what to hand over (``cmd.handover_message``)."""
    package = outcome.package
    return cmd.handover_message(
        order_number=package.order.order_number,
        item_count=package_item_count(package=package),
        code_required=outcome.code_required,
        manual=outcome.manual,
    )


def _queued_dialog_notice(request: HttpRequest) -> Any:
    """The notice a form queued for this dialog page (``DIALOG_NOTICE``), if any."""
    for message in messages.get_messages(request):
        if message.extra_tags == DIALOG_NOTICE:
            return message.message
    return None


def _deliver_dialog_refused(
    request: HttpRequest, package: Package, exc: ApplicationError, next_url: str, *, form: DeliverForm | None = None
) -> HttpResponse:
    """The "Verify pickup code" dialog again after a refused verification or resend: the error in it, the package
    as it is now, and (htmx) the page behind it as it is now."""
    _raise_if_out_of_reach(exc)
    package.refresh_from_db()
    # The posted form only for who collects, chosen still; the code field is always empty again.
    collector = DeliverForm({"collected_by": form.data.get("collected_by", "")}) if form is not None else DeliverForm()
    context = _deliver_context(request, package, collector, error=exc, next_url=next_url)
    return _dialog(request, "orders/_deliver_dialog.html", context, status=exc.http_status, package=package)


@staff_login_required
@require_http_methods(["GET", "POST"])
@staff_form
def package_resend(request: HttpRequest, package_id: Any) -> HttpResponse:
    """ "Resend code" inside the dialog: a new code goes out, the dialog stays open.

    Without the script the dialog page is left by a redirect to the "Delivered" dialog's own address, with the
    notice: reloading it sends no second code, and the language switcher (which reloads the page it is on with a
    GET) finds a page. A GET here (such a reload of an older page) shows that dialog and sends nothing."""
    package = _get_package(request, package_id, out_of_reach=_NotYours)
    if request.method == "GET":
        return _dialog(request, "orders/_deliver_dialog.html", _deliver_context(request, package, DeliverForm()))
    try:
        package = services.package_resend_code(package=package, actor=request.user, channel=Channel.WEB)
    except ApplicationError as exc:
        return _deliver_dialog_refused(request, package, exc, _safe_next(request, reverse("staff:package-list")))
    notice = cmd.DONE_MESSAGES[cmd.RESEND_CODE]
    next_url = _safe_next(request, reverse("staff:package-list"))
    if not is_htmx(request):
        messages.success(request, notice, extra_tags=DIALOG_NOTICE)
        return redirect(f"{reverse('staff:package-deliver', args=[package.pk])}?{urlencode({'next': next_url})}")
    context = _deliver_context(request, package, DeliverForm(), notice=notice)
    return _dialog(request, "orders/_deliver_dialog.html", context, package=package)


@staff_login_required
@require_http_methods(["GET", "POST"])
@staff_form
def package_cancel(request: HttpRequest, package_id: Any) -> HttpResponse:
    """ "Cancel": asks for the reason; managers only (the service decides)."""
    package = _get_package(request, package_id, out_of_reach=_NotYours)
    next_url = _safe_next(request, reverse("staff:package-list"))
    context = {"package": package, "title": CANCEL_TITLE, "next": next_url, "error": None}
    if request.method == "GET":
        if not cmd.COMMANDS[cmd.CANCEL].role_allows(staff_role_for_store(user=request.user, store_id=package.store_id)):
            context["error"] = ApplicationError("permission_denied", _("Only a store manager may do this."))
        return _dialog(request, "orders/_cancel_dialog.html", {**context, "form": CancelForm()})
    form = CancelForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        package = services.package_cancel(package=package, actor=request.user, channel=Channel.WEB, reason=reason)
    except ApplicationError as exc:
        _raise_if_out_of_reach(exc)
        package.refresh_from_db()
        context.update(package=package, form=form, error=exc)
        return _dialog(request, "orders/_cancel_dialog.html", context, status=exc.http_status, package=package)
    return _done(request, package, cmd.DONE_MESSAGES[cmd.CANCEL], next_url)
