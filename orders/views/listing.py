"""The package list (SPEC 10, 12): one store's packages with the search, the status filter, their counts and
the pager; it opens on what needs action. A scanned order number opens its package (``orders.views.scan``).

A full page, or for htmx (a filter, a page, a scan's results) the same template's partial for ``#main``. After a
command run from the list, ``list_updates`` gives the parts of it that changed, as htmx's out-of-band swaps."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from core.appsettings import StoreSettings
from orders import commands as cmd
from orders.forms import PackageFilterForm
from orders.models import Package, PackageStatus, Store
from orders.selectors import (
    ALL_COUNT,
    EXPIRES_TODAY,
    NEEDS_ACTION,
    package_counts_by_status,
    package_ids_by_order_number,
    package_list_for_store,
    package_list_page,
    staff_roles,
    store_check_ins,
    stores_by_code,
)
from orders.views.rows import _actions, _for_counter, _with_actions
from otp.passes import QR_PREFIX

PAGE_SIZE = 50
SESSION_STORE_KEY = "staff_store"
PASS_BY_SCAN_ONLY = _("Scan the pickup pass into the search box.")


def is_pass_text(text: str) -> bool:
    """Whether a search is a pickup pass's QR text (SPEC 13), in any case: read only from a scan's POST
    (``orders.views.scan``), never searched for, shown or put into an address."""
    return text[: len(QR_PREFIX)].upper() == QR_PREFIX


def _no_store(request: HttpRequest) -> HttpResponse:
    return render(request, "orders/no_store.html", status=403)


def _list_query(store: Store, search: str, status: str = "") -> dict[str, str]:
    """The query string of one store's list (its search and status filter), as its links carry it: the status
    always named ("all" for the whole list), since a list without one opens on what needs action."""
    return {"store": store.code, **({"q": search} if search else {}), "status": status or ALL_COUNT}


def _list_url(store: Store, search: str, status: str, page: int = 1) -> str:
    """The address of one store's list: the rows' forms come back to it whatever the session's store is by then
    (the switcher used in another tab of the same session)."""
    query = _list_query(store, search, status)
    if page > 1:
        query["page"] = str(page)
    return f"{reverse('staff:package-list')}?{urlencode(query)}"


def _status_asked(form: PackageFilterForm, query: QueryDict, search: str) -> str:
    """The list's status filter ("" for all): as asked; without one what needs action (SPEC 12: the list opens on
    it), or everything for a search (a scan looks through every status); a garbled one is the whole list."""
    if "status" not in query:
        return "" if search else NEEDS_ACTION
    status = form.value("status") or ""
    return "" if status == ALL_COUNT else status


def _list_page(packages: QuerySet[Package], number: Any, counts: dict[str, int], status: str, search: str) -> Page:
    """One page of a list of ``PAGE_SIZE`` rows (``package_list_page``). ``counts``: the list's
    ``package_counts_by_status``, whose count for ``status`` is the list's length."""
    return package_list_page(
        packages=packages,
        page_number=number,
        page_size=PAGE_SIZE,
        count=counts.get(status or ALL_COUNT),
        status=status,
        search=search,
    )


def _filters(store: Store, search: str, status: str, counts: dict[str, int]) -> list[dict[str, Any]]:
    """The filter bar: what needs action first (the list opens on it), all, each status, then "Expires today"."""
    entries = [
        (NEEDS_ACTION, _("Needs action"), False),
        ("", _("All"), False),
        *[(value, label, False) for value, label in PackageStatus.choices],
        (EXPIRES_TODAY, _("Expires today"), True),
    ]
    return [
        {
            "key": key or ALL_COUNT,
            "label": label,
            "count": counts[key or ALL_COUNT],
            "query": urlencode(_list_query(store, search, key)),
            "active": status == key,
            "extra": extra,
        }
        for key, label, extra in entries
    ]


def list_context(request: HttpRequest, store: Store, role: str, query: QueryDict) -> dict[str, Any]:
    """What the list template shows of ``store``'s list for ``query`` (its search, status and page)."""
    form = PackageFilterForm(query)
    search = (form.value("q") or "").strip()
    status = _status_asked(form, query, search)
    counts = package_counts_by_status(store=store, search=search)
    page = _list_page(
        package_list_for_store(store=store, search=search, status=status), form.value("page"), counts, status, search
    )
    otp_enabled = StoreSettings(store.pk).IS_OTP_ENABLED
    rows = list(page.object_list)
    for package in rows:
        package.actions = _actions(cmd.available_commands(status=package.status, role=role, otp_enabled=otp_enabled))
    _for_counter(rows, store)
    return {
        "store": store,
        "role": role,
        "filters": _filters(store, search, status, counts),
        "status": status,
        "search": search,
        "page": page,
        "rows": rows,
        "page_query": urlencode(_list_query(store, search, status)),
        "clear_query": urlencode({"store": store.code, "status": status or ALL_COUNT}),
        "next": _list_url(store, search, status, page.number),
        "scan_store": store.code,
        # The customers who checked in, on top of the list (SPEC 13); the overdue ones also in the page's alert.
        "check_ins": store_check_ins(store=store, now=timezone.now()),
        "page_store": store,
    }


def user_store(request: HttpRequest, roles: dict[str, str], wanted: str) -> Store:
    """The store whose list the user sees: ``wanted`` (a store code) if it is one of theirs, else the one they saw
    last (kept in the session), else their first."""
    stores = stores_by_code(store_ids=roles)
    wanted = (wanted or request.session.get(SESSION_STORE_KEY) or "").upper()
    store = next((s for s in stores if s.code.upper() == wanted), stores[0])
    if request.session.get(SESSION_STORE_KEY) != store.code:
        request.session[SESSION_STORE_KEY] = store.code
    store.choices = stores
    return store


def render_list(request: HttpRequest, roles: dict[str, str], query: QueryDict) -> HttpResponse:
    """The list page for ``query``, whole or (htmx) its partial."""
    store = user_store(request, roles, PackageFilterForm(query).value("store") or "")
    context = list_context(request, store, roles[str(store.pk)], query)
    context["stores"] = store.choices
    return render(request, "orders/package_list.html", context)


@login_required
@require_GET
def package_list(request: HttpRequest) -> HttpResponse:
    roles = {str(store_id): role for store_id, role in staff_roles(user=request.user).items()}
    if not roles:
        return _no_store(request)
    form = PackageFilterForm(request.GET)
    search = (form.value("q") or "").strip()
    if is_pass_text(search):
        # A pass's text in an address (typed there, or a link someone made): not acted on, and not kept in the
        # history either (the redirect's address replaces it).
        messages.warning(request, PASS_BY_SCAN_ONLY)
        store = {"store": form.value("store")} if form.value("store") else {}
        return redirect(f"{reverse('staff:package-list')}?{urlencode(store)}" if store else "staff:package-list")
    # An order number in the address (a link, a bookmark) opens that package when it is the one match.
    if search:
        exact = package_ids_by_order_number(user=request.user, roles=roles, order_number=search, limit=2)
        if len(exact) == 1:
            return redirect("staff:package-detail", package_id=exact[0])
    return render_list(request, roles, request.GET)


def list_updates(request: HttpRequest, package: Package, next_url: str) -> str | None:
    """After a command on ``package`` from the list at ``next_url``: the parts of that list that changed, as
    htmx's out-of-band swaps (the package's row, or the page's rows when it left the list: a ``?status=waiting``
    list loses a package that is now packed; the filter bar's counts; the search's result note; the pager).

    ``None`` when the page the user is on now lies past the list's last page (its last row left): only loading
    the list again shows it truly."""
    query = QueryDict(urlsplit(next_url).query)
    store = package.store
    role = staff_roles(user=request.user).get(store.pk)
    if role is None:
        return ""
    context = list_context(request, store, role, query)
    page = context["page"]
    asked = PackageFilterForm(query).value("page") or 1
    if asked > page.paginator.num_pages:
        return None
    in_list = any(row.pk == package.pk for row in context["rows"])
    if in_list:
        row = next(row for row in context["rows"] if row.pk == package.pk)
        context["package"] = row
    context.update(in_list=in_list, oob=True)
    return render_to_string("orders/_list_updates.html", context, request=request)


def home(request: HttpRequest) -> HttpResponse:
    return redirect("staff:package-list")


__all__ = ["_with_actions", "list_context", "list_updates", "package_list", "render_list", "user_store"]
