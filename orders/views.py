"""The staff pages (SPEC 10): the package list, the package page and the command dialogs.

Thin views: they clean the browser's input, call one service of ``orders.services`` (or a selector),
and show the outcome. A refusal is the service's ``ApplicationError``; its message is what the page
shows, the same text the API answers with.

The dialogs work with and without JavaScript. Without it they are plain pages that redirect back
after a success. ``static/staff/staff.js`` opens them in a modal ``<dialog>`` and posts with the
header ``X-Requested-With: fetch``; such requests get JSON: ``{"done": false, "html": ...}`` (the
dialog again, with the error or notice inside) or ``{"done": true, "message": ..., "row": ...}``
(the package's new table row; ``counts``, the list's fresh status counts, so the filter bar
stays true without a reload; ``inList``, whether the row still matches the list's search and status
filter, so a filtered list drops it; ``note`` and ``pager``, the search result note and the pager
rendered again for the list's new total, so their numbers, plural and language come from the same
templates as on a reload) / ``{"done": true, "redirect": ...}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import wraps
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import SuspiciousOperation
from django.core.paginator import Page
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.appsettings import StoreSettings
from core.errors import DEFAULT_MESSAGES, ApplicationError
from core.pagination import DeferredJoinPaginator
from core.text import text_nfc
from notifications.models import Message, MessageChannel
from orders import commands as cmd
from orders import services
from orders.forms import EXPIRES_TODAY, CancelForm, CommandForm, DeliverForm, PackageFilterForm
from orders.models import (
    PACKAGE_LIST_ORDER,
    AuditKind,
    AuditOutcome,
    AuditRecord,
    Channel,
    NoShowStrike,
    Package,
    PackageStatus,
    Store,
    TrustTier,
    mask_email,
    mask_phone,
)
from orders.selectors import (
    order_number_q,
    package_get_for_user,
    package_search_q,
    packages_visible_to,
    staff_role_for_store,
    staff_roles,
    user_may_forgive_no_shows,
)
from otp import services as otp

PAGE_SIZE = 50
SESSION_STORE_KEY = "staff_store"

VERIFIED = _("Pickup code verified")
VERIFIED_MANUAL = _("Pickup code confirmed on the customer's phone")
VERIFY_FAILED = _("Pickup code refused")
VERIFY_REFUSED = _("Verification attempt refused")
LOCKED_OUT = _("Too many failed sign-ins for this account. Try again in %(minutes)s minutes.")
SIGNED_OUT = _("You are no longer signed in. Sign in again to continue.")
PAGE_EXPIRED = _("This page has expired. Reload the page and try again.")
NOT_YOURS = _("This package is no longer in your stores. The list has been reloaded.")
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


# --- helpers -------------------------------------------------------------------------------------


def _is_fetch(request: HttpRequest) -> bool:
    return request.headers.get("X-Requested-With") == "fetch"


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

    A form posted from a page whose session has ended (signed out in another tab, another employee signed in at
    the same counter) goes to the login page with the page it came from as ``next``, not the form's POST-only
    address (after signing in that was a bare 405). The script gets the same as JSON, ``{"done": false,
    "redirect": <login>}``, instead of following the redirect to the login page's HTML ("Something went wrong")."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated:
            return view(request, *args, **kwargs)
        came_from = (
            _safe_next(request, reverse("staff:package-list")) if request.method == "POST" else request.get_full_path()
        )
        login_url = redirect_to_login(came_from).url
        if request.method == "POST" or _is_fetch(request):
            # Only a page rendered while signed in posts a form or runs the script; a link opened (a bookmark)
            # gets the plain login page, not "no longer signed in" said to someone who never was.
            messages.warning(request, SIGNED_OUT)
        if _is_fetch(request):
            return JsonResponse({"done": False, "redirect": login_url, "error": str(SIGNED_OUT)}, status=401)
        return HttpResponseRedirect(login_url)

    return wrapper


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: the "Page expired" page, or for the script the same as an error it shows where the user
    is looking (in the open dialog), not the page's HTML it cannot read."""
    if _is_fetch(request):
        return JsonResponse({"done": False, "error": str(PAGE_EXPIRED)}, status=403)
    # Without the script this page stands at the refused form's address (a POST: reloading it posts the stale
    # token again): it leads back to the page the form came from, to be loaded afresh.
    packages = reverse("staff:package-list")
    try:
        back = _safe_next(request, packages)
    except (OSError, SuspiciousOperation):  # a body that cannot be read (the middleware let it pass): the list
        back = packages
    return render(request, "403_csrf.html", {"back": back}, status=403)


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
    """A form or dialog of a page rendered while the package was the user's: if it no longer is, the script is sent
    to the list the form came from again (a fresh page, without the row), with why, instead of a bare 404 it can
    only call "Something went wrong. Try again" (nothing retried can work). Without the script: the 404 page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except _NotYours:
            if not _is_fetch(request):
                raise Http404 from None  # a plain page or form: the same 404 as a package never the user's
            messages.error(request, NOT_YOURS)
            next_url = _safe_next(request, reverse("staff:package-list"))
            return JsonResponse({"done": False, "redirect": next_url, "error": str(NOT_YOURS)}, status=404)

    return wrapper


def _stores_of(roles: dict[str, str]) -> list[Store]:
    return list(Store.objects.filter(pk__in=list(roles)).order_by("code"))


def _no_store(request: HttpRequest) -> HttpResponse:
    return render(request, "orders/no_store.html", status=403)


@dataclass
class Action:
    """One button of a package row: a command the user may run on it now."""

    code: str
    label: Any
    kind: str  # "post": a plain form; "deliver" / "cancel": opens a dialog

    @property
    def css(self) -> str:
        return {
            cmd.DELIVER: "btn-primary",
            cmd.CANCEL: "btn-danger",
            cmd.RESEND_CODE: "btn-secondary",
        }.get(self.code, "btn-default")


def _actions(codes: list[str]) -> list[Action]:
    kinds = {cmd.DELIVER: "deliver", cmd.CANCEL: "cancel"}
    return [Action(code, cmd.COMMANDS[code].button, kinds.get(code, "post")) for code in codes]


def _with_actions(package: Package, user: Any) -> Package:
    package.actions = _actions(services.package_available_commands(package=package, actor=user))
    return package


@dataclass
class Trust:
    """A customer's trust tier as the package's store judges it (SPEC 6; its own NO_SHOW_* settings, if any)."""

    tier: str
    restricted_until: Any = None

    @property
    def label(self) -> Any:
        return TrustTier(self.tier).label

    @property
    def flagged(self) -> bool:
        """Worth a look at the counter: watch or restricted."""
        return self.tier != TrustTier.GOOD


def _tomorrow_starts(store: Store) -> Any:
    """The start of the store's next day (its own time zone): a hold ending before it ends today."""
    today = timezone.localdate(timezone=store.zone)
    return datetime.combine(today + timedelta(days=1), time.min, tzinfo=store.zone)


def _for_counter(packages: list[Package], store: Store) -> None:
    """What a row shows the counter beyond the package: the customer's tier as this store judges it (one query
    at most for the page, none under the global settings) and whether the hold ends today in the store's time."""
    customers = {package.order.customer_id: package.order.customer for package in packages}
    trust = services.customers_trust_at_store(customers=customers.values(), store=store.pk)
    tomorrow = _tomorrow_starts(store)
    today = tomorrow - timedelta(days=1)
    now = timezone.now()
    for package in packages:
        package.trust = Trust(*trust[package.order.customer_id])
        ends = package.ready_expires_at
        # Ended and not yet swept (the sweep runs every minute; longer while beat is down): said as such.
        package.hold_ended = bool(ends and ends <= now)
        package.expires_today = bool(ends and today <= ends < tomorrow)


def _row_html(request: HttpRequest, package: Package, next_url: str) -> str:
    package = _with_actions(package, request.user)
    _for_counter([package], package.store)
    return render_to_string("orders/_package_row.html", {"package": package, "next": next_url}, request=request)


ALL_COUNT = "all"  # the key of the "All" filter's count; the others are the status values
# The filter "Expires today" (EXPIRES_TODAY): packages ready for pickup whose hold ends before the store's day does
# (or has ended and the no-show sweep has not reached them yet): those to hand over, or to call the customer about.


def _list_packages(store: Store, search: str, status: str = "") -> QuerySet[Package]:
    """The packages one store's list shows (SPEC 10): its search and its status filter applied."""
    packages = Package.objects.filter(store=store)
    if search:
        packages = packages.filter(package_search_q(search))
    if status == EXPIRES_TODAY:
        packages = packages.filter(
            status=PackageStatus.READY_FOR_CUSTOMER_PICKUP, ready_expires_at__lt=_tomorrow_starts(store)
        )
    elif status:
        packages = packages.filter(status=status)
    return packages


def _list_query(store: Store, search: str, status: str = "") -> dict[str, str]:
    """The query string of one store's list (its search and status filter), as its links carry it."""
    return {"store": store.code, **({"q": search} if search else {}), **({"status": status} if status else {})}


def _list_page(packages: QuerySet[Package], number: Any, counts: dict[str, int], status: str) -> Page:
    """One page of a list, in the list's order (newest first); an unusable or too high number gives the last.

    ``counts``: the list's ``_status_counts``, whose count for ``status`` is the list's length: the search is
    not run once more to count it (docs/performance.md)."""
    rows = Package.objects.select_related("order__customer", "store").order_by(*PACKAGE_LIST_ORDER)
    paginator = DeferredJoinPaginator(packages.order_by(*PACKAGE_LIST_ORDER), PAGE_SIZE, rows=rows)
    if (status or ALL_COUNT) in counts:
        paginator.count = counts[status or ALL_COUNT]
    return paginator.get_page(number or 1)


def _status_counts(store: Store, search: str) -> dict[str, int]:
    """The filter bar's counts (SPEC 10) of one store's list, with the search applied: every status, and "all"."""
    # One query: each status's count and, among the ready ones, those whose hold ends today (the "Expires today"
    # filter's count).
    rows = (
        _list_packages(store, search)
        .values_list("status")
        .annotate(n=Count("pk"), today=Count("pk", filter=Q(ready_expires_at__lt=_tomorrow_starts(store))))
        .order_by()
    )
    counts, expiring = {}, 0
    for status, n, today in rows:
        counts[status] = n
        if status == PackageStatus.READY_FOR_CUSTOMER_PICKUP:
            expiring = today
    return {
        ALL_COUNT: sum(counts.values()),
        **{value: counts.get(value, 0) for value in PackageStatus.values},
        EXPIRES_TODAY: expiring,
    }


def _list_after_command(request: HttpRequest, package: Package, next_url: str) -> dict[str, Any] | None:
    """The list the user came from (the package's store, the search, status filter and page of that list's
    address) after a command changed one of its rows in place: its fresh counts, whether the row still belongs
    in it (a ``?status=waiting`` list loses a package that is now packed), and its result note and pager for
    the new total ("3 packages match" becomes "2 packages match"; "page 2 of 3" may become "page 2 of 2").

    ``None`` when the page the user is on now lies past the list's last page (its last row left): rows do not
    move up between pages without a reload, so only a reload shows that list truly."""
    form = PackageFilterForm(QueryDict(urlsplit(next_url).query))
    search = (form.value("q") or "").strip()
    status = form.value("status") or ""
    packages = _list_packages(package.store, search, status)
    counts = _status_counts(package.store, search)
    page = _list_page(packages, form.value("page"), counts, status)
    if (form.value("page") or 1) > page.paginator.num_pages:
        return None
    context = {
        "search": search,
        "page": page,
        "page_query": urlencode(_list_query(package.store, search, status)),
    }
    return {
        "counts": counts,
        "inList": packages.filter(pk=package.pk).exists(),
        "note": render_to_string("orders/_result_note.html", context, request=request).strip(),
        "pager": render_to_string("orders/_pager.html", context, request=request).strip(),
    }


def _row_state(request: HttpRequest, package: Package, next_url: str) -> dict[str, Any] | None:
    """The package's row as it is now and the list's numbers, for the script to put in place of the list's row;
    ``None`` without the script, outside the list, or when only a reload shows that list truly."""
    if not (_is_fetch(request) and request.POST.get("in_place") == "1"):
        return None
    package = Package.objects.select_related("order__customer", "store").get(pk=package.pk)
    list_state = _list_after_command(request, package, next_url)
    if list_state is None:
        return None
    return {"row": _row_html(request, package, next_url), **list_state}


def _refused_row_state(request: HttpRequest, package: Package, next_url: str) -> dict[str, Any]:
    """After a refusal, the row as it is now: the package may have moved on meanwhile (delivered in another tab,
    cancelled by a manager, expired as a no-show), and the list's row must not keep offering what failed."""
    return _row_state(request, package, next_url) or {}


def _done(request: HttpRequest, package: Package, message: Any, next_url: str) -> HttpResponse:
    """A command succeeded: the new row and the list's numbers (in place, from the list) or a redirect with the
    message (without JavaScript, from the package page, or when the list's page the user is on ran out of rows)."""
    row_state = _row_state(request, package, next_url)
    if row_state is not None:
        return JsonResponse({"done": True, "message": str(message), **row_state})
    messages.success(request, message)
    if _is_fetch(request):
        return JsonResponse({"done": True, "redirect": next_url})
    return redirect(next_url)


def _dialog(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    """The dialog's body: JSON for the script (with ``extra``, e.g. the row as it is now), a full page without it."""
    if _is_fetch(request):
        html = render_to_string(template, context, request=request)
        return JsonResponse({"done": False, "html": html, **(extra or {})}, status=status)
    return render(request, "orders/dialog_page.html", {**context, "dialog_template": template}, status=status)


def _refused(exc: ApplicationError) -> None:
    if exc.code == "not_found":
        raise _NotYours from None


# --- login ---------------------------------------------------------------------------------------


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


def login_locked_out(request: HttpRequest, original_response: Any = None, credentials: Any = None) -> HttpResponse:
    """django-axes lockout (AXES_LOCKOUT_CALLABLE): the login page with the reason, or the API's error body."""
    from axes.helpers import get_cool_off

    cool_off = get_cool_off(request)
    seconds = int(cool_off.total_seconds()) if cool_off else 0
    minutes = max(1, (seconds + 59) // 60)
    message = LOCKED_OUT % {"minutes": minutes}
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


# --- the package list ----------------------------------------------------------------------------


@login_required
@require_GET
def package_list(request: HttpRequest) -> HttpResponse:
    roles = {str(store_id): role for store_id, role in staff_roles(user=request.user).items()}
    if not roles:
        return _no_store(request)
    form = PackageFilterForm(request.GET)
    search = (form.value("q") or "").strip()

    # A scanner types the order number and Enter: one exact match opens that package.
    if search:
        exact = list(
            packages_visible_to(user=request.user, roles=roles)
            .filter(order_number_q(text_nfc(search), prefix="order__", exact=True))
            .order_by()  # any two: sorted, PostgreSQL may walk the store's packages newest first to find them
            .values_list("pk", flat=True)[:2]
        )
        if len(exact) == 1:
            return redirect("staff:package-detail", package_id=exact[0])

    stores = _stores_of(roles)
    wanted = (form.value("store") or request.session.get(SESSION_STORE_KEY) or "").upper()
    store = next((s for s in stores if s.code.upper() == wanted), stores[0])
    if request.session.get(SESSION_STORE_KEY) != store.code:
        request.session[SESSION_STORE_KEY] = store.code

    counts = _status_counts(store, search)
    status = form.value("status") or ""
    page = _list_page(_list_packages(store, search, status), form.value("page"), counts, status)

    role = roles[str(store.pk)]
    otp_enabled = StoreSettings(store.pk).IS_OTP_ENABLED
    rows = list(page.object_list)
    for package in rows:
        package.actions = _actions(cmd.available_commands(status=package.status, role=role, otp_enabled=otp_enabled))
    _for_counter(rows, store)

    base_query = _list_query(store, search)
    filters = [
        {
            "key": ALL_COUNT,
            "label": _("All"),
            "count": counts[ALL_COUNT],
            "query": urlencode(base_query),
            "active": not status,
        }
    ]
    filters += [
        {
            "key": value,
            "label": label,
            "count": counts[value],
            "query": urlencode({**base_query, "status": value}),
            "active": status == value,
        }
        for value, label in PackageStatus.choices
    ]
    filters.append(
        {
            "key": EXPIRES_TODAY,
            "label": _("Expires today"),
            "count": counts[EXPIRES_TODAY],
            "query": urlencode({**base_query, "status": EXPIRES_TODAY}),
            "active": status == EXPIRES_TODAY,
            "extra": True,
        }
    )
    return render(
        request,
        "orders/package_list.html",
        {
            "store": store,
            "stores": stores,
            "role": role,
            "filters": filters,
            "status": status,
            "search": search,
            "page": page,
            "rows": rows,
            "page_query": urlencode(_list_query(store, search, status)),
            "clear_query": urlencode({"store": store.code, **({"status": status} if status else {})}),
            "next": _list_url_of_store(request, store),
        },
    )


def _list_url_of_store(request: HttpRequest, store: Store) -> str:
    """This list's address with its store named: the rows' forms come back to it, and the session's store may be
    another by then (the switcher used in another tab of the same session)."""
    if request.GET.get("store") == store.code:
        return request.get_full_path()
    query = request.GET.copy()
    query["store"] = store.code
    return f"{request.path}?{query.urlencode()}"


# --- the package page ----------------------------------------------------------------------------


def _recipient_masked(message: Message) -> str:
    if message.channel == MessageChannel.SMS:
        return mask_phone(message.recipient)
    if message.channel == MessageChannel.EMAIL:
        return mask_email(message.recipient)
    return message.recipient[:6] + "…" if message.recipient else ""


def _describe(record: AuditRecord) -> None:
    """What the timeline shows for one audit record; never a code (none is ever recorded)."""
    command = cmd.COMMANDS.get(record.command)
    if record.kind == AuditKind.TRANSITION:
        record.title = command.name if command else record.get_kind_display()
        if record.from_status:
            record.from_label = cmd.status_label(record.from_status)
            record.to_label = cmd.status_label(record.to_status)
    elif record.kind == AuditKind.VERIFICATION:
        if record.outcome == AuditOutcome.SUCCESS:
            record.title = VERIFIED_MANUAL if record.manual else VERIFIED
        elif record.outcome == AuditOutcome.REFUSED:
            record.title = VERIFY_REFUSED
        else:
            record.title = VERIFY_FAILED
    else:
        record.title = record.get_kind_display()
    if record.error_code:
        record.error_text = DEFAULT_MESSAGES.get(record.error_code, record.error_code)
    record.reason = cmd.reason_label(record.reason)


def _strikes_for(user: Any, customer: Any) -> list[NoShowStrike]:
    """The customer's latest no-shows (SPEC 6: staff see the history), each with its order number only where the
    reader may see that order: a no-show in another store shows that store's code instead."""
    strikes = list(
        NoShowStrike.objects.filter(customer=customer).select_related("package__order", "package__store")[:20]
    )
    own_stores = set(staff_roles(user=user))
    for strike in strikes:
        package = strike.package
        own = package.store_id in own_stores
        strike.label = package.order.order_number if own else package.store.code
        strike.package_url = reverse("staff:package-detail", args=[package.pk]) if own else ""
    return strikes


def _may_forgive(user: Any) -> bool:
    """Whether the user may forgive no-shows in admin from the customer's page, where the link leads:
    services.no_show_strike_forgive's own check, and the view or change permission on customers the page needs."""
    return user_may_forgive_no_shows(user=user) and (
        user.has_perm("orders.view_customer") or user.has_perm("orders.change_customer")
    )


@login_required
@require_GET
def package_detail(request: HttpRequest, package_id: Any) -> HttpResponse:
    package = _with_actions(_get_package(request, package_id), request.user)
    customer = package.order.customer
    codes_used = (
        package.status == PackageStatus.READY_FOR_CUSTOMER_PICKUP and StoreSettings(package.store_id).IS_OTP_ENABLED
    )
    code = otp.pickup_code_current(package=package) if codes_used else None
    code_refusal = otp.pickup_code_refusal(code=code, now=timezone.now()) if codes_used else None
    timeline = list(AuditRecord.objects.filter(package=package).select_related("actor").order_by("created_at", "pk"))
    for record in timeline:
        _describe(record)
    sent = list(Message.objects.filter(package=package).order_by("created_at", "pk"))
    for message in sent:
        message.recipient_masked = _recipient_masked(message)
    tier, restricted_until = services.customers_trust_at_store(customers=[customer], store=package.store_id)[
        customer.pk
    ]
    return render(
        request,
        "orders/package_detail.html",
        {
            "package": package,
            "customer": customer,
            # As this store judges the customer (its own NO_SHOW_* settings, if it has them).
            "trust": Trust(tier, restricted_until),
            # Forgiving is an administrator's (docs/no-shows.md): the page leads there, or says whom to ask.
            "may_forgive": _may_forgive(request.user),
            "items": list(package.items.all()),
            "timeline": timeline,
            "cancellation_reason": cmd.reason_label(package.cancellation_reason),
            "sent_messages": sent,
            "strikes": _strikes_for(request.user, customer),
            "codes_used": codes_used,
            "code": code,
            "code_refusal": code_refusal,
            # Opened by a scan, Enter goes to "Delivered"; with a dead code that cannot succeed, so to "Resend Code".
            "focus_command": cmd.RESEND_CODE if code_refusal else cmd.DELIVER,
            "next": request.get_full_path(),
        },
    )


# --- commands ------------------------------------------------------------------------------------


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
        _refused(exc)
        if _is_fetch(request):
            return JsonResponse(
                {"done": False, "error": str(exc.message), **_refused_row_state(request, package, next_url)},
                status=exc.http_status,
            )
        messages.error(request, exc.message)
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
) -> dict[str, Any]:
    conf = StoreSettings(package.store_id)
    otp_enabled = conf.IS_OTP_ENABLED
    is_ready = package.status == PackageStatus.READY_FOR_CUSTOMER_PICKUP
    # Only a ready package has a code to speak of: one delivered or cancelled meanwhile (another tab, a manager,
    # the no-show sweep) needs no "Send a new code", which would invite a command that cannot apply.
    codes_used = otp_enabled and is_ready
    code = otp.pickup_code_current(package=package) if codes_used else None
    # What the code is now, whatever the error said a moment ago (a resend in between makes it live again).
    refusal = otp.pickup_code_refusal(code=code, now=timezone.now()) if codes_used else None
    customer = package.order.customer
    trust = services.customers_trust_at_store(customers=[customer], store=package.store_id)[customer.pk]
    return {
        "package": package,
        "form": form,
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
        "next": _safe_next(request, reverse("staff:package-list")),
    }


@staff_login_required
@require_http_methods(["GET", "POST"])
@staff_form
def package_deliver(request: HttpRequest, package_id: Any) -> HttpResponse:
    """ "Delivered": the "Verify pickup code" dialog, or a plain confirmation when codes are off."""
    package = _get_package(request, package_id, out_of_reach=_NotYours)
    if request.method == "GET":
        notice = None if _is_fetch(request) else _queued_dialog_notice(request)
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
            return _dialog(request, "orders/_deliver_dialog.html", context, status=409)
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
        )
    except ApplicationError as exc:
        return _deliver_dialog_refused(request, package, exc, next_url)
    message = cmd.delivery_message(code_required=outcome.code_required, manual=outcome.manual)
    return _done(request, outcome.package, message, next_url)


def _queued_dialog_notice(request: HttpRequest) -> Any:
    """The notice a form queued for this dialog page (``DIALOG_NOTICE``), if any."""
    for message in messages.get_messages(request):
        if message.extra_tags == DIALOG_NOTICE:
            return message.message
    return None


def _deliver_dialog_refused(
    request: HttpRequest, package: Package, exc: ApplicationError, next_url: str
) -> HttpResponse:
    """The "Verify pickup code" dialog again after a refused verification or resend: the error in it, the package
    as it is now, and its row and the list's numbers for the page script."""
    _refused(exc)
    package.refresh_from_db()
    context = _deliver_context(request, package, DeliverForm(), error=exc)
    return _dialog(
        request,
        "orders/_deliver_dialog.html",
        context,
        status=exc.http_status,
        extra=_refused_row_state(request, package, next_url),
    )


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
    if not _is_fetch(request):
        messages.success(request, notice, extra_tags=DIALOG_NOTICE)
        next_url = _safe_next(request, reverse("staff:package-list"))
        return redirect(f"{reverse('staff:package-deliver', args=[package.pk])}?{urlencode({'next': next_url})}")
    context = _deliver_context(request, package, DeliverForm(), notice=notice)
    return _dialog(request, "orders/_deliver_dialog.html", context)


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
        _refused(exc)
        package.refresh_from_db()
        context.update(package=package, form=form, error=exc)
        return _dialog(
            request,
            "orders/_cancel_dialog.html",
            context,
            status=exc.http_status,
            extra=_refused_row_state(request, package, next_url),
        )
    return _done(request, package, cmd.DONE_MESSAGES[cmd.CANCEL], next_url)


def home(request: HttpRequest) -> HttpResponse:
    return redirect("staff:package-list")
