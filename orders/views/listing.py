"""The package list (SPEC 10): one store's packages with the search, the status filter, their counts and
the pager; a scanned order number opens its package."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit

from django.contrib.auth.decorators import login_required
from django.core.paginator import Page
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from core.appsettings import StoreSettings
from orders import commands as cmd
from orders.forms import PackageFilterForm
from orders.models import Package, PackageStatus, Store
from orders.selectors import (
    ALL_COUNT,
    EXPIRES_TODAY,
    package_counts_by_status,
    package_ids_by_order_number,
    package_list_for_store,
    package_list_page,
    staff_roles,
    stores_by_code,
)
from orders.views.rows import _actions, _for_counter

PAGE_SIZE = 50
SESSION_STORE_KEY = "staff_store"


def _no_store(request: HttpRequest) -> HttpResponse:
    return render(request, "orders/no_store.html", status=403)


def _list_query(store: Store, search: str, status: str = "") -> dict[str, str]:
    """The query string of one store's list (its search and status filter), as its links carry it."""
    return {"store": store.code, **({"q": search} if search else {}), **({"status": status} if status else {})}


def _list_page(packages: QuerySet[Package], number: Any, counts: dict[str, int], status: str) -> Page:
    """One page of a list of ``PAGE_SIZE`` rows (``package_list_page``). ``counts``: the list's
    ``package_counts_by_status``, whose count for ``status`` is the list's length."""
    return package_list_page(
        packages=packages, page_number=number, page_size=PAGE_SIZE, count=counts.get(status or ALL_COUNT)
    )


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
    packages = package_list_for_store(store=package.store, search=search, status=status)
    counts = package_counts_by_status(store=package.store, search=search)
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
        exact = package_ids_by_order_number(user=request.user, roles=roles, order_number=search, limit=2)
        if len(exact) == 1:
            return redirect("staff:package-detail", package_id=exact[0])

    stores = stores_by_code(store_ids=roles)
    wanted = (form.value("store") or request.session.get(SESSION_STORE_KEY) or "").upper()
    store = next((s for s in stores if s.code.upper() == wanted), stores[0])
    if request.session.get(SESSION_STORE_KEY) != store.code:
        request.session[SESSION_STORE_KEY] = store.code

    counts = package_counts_by_status(store=store, search=search)
    status = form.value("status") or ""
    page = _list_page(
        package_list_for_store(store=store, search=search, status=status), form.value("page"), counts, status
    )

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


def home(request: HttpRequest) -> HttpResponse:
    return redirect("staff:package-list")
