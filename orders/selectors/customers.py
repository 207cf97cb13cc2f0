"""Customer reads: their no-shows, for the package page and admin."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce

from orders.models import Customer, NoShowStrike


def customer_active_no_show_count() -> Coalesce:
    """An expression to annotate customers with: how many of the customer's no-shows are not forgiven (0 for
    none). A subquery per listed customer, so a list page counts only its own customers' no-shows."""
    strikes = (
        NoShowStrike.objects.filter(customer=OuterRef("pk"), forgiven_at__isnull=True)
        .order_by()
        .values("customer")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(strikes), 0)


def customer_recent_no_shows(*, customer: Customer, limit: int) -> list[NoShowStrike]:
    """The customer's latest ``limit`` no-shows (forgiven ones too), newest first, each with its package's order
    and store."""
    strikes = NoShowStrike.objects.filter(customer=customer).select_related("package__order", "package__store")
    return list(strikes[:limit])


def no_show_strike_of_customer(*, customer: Customer, strike_id: Any) -> NoShowStrike | None:
    """The customer's no-show ``strike_id`` with its package's order and its customer, or None when the customer
    has no such no-show."""
    strikes = NoShowStrike.objects.select_related("package__order", "customer")
    try:
        return strikes.get(pk=strike_id, customer=customer)
    except (NoShowStrike.DoesNotExist, ValueError, TypeError):
        return None
