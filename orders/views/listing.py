"""The package list (SPEC 10): one store's packages with the search, the status filter, their counts and
the pager; a scanned order number opens its package."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit

from django.contrib.auth.decorators import login_required
from django.core.paginator import Page
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from core.appsettings import StoreSettings
from core.pagination import DeferredJoinPaginator
from core.text import text_nfc
from orders import commands as cmd
from orders.forms import EXPIRES_TODAY, PackageFilterForm
from orders.models import PACKAGE_LIST_ORDER, Package, PackageStatus, Store
from orders.selectors import order_number_q, package_search_q, packages_visible_to, staff_roles
from orders.views.rows import _actions, _for_counter, _tomorrow_starts

PAGE_SIZE = 50
SESSION_STORE_KEY = "staff_store"


def _stores_of(roles: dict[str, str]) -> list[Store]:
    return list(Store.objects.filter(pk__in=list(roles)).order_by("code"))


def _no_store(request: HttpRequest) -> HttpResponse:
    return render(request, "orders/no_store.html", status=403)


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


def home(request: HttpRequest) -> HttpResponse:
    return redirect("staff:package-list")
