import json
import uuid
from datetime import date, datetime, timedelta

from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Max, Min, Q
from django.urls import path
from django.utils import formats, timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from core import admin_thirdparty  # noqa: F401  (django_celery_beat's and django-axes' admins, translated)
from core.admin_settings import settings_screen_view
from core.appsettings import SPECS
from core.changelist import GuardedChangeList
from core.models import AppSetting, AppSettingsVersion, IdempotencyRecord, TaskHeartbeat
from core.pagination import DeferredJoinPaginator
from core.services import app_setting_set


class ReadOnlyAdminMixin:
    """For rows the application alone writes (audit, outbox, intake): visible, never added, changed or deleted
    through admin."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def field_label(model, name):
    """A model field's verbose name (translated when shown): a column or form field made by hand reads as Django's own."""
    return model._meta.get_field(name).verbose_name


# --- lists of tables that grow by the million (docs/performance.md, "A year of data") -------------------------------


def planner_row_estimate(queryset) -> int | None:
    """How many rows ``queryset`` has by PostgreSQL's statistics, without counting them; None elsewhere.

    A whole table: its row count as ANALYZE (autovacuum) last saw it. Filtered: the planner's estimate for the
    query, which for the admin's filters (equality on a column, a range of dates) is close.
    """
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    rows = queryset.order_by().values("pk")
    if not rows.query.where:
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [queryset.model._meta.db_table])
            found = cursor.fetchone()
        # -1 (PostgreSQL 14+) or 0: never analysed.
        return int(found[0]) if found and found[0] > 0 else None
    plan = rows.explain(format="json")
    if not plan:
        # Nothing to explain: a condition no row can meet (an integer past the column's range, ``__in`` of no
        # value) leaves Django no statement to run. Nothing matches.
        return 0
    return int(json.loads(plan)[0]["Plan"]["Plan Rows"])


class EstimatedCountPaginator(DeferredJoinPaginator):
    """Counts a list exactly up to ``exact_up_to`` rows; a longer one gets PostgreSQL's estimate.

    Counting a million audit records reads a million index entries on every page of the list (twice, with
    ``show_full_result_count``), and nobody pages to the last of 15,000 pages. A page is read as
    ``DeferredJoinPaginator`` reads it. Past the threshold the count
    is the statistics' (``planner_row_estimate``): the list says "≈" before it and the page links follow it
    (a last page past the real end is empty). Exact wherever the estimate is small, and on SQLite.
    """

    exact_up_to = 50_000
    is_estimate = False

    @cached_property
    def count(self) -> int:
        estimate = planner_row_estimate(self.object_list)
        if estimate is not None and estimate > self.exact_up_to:
            self.is_estimate = True
            return estimate
        return super().count


class _PeriodsFromBounds:
    """``dates()``/``datetimes()`` as the admin's date hierarchy asks for them, from the first and last value only.

    Django reads every row's date to list the years of a table, the months of a year or the days of a month
    (``SELECT DISTINCT date_trunc(...)``: a million rows for the year of an audit trail). Here two index reads
    (``MIN``, ``MAX``) give the bounds and every period between them is listed. A period without a single row
    (a closed month) is listed too and shows an empty list; these tables get rows every day.
    """

    def aggregate(self, *args, **kwargs):
        # The date hierarchy asks for the bounds itself, then dates()/datetimes() ask again: read them once.
        if args:
            return super().aggregate(*args, **kwargs)
        known = self.__dict__.setdefault("_aggregates", {})
        key = frozenset(kwargs.items())
        if key not in known:
            known[key] = super().aggregate(**kwargs)
        return known[key]

    def datetimes(self, field_name, kind, order="ASC", tzinfo=None):
        zone = tzinfo or (timezone.get_current_timezone() if settings.USE_TZ else None)
        bounds = self.aggregate(first=Min(field_name), last=Max(field_name))
        if bounds["first"] is None:
            return []
        first, last = (timezone.localtime(bounds[key], zone) if zone else bounds[key] for key in ("first", "last"))
        periods = [datetime(day.year, day.month, day.day, tzinfo=zone) for day in _period_starts(first, last, kind)]
        return periods if order == "ASC" else periods[::-1]

    def dates(self, field_name, kind, order="ASC"):
        bounds = self.aggregate(first=Min(field_name), last=Max(field_name))
        if bounds["first"] is None:
            return []
        periods = _period_starts(bounds["first"], bounds["last"], kind)
        return periods if order == "ASC" else periods[::-1]


def _period_starts(first, last, kind: str) -> list[date]:
    """The first day of every year, month or day (``kind``) from ``first``'s to ``last``'s, as dates."""
    start = date(first.year, 1 if kind == "year" else first.month, first.day if kind == "day" else 1)
    end = date(last.year, last.month, last.day)
    periods = []
    while start <= end:
        periods.append(start)
        if kind == "year":
            start = date(start.year + 1, 1, 1)
        elif kind == "month":
            start = date(start.year + start.month // 12, start.month % 12 + 1, 1)
        else:
            start += timedelta(days=1)
    return periods


_BOUNDED_QUERYSETS: dict[type, type] = {}


def with_periods_from_bounds(queryset):
    """``queryset`` whose ``dates()``/``datetimes()`` are ``_PeriodsFromBounds``'s; everything else unchanged."""
    base = type(queryset)
    bounded = _BOUNDED_QUERYSETS.get(base)
    if bounded is None:
        bounded = _BOUNDED_QUERYSETS[base] = type(f"PeriodsFromBounds{base.__name__}", (_PeriodsFromBounds, base), {})
    clone = queryset._chain()
    clone.__class__ = bounded
    return clone


class LargeTableChangeList(GuardedChangeList):
    def get_queryset(self, request, exclude_parameters=None):
        queryset = super().get_queryset(request, exclude_parameters)
        return with_periods_from_bounds(queryset) if self.date_hierarchy else queryset

    @property
    def result_count_text(self) -> str:
        """The list's length as the page writes it: "≈ 61234" when it is the statistics' estimate
        (``EstimatedCountPaginator``), as the count under the list and beside the search box say; for the action
        bar's "Select all … customers" and "All … selected" (templates/admin/actions.html)."""
        count = formats.localize(self.result_count)
        return f"≈ {count}" if getattr(self.paginator, "is_estimate", False) else count


class LargeTableAdminMixin:
    """Admin lists of the tables that grow by the million (packages, orders, customers, the audit trail, the
    outbox, pickup codes): one count, estimated past 50,000 rows (``EstimatedCountPaginator``), and a date
    hierarchy that reads the first and last date only (``_PeriodsFromBounds``). The searches of these lists
    are made of conditions an index answers (``orders.admin.StaffSearchMixin``)."""

    show_full_result_count = False  # "3 results (Show all)": not a second count of the whole table
    show_facets = admin.ShowFacets.NEVER  # "?_facets=1" would count every filter choice over the whole table
    paginator = EstimatedCountPaginator

    def get_changelist(self, request, **kwargs):
        return LargeTableChangeList

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        if queryset.model is not self.model:
            # An object's history page pages its admin log entries: ordered by their own fields (action_time),
            # which the rows below would have looked for in this model (FieldError, a 500 on every history page).
            return Paginator(queryset, per_page, orphans, allow_empty_first_page)
        # The page's rows from the admin's queryset (its annotations), with the list's joins and order: the
        # list's filters and search are not run again for them (DeferredJoinPaginator).
        rows = self.get_queryset(request).order_by(*queryset.query.order_by)
        rows.query.select_related = queryset.query.select_related
        return self.paginator(queryset, per_page, orphans, allow_empty_first_page, rows=rows)


def uuid_prefix_q(term: str, lookup: str = "pk") -> Q | None:
    """Rows whose UUID (at ``lookup``) is ``term`` or starts with it: at least the 8 hex digits admin's lists
    show (``short_id``), with or without the hyphens. A range on the key, which its index answers; None for
    any other term."""
    digits = term.strip().lower().replace("-", "")
    if not 8 <= len(digits) <= 32 or any(ch not in "0123456789abcdef" for ch in digits):
        return None
    low, high = uuid.UUID(digits.ljust(32, "0")), uuid.UUID(digits.ljust(32, "f"))
    return Q(**{f"{lookup}__range": (low, high)})


# The product's name in the header and the browser tab, in the administrator's language (not "Django administration").
admin.site.site_header = _("Click & Collect administration")
admin.site.site_title = _("Click & Collect administration")
admin.site.index_title = _("Stores, staff, customers, packages and settings")


class AppSettingForm(forms.ModelForm):
    value = forms.CharField(
        label=_("value"), help_text=_("true/false, a whole number, or channels such as sms,email,push.")
    )

    class Meta:
        model = AppSetting
        fields = ["key", "store", "value"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["value"] = setting_value_text(self.instance)

    # The value is parsed and checked once, by AppSetting.clean (the model's validation runs after the form's):
    # parsing here too said a refused value twice, the second time as "not None".

    def _post_clean(self):
        # A key or value the form already refused (unknown key, empty value) would reach AppSetting.clean as ""
        # or None and be refused a second time ("Unknown setting .", "must be a whole number, not None").
        if self.has_error("key") or self.has_error("value"):
            return
        super()._post_clean()


def setting_value_text(setting: AppSetting) -> str:
    """A stored value as it is typed into the form ("true", "sms,email"); a value of a setting this version no
    longer has (a row an earlier release wrote) as its JSON."""
    spec = SPECS.get(setting.key)
    return spec.render(setting.value) if spec is not None else json.dumps(setting.value, ensure_ascii=False)


@admin.register(AppSetting)
class AppSettingAdmin(admin.ModelAdmin):
    form = AppSettingForm
    list_display = ["key", "scope", "value_text", "default", "updated_at"]
    list_filter = ["key", "store"]
    search_fields = ["key", "store__code"]

    @admin.display(description=_("scope"))
    def scope(self, obj):
        return obj.store.code if obj.store_id else _("global")

    @admin.display(description=field_label(AppSetting, "value"))
    def value_text(self, obj):
        return setting_value_text(obj)

    @admin.display(description=_("default"))
    def default(self, obj):
        spec = SPECS.get(obj.key)
        return spec.render(spec.default) if spec is not None else self.get_empty_value_display()

    def get_readonly_fields(self, request, obj=None):
        return ["key", "store"] if obj else []

    def has_change_permission(self, request, obj=None):
        # A setting this version no longer has reads nothing: it can be seen and deleted, not set (the service
        # would refuse its key).
        if obj is not None and obj.key not in SPECS:
            return False
        return super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        # Through the service, which validates; the model announces the change to every process.
        saved = app_setting_set(key=obj.key, value=obj.value, store=obj.store)
        obj.pk = saved.pk

    def get_urls(self):
        # The stored rows as a plain list (filters, search, "delete selected"), beside the settings screen that
        # takes the list's place; before the default URLs, whose "<id>/" would take "stored/".
        stored = path(
            "stored/",
            self.admin_site.admin_view(self.stored_changelist_view),
            name="core_appsetting_stored",
        )
        return [stored, *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        """Every key of the registry for the global scope or one store (``core.admin_settings``)."""
        return settings_screen_view(self, request)

    def stored_changelist_view(self, request, extra_context=None):
        return super().changelist_view(
            request, {"title": _("Saved rows of application settings"), **(extra_context or {})}
        )


@admin.register(AppSettingsVersion)
class AppSettingsVersionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The token of the settings' last change: written by every settings write, read by every process. Not on the
    admin index (the settings screen says when the last change was); its page answers for a look."""

    list_display = ["token", "changed_at"]

    def get_model_perms(self, request):
        return {}


@admin.register(TaskHeartbeat)
class TaskHeartbeatAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """When the no-show sweep last finished a run: what ``/readyz`` reports as ``beat`` (docs/operations.md)."""

    list_display = ["task", "last_run_at", "created_at"]


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The answers kept for an Idempotency-Key (SPEC 14) for 24 hours: support finds what a client was answered by
    the key it sent. Written by the API alone; the beat task deletes them when they expire."""

    list_display = ["key", "user", "status", "response_status", "created_at", "expires_at"]
    list_filter = ["status", "response_status"]
    list_select_related = ["user"]
    search_fields = ["=key", "user__username"]
    fields = [
        "key",
        "user",
        "status",
        "response_status",
        "response_location",
        "created_at",
        "expires_at",
        "response_body",
    ]
