"""What every staff page of a store shows about its counter: ``{% load counter %}``, ``{% check_in_alerts %}``."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from orders.selectors import store_check_ins

register = template.Library()


def page_store(context: Any) -> Any:
    """The store a page is of: the view's ``page_store`` (the list's store), else its package's; None for a page of
    no store (no store yet, sign-in). Views set it only for a store the user reaches."""
    store = context.get("page_store")
    if store is None and getattr(context.get("package"), "store", None) is not None:
        store = context["package"].store
    return store


@register.inclusion_tag("orders/_check_in_alerts.html", takes_context=True)
def check_in_alerts(context: Any, oob: bool = False) -> dict[str, Any]:
    """The customers waiting longer than CHECKIN_ALERT_MINUTES at the page's store (SPEC 13), shown on every staff
    page of that store until served, refreshed every 30 seconds (``orders.views.check_ins``). One query, none when
    the page has the store's check-ins already (the list)."""
    store = page_store(context)
    overdue = []
    if store is not None:
        check_ins = context.get("check_ins")
        if check_ins is None:
            check_ins = store_check_ins(store=store, now=timezone.now())
        overdue = [check_in for check_in in check_ins if check_in.overdue]
    return {"store": store, "overdue": overdue, "oob": oob}
