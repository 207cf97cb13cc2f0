from functools import partial

from django.core.paginator import Paginator
from rest_framework import pagination


class DeferredJoinPaginator(Paginator):
    """Reads a page in two steps: the keys of its rows from the list's own query (its filters, search and order,
    without the joins), then those rows with everything the page joins and prefetches.

    A slice of the whole query (``LIMIT 50 OFFSET n``) joins the order, the customer and the store to every
    row it skips and to every row a search matched before it sorts them; the keys alone come from an index
    and only a page of rows is joined (docs/performance.md, "A year of data"). One statement more a page.
    The list's order must be total (end with the key), as every list here is.

    ``rows``: the queryset the page's rows are read from (the joins, prefetches and annotations the page
    shows, the list's order, no filter): without it, the list itself filtered by the keys, which runs the
    list's search once more.
    """

    def __init__(self, object_list, per_page, orphans=0, allow_empty_first_page=True, *, rows=None, **kwargs):
        super().__init__(object_list, per_page, orphans, allow_empty_first_page, **kwargs)
        self.rows = rows

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        keys = list(self.object_list.values_list("pk", flat=True)[bottom:top])
        rows = self.object_list if self.rows is None else self.rows
        return self._get_page(rows.filter(pk__in=keys) if keys else rows.none(), number, self)


class PageNumberPagination(pagination.PageNumberPagination):
    """``{count, next, previous, results}`` with ``?page=`` (SPEC 9.2); 50 a page, up to 200 with ?pageSize=.

    ``rows``: as ``DeferredJoinPaginator``'s, for the page's rows."""

    page_size = 50
    page_size_query_param = "pageSize"
    max_page_size = 200

    def __init__(self, *, rows=None):
        self.django_paginator_class = partial(DeferredJoinPaginator, rows=rows)
