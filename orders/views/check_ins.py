"""The customers who checked in (SPEC 13), as the staff pages refresh them every 30 seconds: the strip on top of
the list (``part=list``) and the overdue alert every page of the store shows (``part=alerts``)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from orders.selectors import staff_roles, store_check_ins, stores_by_code


@require_GET
def check_ins(request: HttpRequest) -> HttpResponse:
    """A refresh of one store's check-ins. Nothing to swap (204) for a store the user does not reach, or signed
    out: a page left open is not sent to the login page by a refresh (its next action is)."""
    roles = staff_roles(user=request.user)
    wanted = (request.GET.get("store") or "").upper()
    store = (
        next((store for store in stores_by_code(store_ids=roles) if store.code.upper() == wanted), None)
        if roles
        else None
    )
    if store is None:
        return HttpResponse(status=204)
    found = store_check_ins(store=store, now=timezone.now())
    if request.GET.get("part") == "list":
        return render(request, "orders/_check_ins.html", {"store": store, "check_ins": found})
    overdue = [check_in for check_in in found if check_in.overdue]
    return render(request, "orders/_check_in_alerts.html", {"store": store, "overdue": overdue})
