from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    """``{count, next, previous, results}`` with ``?page=`` (SPEC 9.2); 50 a page, up to 200 with ?pageSize=."""

    page_size = 50
    page_size_query_param = "pageSize"
    max_page_size = 200
