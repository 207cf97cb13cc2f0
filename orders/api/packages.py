"""Reading packages: the list of the caller's stores (filters, search, pages) and one package."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.response import Response

from core.pagination import PageNumberPagination
from orders.api.auth import request_output
from orders.api.base import UUID_PATH, ApiView, _error_responses
from orders.api.fields import QueryIntegerField, TextField
from orders.models import ApiKeyScope, PackageStatus
from orders.selectors import package_get_for_user, package_list_for_user, packages_in_list_order
from orders.serializers import PackageOutputSerializer, package_queryset_for_output


class PackageListApi(ApiView):
    api_key_scope = ApiKeyScope.PACKAGES_READ

    @extend_schema_serializer(component_name="PackageFilter")
    class FilterSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=PackageStatus.choices, required=False, allow_blank=True)
        store = TextField(required=False, allow_blank=True, max_length=16, help_text="Store code, e.g. IST01.")
        search = TextField(
            required=False, allow_blank=True, max_length=100, help_text="Order number, customer name or phone digits."
        )
        # Read by the paginator; validated here so a malformed value is a field error, not a silent default.
        page = QueryIntegerField(required=False, min_value=1, help_text="Page number, from 1.")
        pageSize = QueryIntegerField(  # the query parameter's own name
            required=False, min_value=1, max_value=200, help_text="Rows a page (50 by default)."
        )

    @extend_schema_serializer(component_name="PaginatedPackageList")
    class PageSerializer(serializers.Serializer):
        count = serializers.IntegerField()
        next = serializers.URLField(allow_null=True)
        previous = serializers.URLField(allow_null=True)
        results = PackageOutputSerializer(many=True)

    @extend_schema(
        operation_id="packages_list",
        tags=["packages"],
        summary="Packages of the caller's stores",
        parameters=[
            FilterSerializer,
        ],
        responses={
            200: PageSerializer,
            **_error_responses(
                400,
                401,
                403,
                404,
                429,
                s400="validation_error: a filter has a value it cannot have (details.fields)",
                s403="permission_denied: integration accounts",
                s404="not_found: no such page",
            ),
        },
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        user = request.user
        # The roles the rows' commands need anyway, read first: the stores by id make the page an index walk.
        packages = package_list_for_user(
            user=user,
            roles=None if user.is_superuser else request_output(request).roles(),
            status=filters.validated_data.get("status", ""),
            store_code=filters.validated_data.get("store", ""),
            search=filters.validated_data.get("search", "").strip(),
        )
        paginator = PageNumberPagination(rows=package_queryset_for_output(packages_in_list_order()))
        page = paginator.paginate_queryset(packages, request, view=self)
        data = PackageOutputSerializer(page, many=True, context=self.output_context()).data
        return paginator.get_paginated_response(data)


class PackageDetailApi(ApiView):
    api_key_scope = ApiKeyScope.PACKAGES_READ

    @extend_schema(
        operation_id="packages_retrieve",
        tags=["packages"],
        summary="One package",
        parameters=[UUID_PATH],
        responses={
            200: PackageOutputSerializer,
            **_error_responses(401, 403, 404, 429, s403="permission_denied: integration accounts"),
        },
    )
    def get(self, request, id):
        package = package_get_for_user(user=request.user, package_id=id)
        return Response(self.package_data(package))
